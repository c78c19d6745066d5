/**
 * The kill -9 rule of read-only opens (issue 15): a read-only manager following a writer process
 * that is killed with SIGKILL mid-segment never yields a record the writer's recovery later trims.
 *
 * The rule it relies on (docs/read-path.md, "The kill -9 rule"): a read-only manager shows a
 * segment's records only as far as its file holds whole, CRC-valid frames, in id order, each
 * segment only once the one before holds every record up to its base id. A process kill keeps the
 * page cache, the flush worker writes a segment's frames in order and never rewrites them, so each
 * of those frames is still there when recovery scans the file, which trims only what follows the
 * first invalid frame. So every yielded record survives, durable or not: under `fsync: 'interval'`
 * with a long interval most of them are not durable when yielded, which this test counts.
 *
 * Each round: a writer process appends as fast as it can (support/read-only-writer.ts `run`),
 * small segments so kills land mid-segment and around rollovers; one read-only manager in this
 * process follows the stream from the first round on, across every kill and restart, keeping a
 * copy of every record it yields; the writer is SIGKILLed at a seeded random moment; the follower
 * reads on to what the files hold; then this process opens the root as the writer (recovery) and
 * checks that every record yielded so far is there with the same bytes, before the next round's
 * writer appends anything (a trimmed id would otherwise be given out again).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { AofManager, type AofLog, type LogRecord } from '../../src/index.js';
import { seededRandom } from '../../src/seeded-random.js';
import { WriterProcess, followPayload, type WriterOptions } from '../../support/read-only-workload.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';

const ROUNDS = 4;
const SEED = 0x0f01_10e5;
const SIZE = 100;
const STREAM = 'k';
/** 16 KiB segments (about 135 records): a kill lands mid-segment, rollovers happen all the time. */
const TIER0 = { arenaBytes: 1024 * 1024, segmentBytes: 16 * 1024, readChunkBytes: 4096 };
/** Durable only at seals (and a close): what the follower yields is mostly not durable yet. */
const WRITER: WriterOptions = { tier0: TIER0, tier1: { frameBytes: 4096 }, fsync: 'interval', fsyncIntervalMs: 60_000 };
const MIN_KILL_MS = 100;
const MAX_KILL_MS = 500;
/** Deadline for the follower to read what the files hold after a kill (a hang guard, not a timing check). */
const CATCH_UP_DEADLINE_MS = 60_000;

test(`kill -9 under a read-only follower: every record it yielded survives recovery, durable or not (${ROUNDS} rounds)`, async (t) => {
  const { root, cleanup } = tempRoot('aof2-ro-kill-');
  t.after(cleanup);
  const rand = seededRandom(SEED);
  const yielded = new Map<number, Uint8Array>();
  let next = 0; // id the follower yields next
  let notDurable = 0;
  let follower: AofManager | null = null;
  let following: Promise<void> | null = null;
  let failure: unknown = null;
  let verified = 0;

  try {
    for (let round = 0; round < ROUNDS; round++) {
      const writer = await WriterProcess.start(root, WRITER);
      assert.equal(await writer.command(`run ${STREAM} ${SIZE}`), 'running');
      if (follower === null) {
        follower = await AofManager.open({ root, tier0: TIER0, readOnly: { refreshMs: 20 } });
        const log = await follower.openStream(STREAM);
        const stream = log.createReadStream({ from: 0, follow: true });
        following = (async () => {
          for await (const item of stream) {
            const record = item as LogRecord;
            if (record.id !== next) throw new Error(`the follower yielded id ${record.id}, expected ${next}`);
            // Whatever the writer does, a yielded record is exactly what it appended.
            if (!sameBytes(record.payload, followPayload(STREAM, record.id, SIZE))) throw new Error(`record ${record.id} does not hold what the writer appended`);
            if (record.id > log.durableId) notDurable++;
            yielded.set(record.id, record.payload);
            next++;
          }
        })().catch((err: unknown) => {
          failure = err;
        });
      }
      const killAfter = MIN_KILL_MS + Math.floor(rand() * (MAX_KILL_MS - MIN_KILL_MS));
      await sleep(killAfter);
      await writer.kill();
      const where = `round ${round} (killed after ${killAfter} ms)`;

      // The follower reads on to what the files hold (torn or unwritten frames are not shown).
      await follower.refresh();
      const followed: AofLog = await follower.openStream(STREAM);
      const deadline = Date.now() + CATCH_UP_DEADLINE_MS;
      while (next < followed.nextId && failure === null && Date.now() < deadline) await sleep(10);
      assert.equal(failure, null, `${where}: ${String(failure)}`);
      assert.equal(next, followed.nextId, `${where}: the follower reached the tail the files hold`);

      // The writer's recovery, before anyone appends again.
      const recovered = await AofManager.open({ root, tier0: TIER0, tier1: { frameBytes: 4096 } });
      try {
        const wlog = await recovered.openStream(STREAM);
        assert.ok(wlog.nextId >= next, `${where}: recovery kept ${wlog.nextId} records, the follower had yielded ${next}`);
        for await (const record of wlog.read({ from: verified })) {
          if (record.id >= next) break;
          assert.ok(sameBytes(record.payload, yielded.get(record.id)!), `${where}: record ${record.id} differs after recovery`);
          verified++;
        }
        assert.equal(verified, next, `${where}: every yielded record was compared`);
      } finally {
        await recovered.close();
      }
      t.diagnostic(`${where}: ${next} records yielded so far, ${notDurable} of them not durable when yielded`);
    }
  } finally {
    await follower?.close();
    await following;
  }
  assert.equal(failure, null, String(failure));
  assert.ok(next > 0, 'the follower yielded records');
  assert.ok(notDurable > 0, 'some yielded records were not durable yet: the rule, not durability, kept them');
});
