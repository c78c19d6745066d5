/**
 * kill -9 while Tier 2 is busy (issue #4): the crash child runs in `tier2` mode — 16 KiB segments,
 * a Tier 1 budget of four segments, byte retention every 25 ms, the fs Tier 2 in a directory
 * beside the root, two streams appending under fsync 'always' and a reader scanning stream 0 from
 * its first id — so at any moment segments are being compressed, uploaded, recorded, evicted,
 * fetched back from the store, expired and deleted. The parent SIGKILLs it at a seeded random
 * moment, and checks in three steps:
 *
 * 1. The killed root, as the next open will see it (the manifest replayed by `ManifestLog.open`):
 *    every catalog entry is in a state its files and objects back up — an entry flagged uploaded
 *    has an object of exactly `objectBytes`, a TIER1 entry not flagged evicted has its `.t1`, a
 *    raw one its `.seg`, nothing needs recovery, and the only tombstone is the first entry.
 * 2. A reopen in this process (no retention, so it does not move the floor itself): `firstId`
 *    never moves backwards, ids below it read as AOF_ERR_OUT_OF_RANGE and were expired by policy
 *    (what is left still holds about `maxBytes`), every id from `firstId` to `nextId` reads back
 *    byte-identical (acknowledged ones included: nextId > every acknowledged id), and an append
 *    continues at nextId. The `.tmp` orphans the kill left are swept by the reopen.
 * 3. After that session's graceful close: exactly one local form per segment and no temp file,
 *    the catalog dense from the tombstone to nextId, every segment compressed and uploaded (close
 *    finishes the upload queue while the store answers), and every object at or above firstId a
 *    catalog entry of the recorded size. Objects below firstId (a kill between EXPIRED and the
 *    delete) are allowed until the final pass.
 *
 * After the rounds, a clean session with retention runs `settle()` and `enforceRetention()`: then
 * the bucket must hold no orphan at all and no temp file. Last, the rebuild path: one more kill,
 * the local root deleted, a fresh root opened on the same store must read back every id below its
 * nextId, and that nextId must reach at least the end of the uploaded prefix the killed root's
 * catalog recorded (the loss window is what was not uploaded).
 *
 * Trade-offs: the verification runs in this process rather than in a second child (cheaper, and
 * stack traces point at the assertion); every record still stored is compared byte for byte in
 * every round, which retention keeps cheap (a few hundred records per stream).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { test } from 'node:test';
import { AofError, AofManager, ErrorCode } from '../../src/index.js';
import { FLAG_TIER1_EVICTED, FLAG_UPLOADED, SegmentState, type CatalogEntry } from '../../src/format/snapshot.js';
import { ManifestLog, type ReplayReport } from '../../src/manifest/manifest-log.js';
import { seededRandom } from '../../src/seeded-random.js';
import { openObjectStore } from '../../src/tier2/object-store.js';
import { CRASH_STREAMS, CRASH_T2_RETENTION, CRASH_T2_TIER0, crashPayload, crashT2VerifyOptions } from '../../support/crash-workload.js';
import { runCrashChild, type ChildRun } from '../../support/crash-run.js';
import { streamFiles, withTimeout } from '../../support/tier1-engine.js';
import { filesUnder } from '../../support/tier2.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';
import { logCore } from '../../src/log.js';
import { MANIFEST_PREFIX, manifestDir, parseSegmentKey, streamDir, streamPrefix, tier1Path } from '../../src/format/root-layout.js';

const ROUNDS = 16;
const SEED = 0x7132_c4a5;
/** Kill window after `ready`: long enough for several uploads, evictions and retention passes. */
const MIN_KILL_MS = 30;
const MAX_KILL_MS = 800;
/** Rounds the test may add, killing 1.5-4 s after ready, while a transition below is short of ROUNDS / 2. */
const EXTRA_ROUNDS = 8;
const LATE_KILL_MS = 1500;
const LATE_MAX_KILL_MS = 4000;
/** Transitions the children must have crossed (their stats), each at least ROUNDS / 2 times in all. */
const TRANSITIONS = ['uploaded', 'evicted', 'expired', 'deletedObjects'] as const;
const SEGMENT_BYTES = CRASH_T2_TIER0.segmentBytes;

/** The manifest of a closed (or killed) root, replayed exactly as the next open will. */
async function replay(root: string): Promise<{ report: ReplayReport; entries: Map<string, CatalogEntry[]> }> {
  const { manifest, catalog, report } = await ManifestLog.open({ dir: manifestDir(root) });
  try {
    return { report, entries: new Map(CRASH_STREAMS.map((s) => [s, catalog.entries(s)])) };
  } finally {
    await manifest.close();
  }
}

