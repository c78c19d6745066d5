/**
 * append-async: `await log.append()` against `log.appendSync()` on the same stream, in the same run,
 * interleaved round by round (1 KiB records, fsync 'never'). Both sides are timed the same way: the
 * wall time of a batch of 1,000 sequential appends.
 *
 * What is compared is the price of the promise and the await per record, so neither side may wait
 * for arena room: each round starts with `log.flush()` (the flush worker idle, every sealed slot
 * CLEAN and reusable) and writes less than the arena holds (2 x ROUND_BATCHES x 1,000 x 1 KiB
 * < 56 MiB). If a wait happens anyway (the sync side catches WouldBlock and awaits append() for that
 * record) it is counted and reported. Sustained throughput under back-pressure is what append-sync
 * (stalls), durable and memory show.
 *
 * Target (from the issue): >= 0.8x.
 */
import { AofManager, type AofLog, type AofManagerOptions } from '../src/index.js';
import { appendSyncLoop, patternPayload, tempRoot, TIER1_OFF, touchArena, verifyStream } from './fixtures.js';
import { atLeast, BatchMeter, driveInterleaved, nowNs, ratioResult, type BenchResult, type Suite, type SuiteOptions } from './shared.js';

const BATCH = 1000;
const SIZE = 1024;
const STREAM = 'bench';
const ARENA_BYTES = 64 * 1024 * 1024;
const SEGMENT_BYTES = 8 * 1024 * 1024;
/** Batches per side per round: 2 x 25 x 1,000 x 1,040 B = 52 MB, below the 56 MiB free after a flush. */
const ROUND_BATCHES = 25;

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
  description: 'await append() vs appendSync() on the same stream (1 KiB)',
  async run(options: SuiteOptions): Promise<BenchResult[]> {
    const { root, cleanup } = tempRoot('append-async');
    try {
      const config: AofManagerOptions = {
        root,
        tier0: { arenaBytes: ARENA_BYTES, segmentBytes: SEGMENT_BYTES },
        tier1: TIER1_OFF,
        fsync: 'never',
      };
      const payload = patternPayload(SIZE);
      const manager = await AofManager.open(config);
      const log = await manager.openStream(STREAM);
      const sync = new BatchMeter('appendSync');
      const async = new BatchMeter('await append');
      const syncStalls = { count: 0 };
      // Same arena as append-sync, pages touched first (see fixtures.ts touchArena).
      await touchArena(log, payload, ARENA_BYTES + SEGMENT_BYTES, sync);
      options.progress('append-async: measuring');
      await driveInterleaved(
        [
          // Each round starts with the flush worker idle, so neither side inherits the other's backlog.
          { meter: sync, runBatch: () => syncBatch(log, payload, sync, syncStalls), before: () => log.flush() },
          { meter: async, runBatch: () => asyncBatch(log, payload, async), before: () => log.flush() },
        ],
        { timeMs: 0, batches: ROUND_BATCHES, warmupMs: 50, rounds: options.quick ? 4 : 24 },
      );
      const appended = log.nextId;
      await manager.close();
      options.progress(`append-async: verifying ${appended} records`);
      const verified = await verifyStream(config, STREAM, sync.total + async.total, payload);
      const result = ratioResult({
        suite: 'append-async',
        case: '1 KiB',
        subject: async.measurement(),
        baseline: sync.measurement({ wouldBlocks: syncStalls.count }),
        ratioOf: 'records/s (batch wall time)',
        targets: [],
        verified,
        notes: [
          `batches of ${BATCH}, ${ROUND_BATCHES} per side per round, both sides on one stream; sync side hit WouldBlock ${syncStalls.count} times; ` +
            `${appended} records appended in all (the verification covers both sides)`,
          `ratio of p50 batch means: ${(sync.histogram.summary().p50 / async.histogram.summary().p50).toFixed(2)}x`,
        ],
      });
      result.targets.push(atLeast('ratio', 0.8, result.ratio));
      return [result];
    } finally {
      cleanup();
    }
  },
};
