/**
 * append-async: `await log.append()` against `log.appendSync()` on the same stream, in the same run,
 * interleaved round by round (1 KiB, 100 B and 16 KiB records, fsync 'never'; the sync side's own
 * ratio to the SharedArrayBuffer copy ceiling is append-sync's, so async vs the ceiling is the
 * product of the two). Both sides are timed the same way: the
 * wall time of a batch of 1,000 sequential appends.
 *
 * What is compared is the price of the promise and the await per record, so neither side may wait
 * for arena room: each round starts with `log.flush()` (the flush worker idle, every sealed slot
 * CLEAN and reusable) and writes less than the arena holds (2 x roundBatches x 1,000 frames stay
 * under 90 % of the 56 MiB free after a flush). If a wait happens anyway (the sync side catches WouldBlock and awaits append() for that
 * record) it is counted and reported. Sustained throughput under back-pressure is what append-sync
 * (stalls), durable and memory show.
 *
 * Target (from issue #2, at 1 KiB): >= 0.8x.
 */
import { frameLength } from '../src/format/record.js';
import { AofManager, type AofLog, type AofManagerOptions } from '../src/index.js';
import { appendSyncLoop, patternPayload, tempRoot, TIER1_OFF, touchArena, verifyStream } from './fixtures.js';
import { atLeast, BatchMeter, driveInterleaved, nowNs, ratioResult, type BenchResult, type Suite, type SuiteOptions } from './shared.js';

const BATCH = 1000;
const STREAM = 'bench';
const ARENA_BYTES = 64 * 1024 * 1024;
const SEGMENT_BYTES = 8 * 1024 * 1024;
const CASES: { label: string; size: number; target: number | null }[] = [
  { label: '1 KiB', size: 1024, target: 0.8 },
  { label: '100 B', size: 100, target: null },
  { label: '16 KiB', size: 16 * 1024, target: null },
];

/** Batches per side per round that fit in 90 % of the arena free after a flush (1 KiB: 25). */
function roundBatches(size: number): number {
  const frame = frameLength(size);
  return Math.max(1, Math.min(100, Math.floor((0.9 * (ARENA_BYTES - SEGMENT_BYTES)) / (2 * BATCH * frame))));
}

/** Sequential awaited appends: the way an async caller that needs each id writes. */
async function asyncBatch(log: AofLog, payload: Uint8Array, meter: BatchMeter): Promise<number> {
  const t0 = nowNs();
  for (let i = 0; i < BATCH; i++) await log.append(payload);
  const ns = nowNs() - t0;
  meter.batch(ns, BATCH);
  return ns;
}

/** Sync appends, awaiting append() only for a record that hit WouldBlock; wall time like asyncBatch. */
async function syncBatch(log: AofLog, payload: Uint8Array, meter: BatchMeter, stalls: { count: number }): Promise<number> {
  const t0 = nowNs();
  let done = 0;
  while (done < BATCH) {
    done += appendSyncLoop(log, payload, BATCH - done);
    if (done < BATCH) {
      await log.append(payload);
      done++;
      if (meter.recording) stalls.count++;
    }
  }
  const ns = nowNs() - t0;
  meter.batch(ns, BATCH);
  return ns;
}

export const appendAsync: Suite = {
  name: 'append-async',
  description: 'await append() vs appendSync() on the same stream (1 KiB, 100 B, 16 KiB)',
  async run(options: SuiteOptions): Promise<BenchResult[]> {
    const results: BenchResult[] = [];
    for (const c of CASES) results.push(await runCase(options, c.label, c.size, c.target));
    return results;
  },
};

async function runCase(options: SuiteOptions, label: string, size: number, target: number | null): Promise<BenchResult> {
  const { root, cleanup } = tempRoot('append-async');
  try {
    const config: AofManagerOptions = {
      root,
      tier0: { arenaBytes: ARENA_BYTES, segmentBytes: SEGMENT_BYTES },
      tier1: TIER1_OFF,
      fsync: 'never',
    };
    const payload = patternPayload(size);
    const batches = roundBatches(size);
    const manager = await AofManager.open(config);
    const log = await manager.openStream(STREAM);
    const sync = new BatchMeter('appendSync');
    const async = new BatchMeter('await append');
    const syncStalls = { count: 0 };
    // Same arena as append-sync, pages touched first (see fixtures.ts touchArena).
    await touchArena(log, payload, ARENA_BYTES + SEGMENT_BYTES, sync);
    options.progress(`append-async ${label}: measuring`);
    await driveInterleaved(
      [
        // Each round starts with the flush worker idle, so neither side inherits the other's backlog.
        { meter: sync, runBatch: () => syncBatch(log, payload, sync, syncStalls), before: () => log.flush() },
        { meter: async, runBatch: () => asyncBatch(log, payload, async), before: () => log.flush() },
      ],
      { timeMs: 0, batches, warmupMs: 50, rounds: options.quick ? 4 : 24 },
    );
    const appended = log.nextId;
    await manager.close();
    options.progress(`append-async ${label}: verifying ${appended} records`);
    const verified = await verifyStream(config, STREAM, sync.total + async.total, payload);
    const result = ratioResult({
      suite: 'append-async',
      case: label,
      subject: async.measurement(),
      baseline: sync.measurement({ wouldBlocks: syncStalls.count }),
      ratioOf: 'records/s (batch wall time)',
      targets: [],
      verified,
      notes: [
        `batches of ${BATCH}, ${batches} per side per round, both sides on one stream; sync side hit WouldBlock ${syncStalls.count} times; ` +
          `${appended} records appended in all (the verification covers both sides)`,
        `ratio of p50 batch means: ${(sync.histogram.summary().p50 / async.histogram.summary().p50).toFixed(2)}x`,
      ],
    });
    if (target !== null) result.targets.push(atLeast('ratio', target, result.ratio));
    return result;
  } finally {
    cleanup();
  }
}
