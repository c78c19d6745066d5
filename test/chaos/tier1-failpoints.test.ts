/**
 * Chaos (issue #3, "Must show"): with `AOF2_FAILPOINTS=compress.crash=0.2,hydrate.crash=0.2,
 * compress.error=0.1,hydrate.error=0.1` (fixed seed) the compress and hydrate workers die or fail
 * on roughly one task in four while a writer appends and two readers (one sync, one async) follow
 * it, then read everything back cold. Small segments and 4 KiB frames make many tasks: hundreds of
 * injected failures. Every record reads back intact (a read that rejects with a retryable code is
 * retried: the engine reports a failed load once, then tries again), every await is bounded (a
 * hang fails the test), and after close and a reopen without failpoints everything is still there,
 * the catalog agrees with the files, and segments whose compression finally failed are read raw.
 *
 * The workers read the variables when they start, so they are set in process.env before the
 * manager opens (piscina starts its threads lazily, and again after every crash) and restored after.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofManager, WouldBlockError, type AofManagerOptions } from '../../src/index.js';
import { SegmentState } from '../../src/format/snapshot.js';
import { seededRandom } from '../../src/seeded-random.js';
import { MAX_COMPRESS_ATTEMPTS } from '../../src/tier1/tier1.js';
import { TaskGroup, waitFor } from '../../support/engine.js';
import { Follower } from '../../support/follower.js';
import { jsonLikePayload } from '../../support/tier1.js';
import { tempRoot } from '../../support/tmp.js';
import { withFailpoints } from '../../support/failpoints-env.js';
import {
  asyncPass,
  checkCatalogAgainstFiles,
  hydrationsDrained,
  iteratorPass,
  sealedCount,
  streamFiles,
  syncPass,
  withTimeout,
} from '../../support/tier1-engine.js';

const FAILPOINTS = 'compress.crash=0.2,hydrate.crash=0.2,compress.error=0.1,hydrate.error=0.1';
const FAILPOINTS_SEED = '424242';
const SEGMENT_BYTES = 64 * 1024;
const SLOTS = 8;
const FRAME_BYTES = 4096;
const RECORDS = 4000;
/**
 * How long any one step (a wait, an append, a follower without progress) may take. Generous: on a
 * loaded 2-core machine the whole write took over 30 s, and a deadline on the whole run rather than
 * on progress failed there although nothing was stuck.
 */
const STALL_MS = 60_000;
/** Records (about twice the arena's worth) the writer may run ahead of the cold reader. */
const COLD_LAG = 2000;
const STREAM = 'chaos';

const options = (root: string): AofManagerOptions => ({
  root,
  tier0: { arenaBytes: SLOTS * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES },
  tier1: { frameBytes: FRAME_BYTES },
  fsync: 'interval',
  fsyncIntervalMs: 20,
});

function injectedTotal(manager: AofManager): number {
  const t = manager.stats().tier1;
  return t.compressRetries + t.compressFailures + t.hydrateRetries + t.hydrateFailures;
}

function compressedOrFailed(manager: AofManager): number {
  const t = manager.stats().tier1;
  return t.segmentsCompressed + t.compressFailures;
}

/**
 * Attributes failures to crash (AOF_ERR_WORKER_FAILED: the thread exited) or error
 * (AOF_ERR_INJECTED) by sampling `lastError` whenever the failure total moves. Several failures
 * between two samples are all given the code of the last one, so the split is approximate.
 */
function failureSampler(manager: AofManager): { split: { crash: number; error: number; other: number }; stop: () => void } {
  const split = { crash: 0, error: 0, other: 0 };
  let seen = 0;
  const timer = setInterval(() => {
    const total = injectedTotal(manager);
    if (total === seen) return;
    const code = manager.stats().tier1.lastError?.split(':')[0];
    const key = code === 'AOF_ERR_WORKER_FAILED' ? 'crash' : code === 'AOF_ERR_INJECTED' ? 'error' : 'other';
    split[key] += total - seen;
    seen = total;
  }, 1);
  return { split, stop: () => clearInterval(timer) };
}

/** Record sizes 40..2000 bytes, mostly small. */
function sizeOf(rand: () => number): number {
  return rand() < 0.8 ? 40 + Math.floor(rand() * 460) : 500 + Math.floor(rand() * 1500);
}

