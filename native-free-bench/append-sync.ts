/**
 * append-sync: `log.appendSync()` against the bare framed copy loop into a SharedArrayBuffer
 * (fixtures.ts `SabCopyLoop`), for 1 KiB and 100 B records, in the same process, alternating round
 * by round, for 1 KiB, 100 B and 16 KiB records. Both are timed in batches of 1,000 calls.
 *
 * What is compared is the hot path, so the engine must not wait for arena room during a round:
 * every round starts with `log.flush()` (the flush worker idle, every sealed slot CLEAN and
 * reusable) and appends at most the arena minus two segments. Every page of the arena (and of the
 * ring) is touched before the first round: a first-touch page fault costs several times the copy
 * (fixtures.ts touchArena). A WouldBlock that happens anyway is waited out with append() outside
 * the timed batch and reported as a stall. Sustained throughput, where the flush worker is the
 * limit, is what the memory suite (10 M appends) shows.
 *
 * Why not let the arena roll over under load: then the engine writes into a slot the flush worker
 * has just read (cache-warm) right after every stall, while the baseline cycles through cold
 * memory; that made the engine's p50 beat the bare copy loop at 100 B, which measures the cache.
 *
 * Targets (from the issue): >= 0.5x at 1 KiB, >= 0.35x at 100 B.
 */
import { frameLength } from '../src/format/record.js';
import { AofManager, type AofManagerOptions } from '../src/index.js';
import { appendSyncBatch, patternPayload, ringBatch, SabCopyLoop, tempRoot, TIER1_OFF, touchArena, touchRing, verifyStream } from './fixtures.js';
import { atLeast, BatchMeter, driveInterleaved, ratioResult, type BenchResult, type Suite, type SuiteOptions } from './shared.js';

/** Appends per timed batch: long enough (~0.1-1 ms) that two hrtime readings cost nothing. */
const BATCH = 1000;
const STREAM = 'bench';
const SEGMENT_BYTES = 8 * 1024 * 1024;

/** Targets from issue #2 (none was set for 16 KiB, where both sides are bound by memory bandwidth). */
const CASES: { label: string; size: number; target: number | null; fullRounds: number }[] = [
  { label: '1 KiB', size: 1024, target: 0.5, fullRounds: 8 },
  { label: '100 B', size: 100, target: 0.35, fullRounds: 3 },
  { label: '16 KiB', size: 16 * 1024, target: null, fullRounds: 8 },
];

export const appendSync: Suite = {
  name: 'append-sync',
  description: 'appendSync vs a bare framed copy loop into a SharedArrayBuffer (1 KiB, 100 B, 16 KiB)',
  async run(options: SuiteOptions): Promise<BenchResult[]> {
    const results: BenchResult[] = [];
    for (const c of CASES) results.push(await runCase(options, c.label, c.size, c.target, options.quick ? 3 : c.fullRounds));
    return results;
  },
};

async function runCase(options: SuiteOptions, label: string, size: number, target: number | null, rounds: number): Promise<BenchResult> {
  const { root, cleanup } = tempRoot('append-sync');
  try {
    // A smaller arena under --quick: touching it and flushing each round is what takes the time.
    const arenaBytes = (options.quick ? 64 : 256) * 1024 * 1024;
    // fsync 'never': this suite measures the in-memory hot path; the flusher still writes files.
    const config: AofManagerOptions = { root, tier0: { arenaBytes, segmentBytes: SEGMENT_BYTES }, tier1: TIER1_OFF, fsync: 'never' };
    const frame = frameLength(size);
    const roundBatches = Math.floor((arenaBytes - 2 * SEGMENT_BYTES) / frame / BATCH);
    const payload = patternPayload(size);
    const manager = await AofManager.open(config);
    const log = await manager.openStream(STREAM);
    const ring = new SabCopyLoop(arenaBytes);
    const engine = new BatchMeter('appendSync');
    const baseline = new BatchMeter('SAB copy loop');
    options.progress(`append-sync ${label}: touching the arena and the ring`);
    await touchArena(log, payload, arenaBytes + SEGMENT_BYTES, engine);
    touchRing(ring, payload, baseline);
    options.progress(`append-sync ${label}: ${rounds} rounds of ${roundBatches} batches per side`);
    await driveInterleaved(
      [
        // Both sides start each round with the flush worker idle, so the baseline does not share the
        // CPU with a backlog the engine left; the engine's own flushing while it runs is its cost.
        { meter: baseline, runBatch: () => ringBatch(ring, payload, BATCH, baseline), before: () => log.flush() },
        { meter: engine, runBatch: () => appendSyncBatch(log, payload, BATCH, engine), before: () => log.flush() },
      ],
      // No tinybench warmup: touchArena/touchRing already ran both loops hot.
      { timeMs: 0, batches: roundBatches, warmupMs: 0, rounds },
    );
    const appended = log.nextId;
    await manager.close();
    options.progress(`append-sync ${label}: verifying ${appended} records`);
    const verified = [...(await verifyStream(config, STREAM, engine.total, payload)), ring.verify(payload)];
    const subject = engine.measurement();
    const base = baseline.measurement();
    const result = ratioResult({
      suite: 'append-sync',
      case: label,
      subject,
      baseline: base,
      ratioOf: 'records/s (hot path)',
      targets: [],
      verified,
      notes: [
        `${rounds} rounds x ${roundBatches} batches of ${BATCH} per side, ${arenaBytes / 2 ** 20} MiB arena of ` +
          `${SEGMENT_BYTES / 2 ** 20} MiB segments; WouldBlock stalls ${subject.extra['stalls']}; ${appended} records appended in all`,
        `ratio of p50 batch means: ${(base.latency.p50 / subject.latency.p50).toFixed(2)}x (less sensitive to other load on the machine)`,
      ],
    });
    if (target !== null) result.targets.push(atLeast('ratio', target, result.ratio));
    return result;
  } finally {
    cleanup();
  }
}
