/**
 * Regression (issue 10, section 5): `npm test` hung for good after test/chaos/tier1-failpoints
 * failed on a loaded machine. A sibling task failed, the test's `finally` closed the manager under
 * the cold reader (AOF_ERR_CLOSED "reader is closed", unhandled), and the writer polled that dead
 * reader's position for ever: `while (id - cold.position > COLD_LAG) await sleep(1)`.
 *
 * Here a writer paces itself on a follower whose reader is killed (closed from outside, as the
 * manager's close did): its wait must fail at once with a message naming the dead reader, and a
 * task group must surface the first failure, stop its other tasks and leave nothing unhandled.
 * Real engine; the only injection is closing the reader.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofManager } from '../../src/index.js';
import { Deadline, TaskGroup, sleep, waitFor } from '../../support/engine.js';
import { Follower } from '../../support/follower.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';

const LAG = 10;

async function openWith(records: number, t: { after: (fn: () => void) => void }): Promise<{ manager: AofManager; log: Awaited<ReturnType<AofManager['openStream']>>; payloads: Uint8Array[] }> {
  const { root, cleanup } = tempRoot('aof2-deadline-');
  t.after(cleanup);
  const manager = await AofManager.open({ root, tier2: { kind: 'none' } });
  const log = await manager.openStream('s');
  const payloads: Uint8Array[] = [];
  for (let id = 0; id < records; id++) {
    payloads.push(payloadFor(id, 64));
    await log.append(payloads[id]!);
  }
  return { manager, log, payloads };
}

test('a writer pacing itself on a follower whose reader was closed fails at once, naming the dead reader', { timeout: 30_000 }, async (t) => {
  const { manager, log, payloads } = await openWith(100, t);
  try {
    const follower = new Follower('cold reader', log, payloads, { sync: false, writerDone: () => false });
    await follower.within(100, 0, { timeoutMs: 10_000 }); // caught up: it works while alive
    follower.reader.close(); // the injected death (what manager.close() did to it)
    await follower.finished;
    assert.ok(follower.ended instanceof Error);
    assert.match(follower.ended.message, /reader is closed/);
    const started = Date.now();
    // The writer's pacing wait, 100 records past where the dead reader stopped: it can never hold.
    await assert.rejects(follower.within(100 + 10 * LAG, LAG, { timeoutMs: 60_000 }), (err: Error) => {
      assert.match(err.message, /gave up waiting for cold reader to come within 10 records of id 200: cold reader ended with AOF_ERR_CLOSED: reader is closed/);
      return true;
    });
    assert.ok(Date.now() - started < 1000, `failed fast, not after the 60 s deadline (${Date.now() - started} ms)`);
  } finally {
    await manager.close();
  }
});

test('a task group reports the first failure, aborts the writer waiting on the dead reader, and closes nothing under a live task', { timeout: 30_000 }, async (t) => {
  const { manager, log, payloads } = await openWith(50, t);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  try {
    const group = new TaskGroup();
    const follower = new Follower('cold reader', log, payloads, { sync: false, writerDone: () => false, signal: group.signal });
    void group.spawn('cold reader', () => follower.result());
    let writerStopped = false;
    void group.spawn('writer', async (signal) => {
      try {
        // Paces itself on the follower, as the chaos writer does, but on a condition that only a
        // live writer could make true: it must end through the abort, not by spinning.
        for (let id = 50; ; id++) await follower.within(id + 1000, 0, { timeoutMs: 60_000, signal });
      } finally {
        writerStopped = true;
      }
    });
    await sleep(50);
    follower.reader.close(); // the injected death
    const started = Date.now();
    await assert.rejects(group.join(10_000), /reader is closed/, 'join throws the first failure: the dead reader, not a later timeout');
    assert.ok(Date.now() - started < 2000, `the group settled fast (${Date.now() - started} ms)`);
    assert.ok(writerStopped, 'the writer stopped instead of spinning');
    await sleep(10); // an unhandled rejection would be reported on a later tick
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await manager.close();
  }
});

test('waitFor and Deadline fail with what they waited for: on timeout (with progress), on failIf, on abort', async () => {
  await assert.rejects(waitFor(() => false, 'the moon', { timeoutMs: 30, progress: () => 'at 3' }), /timed out after 30 ms waiting for the moon \(at 3\)/);
  await assert.rejects(waitFor(() => false, 'the moon', 20), /timed out after 20 ms waiting for the moon/);
  let dead: string | null = null;
  setTimeout(() => (dead = 'the telescope broke'), 20);
  const started = Date.now();
  await assert.rejects(waitFor(() => false, 'the moon', { timeoutMs: 60_000, failIf: () => dead }), /gave up waiting for the moon: the telescope broke/);
  assert.ok(Date.now() - started < 1000);
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('a sibling failed')), 20);
  await assert.rejects(waitFor(() => false, 'the moon', { timeoutMs: 60_000, signal: ac.signal }), /a sibling failed/);
  const d = new Deadline('a loop', 10);
  d.check();
  await sleep(20);
  assert.throws(() => d.check(), /timed out after 10 ms waiting for a loop/);
  await waitFor(() => true, 'nothing'); // holds at once
});
