/**
 * kill -9 with parked segments (issue 12, stage 1): a child appends under fsync 'always' to twelve
 * streams over four arena slots (support/crash-child.ts `park` mode), so most active segments are
 * parked at any moment: their slots retiring, CLEAN or evicted, their bytes written but perhaps not
 * yet fsynced, their prefixes being loaded back. The parent SIGKILLs it at a seeded random moment,
 * reopens the root and checks that every acknowledged record is there with its exact bytes, that
 * ids are dense from 0, and that appends continue at nextId. Files are unchanged by parking
 * (header, frames, footer), so recovery needs nothing new: this is the proof.
 * Since stage 2 the arena is 8 pages of 8 KiB and a segment 16 KiB, so the kill also lands on
 * segments written through several windows (one retiring, the next already appended to).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofManager } from '../../src/index.js';
import { seededRandom } from '../../src/seeded-random.js';
import { CRASH_PARK_STREAMS, CRASH_PARK_TIER0, crashPayload } from '../../support/crash-workload.js';
import { runCrashChild } from '../../support/crash-run.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';

const ROUNDS = 10;
const SEED = 0x9a4c_0012;
const MIN_KILL_MS = 20;
const MAX_KILL_MS = 300;

test(`kill -9 while streams park each other loses no acknowledged record (${ROUNDS} rounds)`, async (t) => {
  const { root, cleanup } = tempRoot('aof2-crash-park-');
  t.after(cleanup);
  const rand = seededRandom(SEED);
  const floor = CRASH_PARK_STREAMS.map(() => 0);
  let totalAcked = 0;
  let totalRead = 0;
  let scanned = 0;

  for (let round = 0; round < ROUNDS; round++) {
    const killAfter = MIN_KILL_MS + Math.floor(rand() * (MAX_KILL_MS - MIN_KILL_MS + 1));
    const childSeed = Math.floor(rand() * 2 ** 31);
    const run = await runCrashChild(root, childSeed, killAfter, 'park');
    const where = `round ${round} (kill after ${killAfter} ms, child seed ${childSeed})`;
    assert.ok(run.ready, `${where}: child never became ready (code ${run.code}, signal ${run.signal}): ${run.stderr}`);
    assert.equal(run.signal, 'SIGKILL', `${where}: child must die by our SIGKILL, got code ${run.code}: ${run.stderr}`);
    assert.deepEqual(run.startIds, floor, `${where}: the child must resume exactly where the last verification left off`);
    totalAcked += run.acked;

    const manager = await AofManager.open({ root, tier0: CRASH_PARK_TIER0, tier2: { kind: 'none' }, fsync: 'always' });
    try {
      for (let s = 0; s < CRASH_PARK_STREAMS.length; s++) {
        const log = await manager.openStream(CRASH_PARK_STREAMS[s]!);
        assert.ok(log.nextId >= run.maxAcked[s]! + 1, `${where}: stream ${s} nextId ${log.nextId} < acked ${run.maxAcked[s]} + 1`);
        assert.ok(log.nextId >= floor[s]!, `${where}: stream ${s} lost records of earlier rounds (nextId ${log.nextId} < ${floor[s]})`);
        assert.equal(log.durableId, log.nextId - 1, `${where}: stream ${s}: everything recovered is durable`);
        let expected = 0;
        for await (const rec of log.read({ from: 0 })) {
          assert.equal(rec.id, expected, `${where}: stream ${s}: gap before id ${rec.id}`);
          // This round's records byte for byte (every acknowledged one among them), older ones by length.
          if (rec.id >= floor[s]! && !sameBytes(rec.payload, crashPayload(s, rec.id))) assert.fail(`${where}: stream ${s}: record ${rec.id} differs`);
          if (rec.id < floor[s]!) assert.equal(rec.payload.length, crashPayload(s, rec.id).length);
          expected++;
        }
        assert.equal(expected, log.nextId, `${where}: stream ${s}: read ${expected} records, nextId is ${log.nextId}`);
        totalRead += expected;
        const id = await log.append(crashPayload(s, log.nextId));
        assert.equal(id, expected, `${where}: stream ${s}: a new append continues at nextId`);
        assert.equal(log.durableId, id);
        floor[s] = id + 1;
      }
      scanned += manager.stats().recovery.scannedSegments;
    } finally {
      await manager.close();
    }
  }
  assert.ok(scanned > 0, 'kills must have left unsealed (parked or active) segments to scan');
  t.diagnostic(`${ROUNDS} rounds: ${totalAcked} acknowledged appends (all verified), ${totalRead} records re-read, ${scanned} unsealed segments scanned; final nextIds ${floor.join('/')}`);
});
