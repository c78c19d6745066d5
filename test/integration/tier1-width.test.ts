/**
 * The compression pool's width (src/tier1/width-controller.ts, stepped with the level by
 * src/tier1/compression-controller.ts) in the real engine: real piscina worker threads, made slow
 * by the `compress.delay` failpoint (every compression task waits that long first), against a
 * writer far faster than them.
 *
 * Idle cores are scarce on a loaded test machine, so the tests that need a given reading inject it
 * with the `compress.idlecores=<n>` failpoint (the main thread's width controller reads n instead of
 * measuring; workers/failpoints.ts): every core idle, the width grows to its maximum
 * (os.availableParallelism()) under the slow compressor and is back to 1 once compression keeps
 * up; no core idle, it never grows and the level does the work alone. A third test keeps the real
 * reading and checks only what holds whatever the load: the width stays within its bounds and
 * returns to 1. The settling bounds themselves are the unit tests' (test/unit/tier1/).
 *
 * The workers read AOF2_FAILPOINTS when they start and the manager at open, so it is set before
 * the manager opens.
 */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test, type TestContext } from 'node:test';
import { AofManager } from '../../src/index.js';
import { withFailpoints } from '../../support/failpoints-env.js';
import { compressionSettled, readBackInOrder, sealedCount, until, writeInOrder } from '../../support/tier1-engine.js';
import { tempRoot } from '../../support/tmp.js';

const SEGMENT_BYTES = 64 * 1024;
/** 1000-byte payloads: 1016-byte frames, 64 per segment. */
const PAYLOAD = 1000;
const PER_SEGMENT = Math.floor(SEGMENT_BYTES / 1016);
/** 32 segments: high water (1/4) is 8 segments, low water (1/16) 2. */
const BUDGET = 32 * SEGMENT_BYTES;
const LEVEL = 3;
/** The widest the pool gets here: what Tier 1 takes (os.availableParallelism(), at least 1). */
const MAX = Math.max(1, availableParallelism());
/** The controllers' production constants, as the unit tests state them. */
const UP_AFTER = 4;
const NARROW_AFTER = 8;

/** What a run saw of the width and the level. */
interface Seen {
  maxThreads: number;
  minThreads: number;
  minLevel: number;
}

/**
 * Under `spec`: a burst of 64 segments against a budget of 32, compression left to catch up, then
 * one segment at a time (each compressed before the next is written: calm tasks) until the width
 * is back to 1, at most `calmTasks` of them. Every record is read back.
 */
async function burstThenCalm(t: TestContext, spec: string, calmTasks: number): Promise<Seen> {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  return withFailpoints(spec, '1', async () => {
    const manager = await AofManager.open({
      root,
      tier0: { arenaBytes: 8 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES },
      tier1: { frameBytes: 16 * 1024, rawBacklogBytes: BUDGET, compressionLevel: LEVEL },
      tier2: { kind: 'none' },
      fsync: 'never',
    });
    const seen: Seen = { maxThreads: 0, minThreads: Number.POSITIVE_INFINITY, minLevel: Number.POSITIVE_INFINITY };
    // Records only (it also runs from a timer, where a throw would not fail this test cleanly).
    const sample = (): void => {
      const t1 = manager.stats().tier1;
      seen.maxThreads = Math.max(seen.maxThreads, t1.compressThreads);
      seen.minThreads = Math.min(seen.minThreads, t1.compressThreads);
      seen.minLevel = Math.min(seen.minLevel, t1.compressionLevel);
    };
    // Also while the test awaits (the drain below): the timer runs between polls.
    const sampler = setInterval(sample, 5);
    try {
      const log = await manager.openStream('width');
      const burst = 64 * PER_SEGMENT;
      await writeInOrder(log, 0, burst, PAYLOAD, sample);
      await log.flush();
      await compressionSettled(manager, log, 60_000);
      sample();
      const afterBurst = manager.stats().tier1;
      t.diagnostic(`after the burst: widest ${seen.maxThreads} of ${afterBurst.compressThreadsMax}, lowest level ${seen.minLevel}; now width ${afterBurst.compressThreads}, level ${afterBurst.compressionLevel}`);
      assert.equal(afterBurst.compressFailures, 0);

      let next = burst;
      let tasks = 0;
      while (manager.stats().tier1.compressThreads > 1 || manager.stats().tier1.compressionLevel < LEVEL) {
        assert.ok(tasks < calmTasks, `width ${manager.stats().tier1.compressThreads}, level ${manager.stats().tier1.compressionLevel} after ${tasks} calm tasks`);
        const before = sealedCount(log);
        await writeInOrder(log, next, next + PER_SEGMENT + 1, PAYLOAD, sample); // +1: seals the full one
        next += PER_SEGMENT + 1;
        await until(() => sealedCount(log) > before, 'the segment to seal', 10_000);
        await compressionSettled(manager, log, 60_000);
        tasks += sealedCount(log) - before;
      }
      t.diagnostic(`width back to 1 and level back to ${LEVEL} after ${tasks} calm tasks`);
      await readBackInOrder(log, next, PAYLOAD);
      assert.equal(manager.stats().tier1.compressThreadsMax, MAX);
      assert.ok(seen.minThreads >= 1 && seen.maxThreads <= MAX, `widths seen from ${seen.minThreads} to ${seen.maxThreads}, max ${MAX}`);
      return seen;
    } finally {
      clearInterval(sampler);
      await manager.close();
    }
  });
}

/**
 * Calm tasks for the level to climb back from 1 to its ceiling ((level - 1) x upAfter) and then
 * the width to narrow from its maximum to 1 ((max - 1) x narrowAfter), plus one task per loop for
 * the step that sees the last move.
 */
const CALM_BOUND = (LEVEL - 1) * UP_AFTER + (MAX - 1) * NARROW_AFTER + 2;

test('every core idle (injected): a slow compressor widens the pool to its maximum, and it narrows back to 1 once compression keeps up', async (t) => {
  const seen = await burstThenCalm(t, `compress.delay=40,compress.idlecores=${MAX}`, CALM_BOUND);
  assert.equal(seen.maxThreads, MAX, `the pool widened to ${MAX} (os.availableParallelism())`);
});

test('no core idle (injected): the pool keeps one thread and the level does the work', async (t) => {
  const seen = await burstThenCalm(t, 'compress.delay=25,compress.idlecores=0', CALM_BOUND);
  assert.equal(seen.maxThreads, 1, 'never wider than one thread');
  assert.equal(seen.minLevel, 1, 'the level went down to 1 instead');
});

test('real idle-core readings: whatever the load, the width stays within [1, max] and returns to 1', async (t) => {
  const seen = await burstThenCalm(t, 'compress.delay=25', CALM_BOUND);
  t.diagnostic(`widest ${seen.maxThreads} of ${MAX} on this machine's real readings`);
  assert.equal(seen.minThreads, 1);
});