/** Segment objects of `stream` in the store: base id → size. */
async function objectsOf(storeDir: string, stream: string): Promise<Map<number, number>> {
  const store = await openObjectStore({ kind: 'fs', root: storeDir });
  try {
    const out = new Map<number, number>();
    for (const o of await store.list(streamPrefix(stream))) {
      const parsed = parseSegmentKey(o.key);
      assert.ok(parsed !== null && parsed.stream === stream, `unexpected object ${o.key}`);
      out.set(parsed.baseId, o.size);
    }
    return out;
  } finally {
    await store.close();
  }
}

const uploaded = (e: CatalogEntry): boolean => (e.flags & FLAG_UPLOADED) !== 0;
const evicted = (e: CatalogEntry): boolean => (e.flags & FLAG_TIER1_EVICTED) !== 0;

/** Splits a stream's entries into its retention tombstone (at most one, first) and the live ones. */
function splitTombstone(entries: CatalogEntry[], at: string): { firstId: number | null; live: CatalogEntry[] } {
  const deleted = entries.filter((e) => e.state === SegmentState.DELETED);
  assert.ok(deleted.length <= 1, `${at}: ${deleted.length} tombstones`);
  if (deleted.length === 0) return { firstId: null, live: entries };
  assert.equal(entries[0], deleted[0], `${at}: the tombstone must be the first entry`);
  return { firstId: deleted[0]!.baseId + deleted[0]!.recordCount, live: entries.slice(1) };
}

/** End of the leading run of uploaded, contiguous segments: what a rebuild can always recover. */
function uploadedPrefixEnd(live: CatalogEntry[], from: number): number {
  let end = from;
  for (const e of live) {
    if (e.baseId !== end || !uploaded(e)) break;
    end = e.baseId + e.recordCount;
  }
  return end;
}

interface KilledState {
  /** Per stream: the tombstone's end (0 without one), the uploaded prefix's end, local `.tmp` files. */
  firstId: number[];
  uploadedEnd: number[];
  tmp: number;
  /** Evicted entries whose `.t1` was still there (a kill between EVICTED and the unlink). */
  evictedLeftovers: number;
  /** Objects the catalog does not name yet (a kill between the put and UPLOADED) or any more. */
  unrecordedObjects: number;
  belowFirstObjects: number;
  /** Entries in each state over both streams. */
  states: Record<string, number>;
}

/** Step 1: the killed root's catalog against its files and the store (see the file comment). */
async function checkKilled(root: string, storeDir: string, where: string): Promise<KilledState> {
  const { report, entries } = await replay(root);
  assert.equal(report.corruptionEvents, 0, `${where}: manifest replay found corruption`);
  const out: KilledState = { firstId: [], uploadedEnd: [], tmp: 0, evictedLeftovers: 0, unrecordedObjects: 0, belowFirstObjects: 0, states: {} };
  for (const stream of CRASH_STREAMS) {
    const at = `${where}: ${stream} (killed root)`;
    const files = streamFiles(root, stream);
    const objects = await objectsOf(storeDir, stream);
    out.tmp += files.tmp.length;
    const { firstId, live } = splitTombstone(entries.get(stream)!, at);
    const first = firstId ?? live[0]?.baseId ?? 0;
    for (const e of live) {
      const state = Object.keys(SegmentState).find((k) => SegmentState[k as keyof typeof SegmentState] === e.state)!;
      const name = `${state}${uploaded(e) ? '+uploaded' : ''}${evicted(e) ? '+evicted' : ''}`;
      out.states[name] = (out.states[name] ?? 0) + 1;
      const seg = `${at}: segment ${e.baseId} (${name})`;
      assert.ok(e.baseId >= first, `${seg} below the first id ${first}`);
      assert.ok(e.recordCount > 0, `${seg} is empty`);
      if (e.state === SegmentState.TIER1) {
        if (evicted(e)) {
          assert.ok(uploaded(e), `${seg}: evicted before its upload was recorded`);
          if (files.t1.includes(e.baseId)) out.evictedLeftovers++;
        } else {
          assert.ok(files.t1.includes(e.baseId), `${seg}: no local .t1`);
          assert.equal(statSync(tier1Path(streamDir(root, stream), e.baseId)).size, e.compressedBytes, `${seg}: .t1 size`);
        }
      } else {
        assert.ok(e.state === SegmentState.SEALED || e.state === SegmentState.COMPRESSION_FAILED, `${seg}: unexpected state`);
        assert.ok(files.seg.includes(e.baseId), `${seg}: no local .seg`);
        assert.ok(!uploaded(e) && !evicted(e), `${seg}: a raw segment cannot be uploaded or evicted`);
      }
      if (uploaded(e)) {
        assert.equal(objects.get(e.baseId), e.objectBytes, `${seg}: the object must exist with exactly objectBytes`);
        assert.equal(e.objectBytes, e.compressedBytes, `${seg}: objectBytes vs compressedBytes`);
      }
    }
    const named = new Set(live.map((e) => e.baseId));
    for (const id of objects.keys()) {
      if (id < first) out.belowFirstObjects++;
      else if (!named.has(id)) out.unrecordedObjects++;
    }
    out.firstId.push(first);
    out.uploadedEnd.push(uploadedPrefixEnd(live, first));
  }
  return out;
}

