/**
 * memory: does the append hot path allocate? Heap used after a full GC, before and after 10 M
 * `appendSync` calls of 100 B (1 M under --quick), divided by the number of appends: should be ~0
 * bytes per append (what does grow is per segment: one small object per 8 MiB of records). The
 * same measurement of the SAB copy loop is the baseline (it allocates nothing), and the throughput
 * of both during those runs gives the ratio. WouldBlock (arena full) is waited out with append().
 */
import { frameLength } from '../src/format/record.js';
import { AofManager, type AofManagerOptions } from '../src/index.js';
import { appendSyncBatch, patternPayload, ringBatch, SabCopyLoop, tempRoot, TIER1_OFF, verifyStream } from './fixtures.js';
import { atMost, BatchMeter, ratioResult, type BenchResult, type Suite, type SuiteOptions } from './shared.js';

const SIZE = 100;
/** Bytes one record takes in a segment: 16-byte header + payload, padded to 8. */
const FRAME = frameLength(SIZE);
/** Appends per timed chunk. */
const CHUNK = 10_000;
const WARMUP = 200_000;
const STREAM = 'memory';

interface HeapDelta {
  heapBytes: number;
  externalBytes: number;
}

/** Runs `work` between two full GCs and returns how much heap (and external memory) it left behind. */
async function heapDelta(gc: () => void, work: () => Promise<void>): Promise<HeapDelta> {
  gc();
  gc();
  const before = process.memoryUsage();
  await work();
  gc();
  gc();
  const after = process.memoryUsage();
  return { heapBytes: after.heapUsed - before.heapUsed, externalBytes: after.external - before.external };
}

export const memory: Suite = {
  name: 'memory',
  description: 'heap growth per appendSync of 100 B over 10 M appends (1 M with --quick)',
  async run(options: SuiteOptions): Promise<BenchResult[]> {
    const count = options.quick ? 1_000_000 : 10_000_000;
    const { root, cleanup } = tempRoot('memory');
    try {
      const config: AofManagerOptions = {
        root,
        tier0: { arenaBytes: 256 * 1024 * 1024, segmentBytes: 8 * 1024 * 1024 },
        tier1: TIER1_OFF,
        fsync: 'never',
      };
      const payload = patternPayload(SIZE);
      const manager = await AofManager.open(config);
      const log = await manager.openStream(STREAM);
      const ring = new SabCopyLoop(64 * 1024 * 1024);
      const engine = new BatchMeter('appendSync');
      const baseline = new BatchMeter('SAB copy loop');

      // Warm both paths up (JIT, first segments, lazily created engine state) before measuring.
      for (let done = 0; done < WARMUP; done += CHUNK) {
        await appendSyncBatch(log, payload, CHUNK, engine);
        ringBatch(ring, payload, CHUNK, baseline);
      }
      engine.recording = true;
      baseline.recording = true;
      options.progress(`memory: ${count} appendSync of ${SIZE} B`);
      const engineHeap = await heapDelta(options.gc, async () => {
        for (let done = 0; done < count; done += CHUNK) await appendSyncBatch(log, payload, CHUNK, engine);
      });
      options.progress(`memory: ${count} baseline appends`);
      const baselineHeap = await heapDelta(options.gc, async () => {
        for (let done = 0; done < count; done += CHUNK) ringBatch(ring, payload, CHUNK, baseline);
      });
      engine.recording = false;
      baseline.recording = false;
      const appended = log.nextId;
      await manager.close();
      options.progress(`memory: verifying ${appended} records`);
      const verified = [...(await verifyStream(config, STREAM, engine.total, payload)), ring.verify(payload)];

      const perAppend = engineHeap.heapBytes / count;
      const subject = engine.measurement({ heapBytesPerAppend: perAppend, heapDeltaBytes: engineHeap.heapBytes, externalDeltaBytes: engineHeap.externalBytes });
      const base = baseline.measurement({
        heapBytesPerAppend: baselineHeap.heapBytes / count,
        heapDeltaBytes: baselineHeap.heapBytes,
        externalDeltaBytes: baselineHeap.externalBytes,
      });
      return [
        ratioResult({
          suite: 'memory',
          case: `${count / 1e6} M x 100 B`,
          subject,
          baseline: base,
          ratioOf: 'records/s during the heap run',
          targets: [atMost('heap B/append', 1, perAppend)],
          verified,
          notes: [
            `heap after GC grew ${engineHeap.heapBytes} B over ${count} appends = ${perAppend.toFixed(4)} B/append ` +
              `(baseline ${baselineHeap.heapBytes} B = ${(baselineHeap.heapBytes / count).toFixed(4)} B/append); ` +
              `WouldBlock stalls ${subject.extra['stalls']}`,
            `sustained ${Math.round(subject.extra['sustainedPerSec']!)} records/s including the ${subject.extra['stalls']} WouldBlock waits ` +
              `(${subject.extra['stallMs']!.toFixed(0)} ms): the flush worker's pace over ${((count * FRAME) / 2 ** 30).toFixed(2)} GiB of frames`,
          ],
        }),
      ];
    } finally {
      cleanup();
    }
  },
};
