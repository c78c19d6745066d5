/**
 * kill -9 across 1,000 streams with Tier 1 and Tier 2 on (issue 12, "Tests"): the crash child in
 * `many` mode (support/crash-child.ts) writes 1,000 streams round-robin, by `appendSync` with an
 * `append()` fallback and by `append()`, over an arena of 64 pages (so windows park and roll all the
 * time), with 16 KiB segments sealed, compressed and uploaded to a local-directory Tier 2 and a
 * small Tier 1 budget (uploaded files evicted); fsync 'always' or 'interval' by the child's seed.
 * The child reports an id only once `durableId` covers it (or its `append()` resolved under
 * 'always'). The parent SIGKILLs it at a seeded random moment, reopens with the same engine and
 * checks, per stream (support/crash-many.ts): every acknowledged record is back byte for byte, ids
 * dense, everything recovered durable, appends continue at nextId. Rounds share the root and the
 * store, so each round also recovers every earlier round's segments (sealed by the checking
 * session's close, compressed, uploaded, evicted). The last round reads every stream from id 0.
 *
 * `npm run chaos` runs the same rounds many more times (scenario `sigkill-1k`).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { seededRandom } from '../../src/seeded-random.js';
import { checkManyRound } from '../../support/crash-many.js';
import { runCrashChild } from '../../support/crash-run.js';
import { CRASH_MANY_STREAMS } from '../../support/crash-workload.js';
import { withTimeout } from '../../support/tier1-engine.js';
import { tempRoot } from '../../support/tmp.js';

const ROUNDS = 20;
const SEED = 0x1c00_c4a5;
/** Kill window after `ready`: the child does ~3,000 appends a second here, most of them parking a window. */
const MIN_KILL_MS = 20;
const MAX_KILL_MS = 400;
const APPEND_EVERY = 5;

test(`kill -9 across 1,000 streams with Tier 1 and Tier 2 on loses no acknowledged record (${ROUNDS} rounds)`, { timeout: 1_800_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-crash-1k-');
  const storeDir = `${root}-store`;
  t.after(() => {
    cleanup();
    rmSync(storeDir, { recursive: true, force: true });
  });
  const rand = seededRandom(SEED);
  const floor = CRASH_MANY_STREAMS.map(() => 0);
  const seen = { acked: 0, read: 0, compared: 0, scanned: 0, removed: 0, frames: 0, compressed: 0, uploaded: 0, alwaysRounds: 0 };
  const child = { appendSync: 0, wouldBlock: 0, appendCalls: 0, compressed: 0, uploaded: 0, evicted: 0 };

  for (let round = 0; round < ROUNDS; round++) {
    const killAfter = MIN_KILL_MS + Math.floor(rand() * (MAX_KILL_MS - MIN_KILL_MS + 1));
    const childSeed = Math.floor(rand() * 2 ** 31);
    const where = `round ${round} (kill after ${killAfter} ms, child seed ${childSeed})`;
    const run = await runCrashChild(root, childSeed, killAfter, 'many', storeDir);
    assert.ok(run.ready, `${where}: child never became ready (code ${run.code}, signal ${run.signal}): ${run.stderr}`);
    assert.equal(run.signal, 'SIGKILL', `${where}: child must die by our SIGKILL, got code ${run.code}: ${run.stderr}`);
    assert.deepEqual(run.startIds, floor, `${where}: the child must resume exactly where the last check left off`);
    assert.ok(run.maxAcked.every((id, s) => id >= floor[s]!), `${where}: every stream's warm-up append was acknowledged`);
    seen.acked += run.acked;
    seen.alwaysRounds += run.stats?.['fsyncAlways'] ?? 0;
    for (const k of Object.keys(child) as (keyof typeof child)[]) child[k] += run.stats?.[k] ?? 0;

    // The last round reads everything from id 0; every fifth round (and the last) appends after
    // the reopen, which costs the close 1,000 more one-record segments.
    const full = round === ROUNDS - 1;
    const check = await checkManyRound(root, storeDir, run, floor, { full, append: full || round % APPEND_EVERY === APPEND_EVERY - 1 }, where, withTimeout);
    assert.deepEqual(check.failures, [], `${where}: ${check.lost} acknowledged records lost`);
    seen.read += check.read;
    seen.compared += check.compared;
    seen.scanned += check.scannedSegments;
    seen.removed += check.removedFiles;
    seen.frames += check.framesDecompressed;
    seen.compressed += check.compressed;
    seen.uploaded += check.uploaded;
  }
  assert.ok(seen.scanned > 0, 'kills must have left unsealed segments for recovery to scan');
  assert.ok(seen.uploaded > 0 && seen.frames > 0, 'segments went through Tier 1 and Tier 2 and were read back from them');
  t.diagnostic(
    `${ROUNDS} rounds (${seen.alwaysRounds} under fsync 'always'): ${seen.acked} acknowledgements; children did ${JSON.stringify(child)}; ` +
      `checks read ${seen.read} records (${seen.compared} compared byte for byte), decompressed ${seen.frames} frames, ` +
      `compressed ${seen.compressed} and uploaded ${seen.uploaded} segments; recovery scanned ${seen.scanned} segments, removed ${seen.removed} files; ` +
      `final nextIds ${Math.min(...floor)}..${Math.max(...floor)}`,
  );
});