interface ClosedState {
  firstId: number;
  endId: number;
  evicted: number;
  local: number;
  belowFirstObjects: number;
}

/** Step 3: a gracefully closed root, its catalog and the store (see the file comment). */
async function checkClosed(root: string, storeDir: string, stream: string, entries: CatalogEntry[], where: string): Promise<ClosedState> {
  const at = `${where}: ${stream} (closed root)`;
  const files = streamFiles(root, stream);
  assert.deepEqual(files.tmp, [], `${at}: no temp file may remain`);
  assert.deepEqual(files.other, [], `${at}: unexpected files`);
  assert.deepEqual(files.seg, [], `${at}: every segment is compressed after a graceful close`);
  const { firstId, live } = splitTombstone(entries, at);
  const objects = await objectsOf(storeDir, stream);
  const first = firstId ?? live[0]?.baseId ?? 0;
  let next = first;
  let evictedCount = 0;
  for (const e of live) {
    const seg = `${at}: segment ${e.baseId}`;
    assert.equal(e.baseId, next, `${seg}: catalog ids must be dense (expected ${next})`);
    next = e.baseId + e.recordCount;
    assert.equal(e.state, SegmentState.TIER1, `${seg}: state ${e.state}, expected TIER1`);
    assert.ok(uploaded(e), `${seg}: not uploaded although the store answered until close`);
    assert.equal(objects.get(e.baseId), e.objectBytes, `${seg}: object size`);
    assert.equal(e.objectBytes, e.compressedBytes, `${seg}: objectBytes vs compressedBytes`);
    assert.equal(files.t1.includes(e.baseId), !evicted(e), `${seg}: a local .t1 exactly when not evicted`);
    if (evicted(e)) evictedCount++;
  }
  assert.deepEqual(files.t1, live.filter((e) => !evicted(e)).map((e) => e.baseId), `${at}: local files and catalog differ`);
  let belowFirst = 0;
  const named = new Set(live.map((e) => e.baseId));
  for (const id of objects.keys()) {
    if (id < first) belowFirst++;
    else assert.ok(named.has(id), `${at}: object ${id} is no catalog entry (orphan)`);
  }
  return { firstId: first, endId: next, evicted: evictedCount, local: files.t1.length, belowFirstObjects: belowFirst };
}

/** Reads every id in [firstId, nextId) and compares it byte for byte; returns the count. */
async function readAll(manager: AofManager, stream: number, where: string): Promise<{ firstId: number; nextId: number; read: number; liveBytes: number }> {
  const log = await withTimeout(manager.openStream(CRASH_STREAMS[stream]!), 10_000, `${where}: openStream`);
  const { firstId, nextId } = log;
  let expected = firstId;
  const run = async (): Promise<void> => {
    for await (const rec of log.read({ from: firstId })) {
      assert.equal(rec.id, expected, `${where}: stream ${stream}: gap before id ${rec.id}`);
      if (!sameBytes(rec.payload, crashPayload(stream, rec.id))) assert.fail(`${where}: stream ${stream}: record ${rec.id} differs (${rec.payload.length} bytes)`);
      expected++;
    }
  };
  await withTimeout(run(), 20_000, `${where}: stream ${stream}: read back`).catch((err: unknown) => {
    throw new Error(`${where}: stream ${stream}: reading [${firstId}, ${nextId}) failed at ${expected}: ${String(err)}`, { cause: err });
  });
  assert.equal(expected, nextId, `${where}: stream ${stream}: read up to ${expected}, nextId is ${nextId}`);
  if (firstId > 0) {
    assert.throws(
      () => log.openReader({ from: firstId - 1 }),
      (err: unknown) => err instanceof AofError && err.code === ErrorCode.OUT_OF_RANGE,
      `${where}: stream ${stream}: reading below firstId ${firstId}`,
    );
  }
  return { firstId, nextId, read: nextId - firstId, liveBytes: logCore(log).liveBytes };
}