test('chaos: crashing and failing compress/hydrate workers lose nothing and hang nothing', { timeout: 300_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-chaos-');
  t.after(cleanup);
  const payloads: Uint8Array[] = [];
  const expected = (id: number): Uint8Array => payloads[id]!;
  const started = Date.now();

  const chaos = await withFailpoints(FAILPOINTS, FAILPOINTS_SEED, async () => {
    const manager = await AofManager.open(options(root));
    const sampler = failureSampler(manager);
    try {
      const log = await manager.openStream(STREAM);
      let writing = true;
      // Writer and followers run as one group: the first failure stops the others, and the manager
      // closes (in `finally`) only once none of them is left running. (With Promise.all, a follower
      // that failed let `finally` close the manager under the cold reader: AOF_ERR_CLOSED as an
      // unhandled rejection, and the writer polling the dead reader's position for ever.)
      const group = new TaskGroup();
      const followerOptions = { writerDone: () => !writing, signal: group.signal, stallMs: STALL_MS };
      let cold: Follower | null = null;
      const writer = async (signal: AbortSignal): Promise<void> => {
        const rand = seededRandom(Number(FAILPOINTS_SEED));
        for (let id = 0; id < RECORDS; id++) {
          if (id === COLD_LAG) {
            const started = new Follower('cold reader', log, payloads, { ...followerOptions, sync: false });
            cold = started;
            void group.spawn('cold reader', () => started.result());
          }
          // Stay at most COLD_LAG records (about twice the arena) ahead of the cold reader, so it
          // reads evicted Tier 1 frames during the whole write rather than after it. Fails at once
          // if the cold reader died.
          if (cold !== null) await (cold as Follower).within(id, COLD_LAG, { timeoutMs: STALL_MS, signal });
          // And do not outrun compression (its worker restarts after every crash): the cold reader
          // is then reading Tier 1 segments, through the hydrate pool, not raw files.
          // (Gated on sealed segments, not on the queue: a segment joins the queue only once its
          // SEALED record is durable, which can take a while when the manifest opens its chunk.)
          await waitFor(() => sealedCount(log) - compressedOrFailed(manager) <= 2, `compression to keep up at id ${id}`, {
            timeoutMs: STALL_MS,
            intervalMs: 1,
            signal,
            progress: () => `${sealedCount(log)} sealed, ${compressedOrFailed(manager)} compressed or given up`,
          });
          const payload = jsonLikePayload(id, sizeOf(rand), rand);
          payloads.push(payload);
          let got: number;
          try {
            got = log.appendSync(payload);
          } catch (err) {
            if (!(err instanceof WouldBlockError)) throw err;
            got = await withTimeout(log.append(payload), STALL_MS, `append ${id}`);
          }
          assert.equal(got, id);
          if (id % 50 === 49) await new Promise<void>((resolve) => setImmediate(resolve)); // let the followers run
        }
        await withTimeout(log.flush(), STALL_MS, 'flush');
        writing = false;
      };
      // A sync reader tails the writer (mostly resident data); an async one starts from 0 once
      // COLD_LAG records are written and reads cold Tier 1 frames while appends and compressions go on.
      const tail = new Follower('tail reader', log, payloads, { ...followerOptions, sync: true });
      void group.spawn('writer', writer);
      const tailRetried = group.spawn('tail reader', () => tail.result());
      await group.join(4 * STALL_MS);
      const syncRetried = (await tailRetried) ?? 0;
      const asyncRetried = cold === null ? 0 : (cold as Follower).retried;
      const whileWriting = injectedTotal(manager);
      // A cold read-back: the arena holds a small part of the log, so nearly every frame is hydrated again.
      const passes = [await syncPass(log, expected, RECORDS, { retry: true, timeoutMs: 30_000, waitMs: 1 })];
      await hydrationsDrained(manager);
      const stats = manager.stats().tier1;
      await withTimeout(manager.close(), 30_000, 'close under failpoints');
      sampler.stop();
      return {
        stats,
        whileWriting,
        retriedReads: syncRetried + asyncRetried + passes.reduce((s, p) => s + p.retriedFailures, 0),
        split: sampler.split,
        wouldBlocks: passes[0]!.wouldBlocks,
      };
    } finally {
      sampler.stop();
      await manager.close();
    }
  });
  const { stats } = chaos;
  const injected = stats.compressRetries + stats.compressFailures + stats.hydrateRetries + stats.hydrateFailures;
  assert.ok(injected >= 200, `at least 200 injected worker failures, got ${injected} (${JSON.stringify(stats)})`);
  assert.ok(stats.compressRetries > 0 && stats.hydrateRetries > 0, 'both pools were hit');
  assert.ok(stats.framesDecompressed > 0 && stats.segmentsCompressed > 0);

  // Files and catalog after a graceful close under failpoints: consistent. Raw segments are those
  // whose compression gave up (COMPRESSION_FAILED) or was cut short by close() (SEALED, compressed
  // at the next open); a crashed attempt may have left a .t1.tmp for the startup sweep.
  const catalog = await checkCatalogAgainstFiles(root, STREAM, 'after chaos', { allowTmp: true });
  assert.equal(catalog.endId, RECORDS);
  assert.equal(catalog.compressionFailed, stats.compressFailures);

  // Reopen without failpoints: everything is there; the raw ones are read raw.
  assert.equal(process.env['AOF2_FAILPOINTS'], undefined);
  const manager = await AofManager.open(options(root));
  try {
    const log = await manager.openStream(STREAM);
    assert.equal(log.nextId, RECORDS);
    assert.equal(manager.stats().manifest.corruptionEvents, 0);
    await asyncPass(log, expected, RECORDS);
    await iteratorPass(log, expected, RECORDS);
    await hydrationsDrained(manager);
    const clean = manager.stats().tier1;
    assert.equal(clean.hydrateRetries + clean.hydrateFailures + clean.compressRetries + clean.compressFailures, 0, 'no failure without failpoints');
  } finally {
    await withTimeout(manager.close(), 10_000, 'close');
  }
  const after = await checkCatalogAgainstFiles(root, STREAM, 'after reopen');
  assert.equal(after.compressionFailed, catalog.compressionFailed, 'a segment whose compression gave up stays raw');
  assert.equal(after.raw, after.compressionFailed, 'every other segment is compressed now');
  const failedIds = after.entries.filter((e) => e.state === SegmentState.COMPRESSION_FAILED).map((e) => e.baseId);
  // Raw files: those, and the stream's open tail (no Tier 2: the close leaves it open, unrecorded).
  assert.deepEqual(streamFiles(root, STREAM).seg, [...failedIds, ...(after.openTail === null ? [] : [after.openTail])]);

  t.diagnostic(
    `${RECORDS} records, ${catalog.entries.length} segments (${catalog.tier1} Tier 1, ${catalog.compressionFailed} compression gave up), ` +
      `${Date.now() - started} ms; injected failures ${injected} (${chaos.whileWriting} while appending): ` +
      `compress ${stats.compressRetries} retried + ${stats.compressFailures} gave up, hydrate ${stats.hydrateRetries} retried + ${stats.hydrateFailures} gave up; ` +
      `sampled split ≈ ${chaos.split.crash} crashes / ${chaos.split.error} errors / ${chaos.split.other} other; ` +
      `frames decompressed ${stats.framesDecompressed}; reads that rejected and were retried ${chaos.retriedReads}; sync WouldBlocks ${chaos.wouldBlocks}`,
  );
});

