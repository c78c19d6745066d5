/**
 * kill -9 during compression, eviction and hydration (issue #3, "Must show"): the crash child runs
 * in `tier1` mode — the tiny 8-slot arena, 16 KiB zstd frames, two streams appending under fsync
 * 'always' and a reader scanning stream 0 from its start over and over — so at any moment segments
 * are being sealed, compressed (temp file, rename, manifest record, raw unlink), evicted and
 * hydrated frame by frame. The parent SIGKILLs it at a seeded random moment and reopens:
 *
 * - every acknowledged record is there, byte-identical, ids dense from 0, appends continue at nextId;
 * - the manifest replays without corruption (`stats().manifest.corruptionEvents === 0`);
 * - the `.tmp` orphans the kill left are swept by the reopen;
 * - after the verification session closes, every segment id is in exactly one local form (.seg xor
 *   .t1), no temp file remains, and the catalog names exactly those segments in matching states.
 *
 * Rounds share one root, so each round also recovers what the earlier ones left.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofManager } from '../../src/index.js';
import { seededRandom } from '../../src/seeded-random.js';
import { CRASH_STREAMS, CRASH_TIER0, CRASH_TIER1, crashPayload, crashPayloadSize } from '../../support/crash-workload.js';
import { runCrashChild } from '../../support/crash-run.js';
import { checkCatalogAgainstFiles, hydrationsDrained, streamFiles, withTimeout } from '../../support/tier1-engine.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';

const ROUNDS = 20;
const SEED = 0x7131_c4a5;
/** Every this many rounds (and in the last one) the whole history is compared byte for byte. */
const FULL_VERIFY_EVERY = 5;
const MIN_KILL_MS = 20;
const MAX_KILL_MS = 300;

const options = (root: string): Parameters<typeof AofManager.open>[0] => ({ root, tier0: CRASH_TIER0, tier1: CRASH_TIER1, fsync: 'always' });