function assertKilled(run: ChildRun, where: string): void {
  assert.ok(run.ready, `${where}: child never became ready (code ${run.code}, signal ${run.signal}): ${run.stderr}`);
  assert.equal(run.signal, 'SIGKILL', `${where}: child must die by our SIGKILL, got code ${run.code}: ${run.stderr}`);
  assert.ok(run.acked > 0, `${where}: no acknowledged append`);
}

test(`kill -9 during uploads, evictions and retention: nothing acknowledged lost, catalog = files = store, no orphan, rebuild (${ROUNDS} rounds)`, async (t) => {
  const { root, cleanup } = tempRoot('aof2-crash-t2-');
  t.after(cleanup);
  // Outside the root, and not the default `<root>-tier2` either: the parent chose it.
  const storeDir = `${root}-store`;
  t.after(() => rmSync(storeDir, { recursive: true, force: true }));
  const rand = seededRandom(SEED);
  const floor = CRASH_STREAMS.map(() => 0);
  const prevFirst = CRASH_STREAMS.map(() => 0);
  const seen = {
    acked: 0,
    read: 0,
    tmpOrphans: 0,
    evictedLeftovers: 0,
    unrecordedObjects: 0,
    belowFirstAtKill: 0,
    belowFirstAfterClose: 0,
    removedFiles: 0,
    evictedAtClose: 0,
  };
  const childTotals: Record<string, number> = {};
  const killedStates: Record<string, number> = {};
  const addChildStats = (run: ChildRun): void => {
    for (const [k, v] of Object.entries(run.stats ?? {})) childTotals[k] = (childTotals[k] ?? 0) + v;
  };

  // Rounds past ROUNDS run while some transition is still short of its count (a loaded machine:
  // no child uploaded within 800 ms in 16 rounds at load 9), killing later, up to EXTRA_ROUNDS.
  const transitionsShort = (): boolean => TRANSITIONS.some((key) => (childTotals[key] ?? 0) < ROUNDS / 2);
  for (let round = 0; round < ROUNDS || (round < ROUNDS + EXTRA_ROUNDS && transitionsShort()); round++) {
    const [minKill, maxKill] = round < ROUNDS ? [MIN_KILL_MS, MAX_KILL_MS] : [LATE_KILL_MS, LATE_MAX_KILL_MS];
    const killAfter = minKill + Math.floor(rand() * (maxKill - minKill + 1));
    const childSeed = Math.floor(rand() * 2 ** 31);
    const where = `round ${round} (kill after ${killAfter} ms, child seed ${childSeed})`;
    const run = await runCrashChild(root, childSeed, killAfter, 'tier2', storeDir);
    assertKilled(run, where);
    assert.deepEqual(run.startIds, floor, `${where}: the child must resume exactly where the last verification left off`);
    seen.acked += run.acked;
    addChildStats(run);

    // 1. The killed root.
    const killed = await checkKilled(root, storeDir, where);
    seen.tmpOrphans += killed.tmp;
    seen.evictedLeftovers += killed.evictedLeftovers;
    seen.unrecordedObjects += killed.unrecordedObjects;
    seen.belowFirstAtKill += killed.belowFirstObjects;
    for (const [k, v] of Object.entries(killed.states)) killedStates[k] = (killedStates[k] ?? 0) + v;

    // 2. Reopen and read everything still stored.
    const manager = await withTimeout(AofManager.open(crashT2VerifyOptions(root, storeDir, false)), 10_000, `${where}: open`);
    try {
      assert.equal(manager.stats().manifest.corruptionEvents, 0, `${where}: manifest replay found corruption`);
      for (let s = 0; s < CRASH_STREAMS.length; s++) {
        const got = await readAll(manager, s, where);
        assert.equal(got.firstId, killed.firstId[s], `${where}: stream ${s}: firstId is the catalog's`);
        assert.ok(got.firstId >= prevFirst[s]!, `${where}: stream ${s}: firstId went back from ${prevFirst[s]} to ${got.firstId}`);
        assert.ok(got.nextId >= run.maxAcked[s]! + 1, `${where}: stream ${s}: nextId ${got.nextId} < acked ${run.maxAcked[s]} + 1`);
        assert.ok(got.nextId >= floor[s]!, `${where}: stream ${s}: lost records of earlier rounds (nextId ${got.nextId} < ${floor[s]})`);
        if (got.firstId > 0) {
          // Retention stops expiring once the stream fits maxBytes: what is left is at least
          // maxBytes minus the last expired segment, minus records in flight that the kill lost.
          const least = CRASH_T2_RETENTION.maxBytes - 3 * SEGMENT_BYTES;
          assert.ok(got.liveBytes >= least, `${where}: stream ${s}: only ${got.liveBytes} bytes left below firstId ${got.firstId}: more than a retention prefix went`);
        }
        const log = await manager.openStream(CRASH_STREAMS[s]!);
        assert.equal(log.durableId, log.nextId - 1, `${where}: stream ${s}: everything recovered is durable`);
        const id = await withTimeout(log.append(crashPayload(s, log.nextId)), 10_000, `${where}: append`);
        assert.equal(id, got.nextId, `${where}: stream ${s}: a new append continues at nextId`);
        floor[s] = id + 1;
        prevFirst[s] = got.firstId;
        seen.read += got.read;
      }
      const removed = manager.stats().recovery.removedFiles;
      assert.ok(removed >= killed.tmp, `${where}: ${killed.tmp} .tmp orphans, ${removed} files removed`);
      seen.removedFiles += removed;
    } finally {
      await withTimeout(manager.close(), 20_000, `${where}: close`);
    }

    // 3. The closed root.
    const { report, entries } = await replay(root);
    assert.equal(report.corruptionEvents, 0, `${where}: manifest replay after close`);
    for (let s = 0; s < CRASH_STREAMS.length; s++) {
      const closed = await checkClosed(root, storeDir, CRASH_STREAMS[s]!, entries.get(CRASH_STREAMS[s]!)!, where);
      assert.equal(closed.firstId, prevFirst[s], `${where}: stream ${s}: catalog first id`);
      assert.equal(closed.endId, floor[s], `${where}: stream ${s}: catalog ends at ${closed.endId}, the log at ${floor[s]}`);
      seen.belowFirstAfterClose += closed.belowFirstObjects;
      seen.evictedAtClose += closed.evicted;
    }
  }

  // Every transition the test is about happened, many times, in the children.
  for (const key of TRANSITIONS) {
    // About a dozen per round on a quiet machine; half a round's worth on average still shows the
    // transition was crossed by kills many times, and leaves room for a loaded machine.
    assert.ok((childTotals[key] ?? 0) >= ROUNDS / 2, `children reported only ${childTotals[key] ?? 0} ${key}`);
  }
  assert.ok(prevFirst.every((f) => f > 0), 'retention moved every stream');
  assert.ok(seen.evictedAtClose > 0, 'some segments were left only in Tier 2');

  // The final clean pass: retention applied with everything uploaded, then no orphan anywhere.
  {
    const where = 'final pass';
    const manager = await withTimeout(AofManager.open(crashT2VerifyOptions(root, storeDir, true)), 10_000, `${where}: open`);
    try {
      for (const stream of CRASH_STREAMS) await manager.openStream(stream);
      await withTimeout(manager.settle(), 20_000, `${where}: settle`);
      await withTimeout(manager.enforceRetention(), 20_000, `${where}: enforceRetention`);
      for (let s = 0; s < CRASH_STREAMS.length; s++) {
        const got = await readAll(manager, s, where);
        assert.equal(got.nextId, floor[s]);
        assert.ok(got.firstId >= prevFirst[s]!, `${where}: stream ${s}: firstId went back`);
        assert.ok(got.liveBytes <= CRASH_T2_RETENTION.maxBytes + SEGMENT_BYTES, `${where}: stream ${s}: ${got.liveBytes} bytes left after enforceRetention`);
        prevFirst[s] = got.firstId;
      }
    } finally {
      await withTimeout(manager.close(), 20_000, `${where}: close`);
    }
    const { entries } = await replay(root);
    for (let s = 0; s < CRASH_STREAMS.length; s++) {
      const closed = await checkClosed(root, storeDir, CRASH_STREAMS[s]!, entries.get(CRASH_STREAMS[s]!)!, where);
      assert.equal(closed.firstId, prevFirst[s]);
      assert.equal(closed.endId, floor[s]);
      assert.equal(closed.belowFirstObjects, 0, `${where}: stream ${s}: objects below firstId ${closed.firstId} survived the sweep`);
    }
    const tmp = filesUnder(storeDir).filter((p) => p.endsWith('.tmp'));
    assert.deepEqual(tmp, [], `${where}: temp files left in the store`);
    const keys = filesUnder(storeDir);
    assert.ok(keys.every((k) => k.startsWith(MANIFEST_PREFIX) || CRASH_STREAMS.some((s) => k.startsWith(streamPrefix(s)))), `${where}: unexpected keys ${keys.join(', ')}`);
  }

  // The rebuild path: one more kill, then only the store is left.
  {
    const childSeed = Math.floor(rand() * 2 ** 31);
    const killAfter = MAX_KILL_MS;
    const where = `rebuild round (kill after ${killAfter} ms, child seed ${childSeed})`;
    const run = await runCrashChild(root, childSeed, killAfter, 'tier2', storeDir);
    assertKilled(run, where);
    addChildStats(run);
    const killed = await checkKilled(root, storeDir, where);
    rmSync(root, { recursive: true, force: true });
    assert.equal(existsSync(root), false);
    const fresh = tempRoot('aof2-crash-t2-rebuilt-');
    t.after(fresh.cleanup);
    const manager = await withTimeout(AofManager.open(crashT2VerifyOptions(fresh.root, storeDir, false)), 10_000, `${where}: open`);
    const rebuilt: number[] = [];
    try {
      assert.ok(manager.stats().restoredManifestFiles > 0, `${where}: the manifest came from Tier 2`);
      for (let s = 0; s < CRASH_STREAMS.length; s++) {
        const got = await readAll(manager, s, where);
        assert.ok(
          got.nextId >= killed.uploadedEnd[s]!,
          `${where}: stream ${s}: rebuilt nextId ${got.nextId} < ${killed.uploadedEnd[s]}, the end of the uploaded prefix the killed root recorded`,
        );
        assert.ok(got.firstId <= killed.firstId[s]!, `${where}: stream ${s}: rebuilt firstId ${got.firstId} past the killed root's ${killed.firstId[s]}`);
        assert.ok(got.nextId <= run.maxAcked[s]! + 1 + 64, `${where}: stream ${s}: rebuilt nextId ${got.nextId} beyond anything the child could have written`);
        const log = await manager.openStream(CRASH_STREAMS[s]!);
        const id = await withTimeout(log.append(crashPayload(s, log.nextId)), 10_000, `${where}: append`);
        assert.equal(id, got.nextId, `${where}: stream ${s}: appends continue at the rebuilt nextId`);
        rebuilt.push(id + 1);
        seen.read += got.read;
      }
    } finally {
      await withTimeout(manager.close(), 20_000, `${where}: close`);
    }
    const { entries } = await replay(fresh.root);
    for (let s = 0; s < CRASH_STREAMS.length; s++) {
      const closed = await checkClosed(fresh.root, storeDir, CRASH_STREAMS[s]!, entries.get(CRASH_STREAMS[s]!)!, where);
      assert.equal(closed.endId, rebuilt[s]);
    }
    t.diagnostic(
      `rebuild: killed root had uploaded prefixes ending at ${killed.uploadedEnd.join('/')} and acked up to ${run.maxAcked.join('/')}; ` +
        `rebuilt nextIds ${rebuilt.map((n) => n - 1).join('/')}`,
    );
  }

  // Sanity of what the store holds next to segment objects: the replicated manifest, no stray files.
  assert.ok(readdirSync(manifestDir(storeDir)).length > 0);
  t.diagnostic(
    `${ROUNDS} rounds: ${seen.acked} acknowledged appends (all verified), ${seen.read} records re-read byte for byte; ` +
      `children did ${JSON.stringify(childTotals)}; killed catalogs held ${JSON.stringify(killedStates)}; ` +
      `kills left ${seen.tmpOrphans} local .tmp, ${seen.evictedLeftovers} evicted .t1 leftovers, ${seen.unrecordedObjects} unrecorded objects, ` +
      `${seen.belowFirstAtKill} objects below firstId (${seen.belowFirstAfterClose} still there after the verifying close); ` +
      `reopens removed ${seen.removedFiles} files; final first ids ${prevFirst.join('/')}, next ids ${floor.join('/')}`,
  );
});