test('segments whose compression always fails stay raw, recorded COMPRESSION_FAILED, and read back after a reopen', { timeout: 60_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-chaos-fail-');
  t.after(cleanup);
  const rand = seededRandom(7);
  const payloads: Uint8Array[] = [];
  const expected = (id: number): Uint8Array => payloads[id]!;
  const n = 1500;
  const stats = await withFailpoints('compress.error=1', '1', async () => {
    const manager = await AofManager.open(options(root));
    try {
      const log = await manager.openStream(STREAM);
      for (let id = 0; id < n; id++) {
        payloads.push(jsonLikePayload(id, sizeOf(rand), rand));
        assert.equal(await withTimeout(log.append(payloads[id]!), 10_000, 'append'), id);
      }
      await asyncPass(log, expected, n);
      // Let every sealed segment exhaust its attempts before close() (which would cut them short).
      await waitFor(() => manager.stats().tier1.compressFailures >= sealedCount(log) && manager.stats().tier1.compressQueue === 0, 'compressions to give up', 20_000);
      await withTimeout(manager.close(), 20_000, 'close');
      return manager.stats().tier1;
    } finally {
      await manager.close();
    }
  });
  assert.equal(stats.segmentsCompressed, 0);
  assert.ok(stats.compressFailures >= 5, `every segment gave up, got ${stats.compressFailures}`);
  assert.ok(stats.compressRetries >= stats.compressFailures * (MAX_COMPRESS_ATTEMPTS - 1), `each gave up after its full attempts: ${JSON.stringify(stats)}`);
  assert.match(stats.lastError ?? '', /AOF_ERR_INJECTED/);
  const catalog = await checkCatalogAgainstFiles(root, STREAM);
  assert.equal(catalog.tier1, 0);
  // The last segment, sealed by close(), was cut short (SEALED); every earlier one gave up.
  assert.equal(catalog.compressionFailed, stats.compressFailures);
  assert.ok(catalog.raw - catalog.compressionFailed <= 1);
  for (const e of catalog.entries) if (e.state === SegmentState.COMPRESSION_FAILED) assert.equal(e.attempts, MAX_COMPRESS_ATTEMPTS);

  const manager = await AofManager.open(options(root));
  try {
    const log = await manager.openStream(STREAM);
    assert.equal(log.nextId, n);
    await syncPass(log, expected, n);
    await iteratorPass(log, expected, n);
  } finally {
    await manager.close();
  }
  const after = await checkCatalogAgainstFiles(root, STREAM);
  assert.equal(after.compressionFailed, catalog.compressionFailed, 'COMPRESSION_FAILED is final: those stay raw');
  assert.equal(after.raw, after.compressionFailed, 'the one cut short by close() was compressed at the reopen');
  t.diagnostic(`${catalog.entries.length} segments: ${stats.compressFailures} COMPRESSION_FAILED after ${MAX_COMPRESS_ATTEMPTS} attempts each, read back raw after a reopen`);
});