test(`kill -9 during compression and eviction: nothing acknowledged lost, catalog consistent with the files (${ROUNDS} rounds)`, async (t) => {
  const { root, cleanup } = tempRoot('aof2-crash-t1-');
  t.after(cleanup);
  const rand = seededRandom(SEED);
  const floor = CRASH_STREAMS.map(() => 0);
  const seen = { acked: 0, read: 0, compared: 0, tmpOrphans: 0, roundsWithTmp: 0, bothForms: 0, roundsWithBoth: 0, rawLeft: 0, framesDecompressed: 0 };
  const recovered = { trustedSegments: 0, scannedSegments: 0, trimmedBytes: 0, removedFiles: 0 };

  for (let round = 0; round < ROUNDS; round++) {
    const killAfter = MIN_KILL_MS + Math.floor(rand() * (MAX_KILL_MS - MIN_KILL_MS + 1));
    const childSeed = Math.floor(rand() * 2 ** 31);
    const run = await runCrashChild(root, childSeed, killAfter, 'tier1');
    const where = `round ${round} (kill after ${killAfter} ms, child seed ${childSeed})`;
    assert.ok(run.ready, `${where}: child never became ready (code ${run.code}, signal ${run.signal}): ${run.stderr}`);
    assert.equal(run.signal, 'SIGKILL', `${where}: child must die by our SIGKILL, got code ${run.code}: ${run.stderr}`);
    assert.deepEqual(run.startIds, floor, `${where}: the child must resume exactly where the last verification left off`);
    assert.ok(run.acked > 0, `${where}: no acknowledged append`);
    seen.acked += run.acked;

    // What the kill left: compressions cut mid-write (.tmp) or between rename and unlink (both forms).
    let tmpBefore = 0;
    for (const stream of CRASH_STREAMS) {
      const files = streamFiles(root, stream);
      tmpBefore += files.tmp.length;
      const both = files.seg.filter((id) => files.t1.includes(id)).length;
      seen.bothForms += both;
      if (both > 0) seen.roundsWithBoth++;
    }
    seen.tmpOrphans += tmpBefore;
    if (tmpBefore > 0) seen.roundsWithTmp++;

    const manager = await withTimeout(AofManager.open(options(root)), 10_000, `${where}: open`);
    try {
      assert.equal(manager.stats().manifest.corruptionEvents, 0, `${where}: manifest replay found corruption`);
      for (let s = 0; s < CRASH_STREAMS.length; s++) {
        const log = await withTimeout(manager.openStream(CRASH_STREAMS[s]!), 10_000, `${where}: openStream`);
        assert.equal(log.firstId, 0);
        assert.ok(log.nextId >= run.maxAcked[s]! + 1, `${where}: stream ${s} nextId ${log.nextId} < acked ${run.maxAcked[s]} + 1`);
        assert.ok(log.nextId >= floor[s]!, `${where}: stream ${s} lost records of earlier rounds`);
        assert.equal(log.durableId, log.nextId - 1, `${where}: stream ${s}: everything recovered is durable`);
        const fullRound = round % FULL_VERIFY_EVERY === FULL_VERIFY_EVERY - 1 || round === ROUNDS - 1;
        const compareFrom = fullRound ? 0 : floor[s]!;
        const readAll = async (): Promise<number> => {
          let expected = 0;
          for await (const rec of log.read({ from: 0 })) {
            assert.equal(rec.id, expected, `${where}: stream ${s}: gap before id ${rec.id}`);
            if (rec.id >= compareFrom) {
              if (!sameBytes(rec.payload, crashPayload(s, rec.id))) assert.fail(`${where}: stream ${s}: record ${rec.id} differs`);
              seen.compared++;
            } else {
              assert.equal(rec.payload.length, crashPayloadSize(s, rec.id), `${where}: stream ${s}: record ${rec.id} length`);
            }
            expected++;
          }
          return expected;
        };
        const count = await withTimeout(readAll(), 20_000, `${where}: stream ${s}: read back`);
        assert.equal(count, log.nextId, `${where}: stream ${s}: read ${count} records, nextId is ${log.nextId}`);
        seen.read += count;
        const id = await withTimeout(log.append(crashPayload(s, log.nextId)), 10_000, `${where}: append`);
        assert.equal(id, count, `${where}: stream ${s}: a new append continues at nextId`);
        floor[s] = id + 1;
      }
      const stats = manager.stats();
      // Every .tmp the kill left is swept by the reopen (and counted among the removed files).
      assert.ok(stats.recovery.removedFiles >= tmpBefore, `${where}: ${tmpBefore} orphans, ${stats.recovery.removedFiles} files removed`);
      recovered.trustedSegments += stats.recovery.trustedSegments;
      recovered.scannedSegments += stats.recovery.scannedSegments;
      recovered.trimmedBytes += stats.recovery.trimmedBytes;
      recovered.removedFiles += stats.recovery.removedFiles;
      await hydrationsDrained(manager);
      seen.framesDecompressed += manager.stats().tier1.framesDecompressed;
    } finally {
      await withTimeout(manager.close(), 20_000, `${where}: close`);
    }

    // After a graceful close: exactly one local form per segment, no temp file, catalog = files.
    for (let s = 0; s < CRASH_STREAMS.length; s++) {
      const check = await checkCatalogAgainstFiles(root, CRASH_STREAMS[s]!, where);
      assert.equal(check.endId, floor[s], `${where}: stream ${s}: catalog ends at ${check.endId}, the log at ${floor[s]}`);
      seen.rawLeft += check.raw;
    }
  }
  assert.ok(seen.framesDecompressed > 0, 'verification read Tier 1 frames');
  t.diagnostic(
    `${ROUNDS} rounds: ${seen.acked} acknowledged appends (all verified), ${seen.read} records re-read dense, ${seen.compared} compared byte for byte; ` +
      `kills left ${seen.tmpOrphans} .tmp orphans (${seen.roundsWithTmp} rounds) and ${seen.bothForms} segments in both forms (${seen.roundsWithBoth} rounds); ` +
      `raw segments after the verification closes ${seen.rawLeft}; frames decompressed while verifying ${seen.framesDecompressed}; ` +
      `final nextIds ${floor.join('/')}; recovery: ${JSON.stringify(recovered)}`,
  );
});
