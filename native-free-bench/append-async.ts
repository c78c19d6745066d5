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
 * Twins (issue #12): native-codec-bench also runs each case at default options, in its own
 * manager with its own appendSync baseline, in the same rounds (see appendAsyncSuite).
 *
 * The ceiling of any async append (issue #13): at 1 KiB and 100 B the same await append() is also
 * measured against appendSync followed by one `await` of the id, in its own rounds.
 *
 * Targets: >= 0.8x of appendSync at 1 KiB (issue #2); >= 0.9x of the ceiling (issue #13).
 */
import { frameLength } from '../src/format/record.js';
import { AofManager, WouldBlockError, type AofLog, type AofManagerOptions } from '../src/index.js';
import { appendSyncLoop, patternPayload, quiesce, tempRoot, TIERS_OFF, touchArena, variantCase, verifyStream, type TierVariant } from './fixtures.js';
import { atLeast, BatchMeter, driveInterleaved, nowNs, pairTwins, ratioResult, type BenchResult, type Suite, type SuiteOptions } from './shared.js';

/** Records per timed batch, each side (exported: a subject's batch must hold as many). */
export const BATCH = 1000;
const STREAM = 'bench';
const ARENA_BYTES = 64 * 1024 * 1024;
const SEGMENT_BYTES = 8 * 1024 * 1024;
/**
 * Each size against appendSync; 1 KiB and 100 B also against the ceiling of an async append,
 * appendSync plus one `await` of the id (issue #13: >= 0.9x of it; >= 0.8x of appendSync at 1 KiB
 * from issue #2). The ceiling is what any promise-returning append costs at least: one microtask
 * turn per record on top of the sync path.
 */
const CASES: { label: string; size: number; baseline: 'sync' | 'ceiling'; target: number | null }[] = [
  { label: '1 KiB', size: 1024, baseline: 'sync', target: 0.8 },
  { label: '1 KiB, vs the ceiling (appendSync + await)', size: 1024, baseline: 'ceiling', target: 0.9 },
  { label: '100 B', size: 100, baseline: 'sync', target: null },
  { label: '100 B, vs the ceiling (appendSync + await)', size: 100, baseline: 'ceiling', target: 0.9 },
  { label: '16 KiB', size: 16 * 1024, baseline: 'sync', target: null },
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

/** The ceiling of an async append: appendSync, then an `await` of the id (append() for a WouldBlock); wall time like asyncBatch. */
async function syncAwaitBatch(log: AofLog, payload: Uint8Array, meter: BatchMeter, stalls: { count: number }): Promise<number> {
  const t0 = nowNs();
  for (let i = 0; i < BATCH; i++) {
    let id: number;
    try {
      id = log.appendSync(payload);
    } catch (err) {
      if (!(err instanceof WouldBlockError)) throw err;
      id = await log.append(payload);
      if (meter.recording) stalls.count++;
    }
    await id;
  }
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

/**
 * The suite over `variants`: per variant one manager with both sides on its one stream, so each
 * variant's async figure is against its own appendSync (the baseline is the engine itself: what
 * the promise costs at those options); all sides of all variants alternate in the same rounds.
 */
export function appendAsyncSuite(variants: readonly TierVariant[]): Suite {
  return {
    name: 'append-async',
    description: 'await append() vs appendSync() on the same stream (1 KiB, 100 B, 16 KiB)',
    async run(options: SuiteOptions): Promise<BenchResult[]> {
      const results: BenchResult[] = [];
      for (const c of CASES) {
        const baseline = c.baseline === 'sync' ? APPEND_SYNC : SYNC_AWAIT;
        results.push(...(await sameStreamCase(options, variants, AWAIT_APPEND, c.label, c.size, c.target, baseline)));
      }
      return pairTwins(results);
    },
  };
}

/** native-free-bench's suite: tiers off. */
export const appendAsync: Suite = appendAsyncSuite([TIERS_OFF]);

/**
 * The side measured against appendSync on the same stream: its name (a meter label), the suite
 * the result belongs to, what the ratio's note says, and a batch of BATCH records.
 */
export interface SubjectSide {
  suite: string;
  name: string;
  note: string;
  runBatch: (log: AofLog, payload: Uint8Array, meter: BatchMeter) => Promise<number>;
}

const AWAIT_APPEND: SubjectSide = { suite: 'append-async', name: 'await append', note: 'sequential awaited appends', runBatch: asyncBatch };

/** The side a subject is measured against; its WouldBlock waits are counted into `stalls`. */
interface BaselineSide {
  name: string;
  runBatch: (log: AofLog, payload: Uint8Array, meter: BatchMeter, stalls: { count: number }) => Promise<number>;
}

const APPEND_SYNC: BaselineSide = { name: 'appendSync', runBatch: syncBatch };
const SYNC_AWAIT: BaselineSide = { name: 'appendSync + await', runBatch: syncAwaitBatch };

interface VariantSides {
  variant: TierVariant;
  config: AofManagerOptions;
  manager: AofManager;
  log: AofLog;
  sync: BatchMeter;
  async: BatchMeter;
  syncStalls: { count: number };
  cleanup: () => void;
}

/**
 * One record size: per variant a manager with both sides on its one stream (`subject` against
 * `baseline`, appendSync unless said), interleaved round by round, each round from an idle flusher; verified after.
 * Shared with append-batch.
 */
export async function sameStreamCase(
  options: SuiteOptions,
  variants: readonly TierVariant[],
  subject: SubjectSide,
  label: string,
  size: number,
  target: number | null,
  baseline: BaselineSide = APPEND_SYNC,
): Promise<BenchResult[]> {
  const all: VariantSides[] = [];
  try {
    const payload = patternPayload(size);
    const batches = roundBatches(size);
    const suffix = (v: TierVariant): string => (variants.length > 1 ? `, ${v.label}` : '');
    for (const variant of variants) {
      const { root, cleanup } = tempRoot('append-async');
      const config: AofManagerOptions = { root, tier0: { arenaBytes: ARENA_BYTES, segmentBytes: SEGMENT_BYTES }, ...variant.options, fsync: 'never' };
      const manager = await AofManager.open(config).catch((err: unknown) => {
        cleanup();
        throw err;
      });
      const log = await manager.openStream(STREAM);
      const sides: VariantSides = {
        variant,
        config,
        manager,
        log,
        sync: new BatchMeter(`${baseline.name}${suffix(variant)}`),
        async: new BatchMeter(`${subject.name}${suffix(variant)}`),
        syncStalls: { count: 0 },
        cleanup,
      };
      all.push(sides);
      // Same arena as append-sync, pages touched first (see fixtures.ts touchArena).
      await touchArena(log, payload, ARENA_BYTES + SEGMENT_BYTES, sides.sync);
    }
    // Each round starts with every manager idle, so no side inherits another's backlog.
    const settle = async (): Promise<void> => {
      for (const v of all) await quiesce(v.manager, [v.log]);
    };
    options.progress(`${subject.suite} ${label}: measuring`);
    await driveInterleaved(
      all.flatMap((v) => [
        { meter: v.sync, runBatch: () => baseline.runBatch(v.log, payload, v.sync, v.syncStalls), before: settle },
        { meter: v.async, runBatch: () => subject.runBatch(v.log, payload, v.async), before: settle },
      ]),
      { timeMs: 0, batches, warmupMs: 50, rounds: options.quick ? 4 : 24 },
    );
    const results: BenchResult[] = [];
    for (const v of all) {
      const appended = v.log.nextId;
      await v.manager.close();
      options.progress(`${subject.suite} ${label}${suffix(v.variant)}: verifying ${appended} records`);
      const verified = await verifyStream(v.config, STREAM, v.sync.total + v.async.total, payload);
      const result = ratioResult({
        suite: subject.suite,
        case: variantCase(label, v.variant, variants),
        subject: v.async.measurement(),
        baseline: v.sync.measurement({ wouldBlocks: v.syncStalls.count }),
        ratioOf: 'records/s (batch wall time)',
        targets: [],
        verified,
        tiers: v.variant.setting,
        notes: [
          `${subject.note}; batches of ${BATCH}, ${batches} per side per round, both sides on one stream; the ${baseline.name} side hit WouldBlock ${v.syncStalls.count} times; ` +
            `${appended} records appended in all (the verification covers both sides)`,
          `ratio of p50 batch means: ${(v.sync.histogram.summary().p50 / v.async.histogram.summary().p50).toFixed(2)}x`,
        ],
      });
      if (target !== null) result.targets.push(atLeast('ratio', target, result.ratio));
      results.push(result);
    }
    return results;
  } finally {
    for (const v of all) {
      await v.manager.close().catch(() => undefined);
      v.cleanup();
    }
  }
}
