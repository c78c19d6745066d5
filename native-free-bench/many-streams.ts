/**
 * many-streams: 1,000 streams against 1 stream in one manager, same arena and segment size, same
 * 1 KiB records, interleaved round by round. A batch is 1,000 `appendSync` calls: on the 1,000
 * streams side one record to each stream in turn (round-robin, the worst case for locality: every
 * call touches another segment's control words and data), on the other side 1,000 records to one
 * stream. The ratio is what spreading the same load over 1,000 streams costs.
 *
 * The arena has a slot per stream plus headroom (1,064 slots of 256 KiB), so neither side waits for
 * pressure relief; each round starts with every stream flushed (`flush()` of the touched streams)
 * and writes less than the headroom, as append-sync does. Verification reopens the root once and
 * checks every stream's recovered nextId and its last record's bytes.
 */
import { AofManager, type AofLog, type AofManagerOptions } from '../src/index.js';
import { appendSyncLoop, patternPayload, sameBytes, tempRoot, TIER1_OFF } from './fixtures.js';
import { BatchMeter, driveInterleaved, nowNs, ratioResult, verification, type BenchResult, type Suite, type SuiteOptions, type Verification } from './shared.js';

const STREAMS = 1000;
const BATCH = 1000;
const SIZE = 1024;
const SEGMENT_BYTES = 256 * 1024;
const SLOTS = STREAMS + 64;
/** Batches per side per round: 2 x 40 x 1,000 x 1,040 B = 83 MB, well inside the 64 free slots plus what the streams' slots hold. */
const ROUND_BATCHES = 40;
const SOLO = 'solo';
const streamName = (i: number): string => `s-${String(i).padStart(4, '0')}`;

/** One record to each of the logs, round-robin, timed as one batch; a WouldBlock is waited out untimed. */
async function roundRobinBatch(logs: AofLog[], payload: Uint8Array, meter: BatchMeter): Promise<number> {
  let hot = 0;
  let i = 0;
  while (i < logs.length) {
    const t0 = nowNs();
    try {
      for (; i < logs.length; i++) logs[i]!.appendSync(payload);
    } catch {
      // WouldBlock (no free slot for this stream's next segment): wait it out, untimed.
      hot += nowNs() - t0;
      const s0 = nowNs();
      await logs[i]!.append(payload);
      meter.stall(nowNs() - s0);
      i++;
      continue;
    }
    hot += nowNs() - t0;
  }
  meter.batch(hot, logs.length);
  return hot;
}

async function soloBatch(log: AofLog, payload: Uint8Array, meter: BatchMeter): Promise<number> {
  let hot = 0;
  let done = 0;
  while (done < BATCH) {
    const t0 = nowNs();
    done += appendSyncLoop(log, payload, BATCH - done);
    hot += nowNs() - t0;
    if (done < BATCH) {
      const s0 = nowNs();
      await log.append(payload);
      meter.stall(nowNs() - s0);
      done++;
    }
  }
  meter.batch(hot, BATCH);
  return hot;
}

async function verifyAll(config: AofManagerOptions, expected: Map<string, number>, payload: Uint8Array): Promise<Verification[]> {
  const manager = await AofManager.open(config);
  try {
    let records = 0;
    let lastMatched = 0;
    let wanted = 0;
    for (const [name, count] of expected) {
      const log = await manager.openStream(name);
      records += log.nextId;
      if (count === 0) continue;
      wanted++;
      for await (const last of log.read({ from: count - 1 })) {
        if (last.id === count - 1 && sameBytes(last.payload, payload)) lastMatched++;
      }
    }
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    return [
      verification('subject', total, records, `reopened the root; nextId of all ${expected.size} streams recovered`),
      verification('subject', wanted, lastMatched, "read each stream's last record back (id and bytes)"),
    ];
  } finally {
    await manager.close();
  }
}

export const manyStreams: Suite = {
  name: 'many-streams',
  description: '1,000 streams (round-robin appendSync) vs 1 stream in the same manager (1 KiB)',
  async run(options: SuiteOptions): Promise<BenchResult[]> {
    const { root, cleanup } = tempRoot('many-streams');
    try {
      const config: AofManagerOptions = { root, tier0: { arenaBytes: SLOTS * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES }, tier1: TIER1_OFF, fsync: 'never' };
      const payload = patternPayload(SIZE);
      const manager = await AofManager.open(config);
      const logs: AofLog[] = [];
      for (let i = 0; i < STREAMS; i++) logs.push(await manager.openStream(streamName(i)));
      const solo = await manager.openStream(SOLO);
      const many = new BatchMeter(`${STREAMS} streams`);
      const one = new BatchMeter('1 stream');
      const flushAll = async (): Promise<void> => {
        await Promise.all([...logs, solo].map((log) => log.flush()));
      };
      options.progress(`many-streams: ${options.quick ? 3 : 12} rounds of ${ROUND_BATCHES} batches per side`);
      await driveInterleaved(
        [
          { meter: one, runBatch: () => soloBatch(solo, payload, one), before: flushAll },
          { meter: many, runBatch: () => roundRobinBatch(logs, payload, many), before: flushAll },
        ],
        { timeMs: 0, batches: ROUND_BATCHES, warmupMs: 100, rounds: options.quick ? 3 : 12 },
      );
      const expected = new Map<string, number>([[SOLO, solo.nextId], ...logs.map((log, i): [string, number] => [streamName(i), log.nextId])]);
      await manager.close();
      options.progress('many-streams: verifying every stream');
      const verified = await verifyAll(config, expected, payload);
      const subject = many.measurement();
      const baseline = one.measurement();
      return [
        ratioResult({
          suite: 'many-streams',
          case: `${STREAMS} streams vs 1, 1 KiB`,
          subject,
          baseline,
          ratioOf: 'records/s (hot path)',
          targets: [],
          verified,
          notes: [
            `${SLOTS} slots of ${SEGMENT_BYTES / 1024} KiB; WouldBlock stalls: ${subject.extra['stalls']} (${STREAMS} streams), ${baseline.extra['stalls']} (1 stream)`,
          ],
        }),
      ];
    } finally {
      cleanup();
    }
  },
};
