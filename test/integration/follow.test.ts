/**
 * The live tail against a real engine (real files, the real flush worker): `log.follow()` and its
 * cursor form `reader.next({ wait: true })`. Records appended before and after a follow started,
 * in order with dense ids; a follow from evicted history (hydration) into the live tail;
 * `durable: true` never ahead of durableId under fsync 'interval' and 'always'; the ways a follow
 * ends (abort, the manager's close, break, return() during a wait) and what each leaves behind
 * (no listener on the signal, no pinned run, no handle keeping the process alive); several
 * followers at once with batch appends.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { setImmediate as turn } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AofError, AofManager, ErrorCode, type AofLog, type AofManagerOptions, type LogRecord } from '../../src/index.js';
import { waitFor } from '../../support/engine.js';
import { appendBatches, recordOf } from '../../support/record-batches.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';

const CHILD = fileURLToPath(new URL('../../support/follow-child.js', import.meta.url));
const SEGMENT = 64 * 1024;

async function open(t: TestContext, extra: Partial<AofManagerOptions> = {}): Promise<{ manager: AofManager; log: AofLog; root: string }> {
  const { root, cleanup } = tempRoot('aof2-follow-');
  const manager = await AofManager.open({ root, tier0: { arenaBytes: 32 * SEGMENT, segmentBytes: SEGMENT }, tier1: { enabled: false }, ...extra });
  t.after(async () => {
    await manager.close().catch(() => undefined);
    cleanup();
  });
  return { manager, log: await manager.openStream('s'), root };
}

function checkRecord(record: LogRecord, id: number): void {
  assert.equal(record.id, id, 'ids dense and in order');
  if (!sameBytes(record.payload, recordOf(id))) assert.fail(`record ${id}: payload differs`);
}

const isAbortError = (reason: unknown) => (err: unknown) => {
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'AbortError');
  assert.equal((err as { code?: string }).code, 'ABORT_ERR');
  assert.equal(err.cause, reason, "cause is the signal's reason");
  return true;
};

test('follow yields the records appended before and after it started, in order, then waits at the tail for new ones', async (t) => {
  const { manager, log } = await open(t);
  for (let id = 0; id < 50; id++) log.appendSync(recordOf(id));
  const got: LogRecord[] = [];
  const done = (async () => {
    for await (const record of log.follow()) {
      got.push(record);
      if (record.id === 499) break;
    }
  })();
  await waitFor(() => got.length === 50, 'the 50 records appended before the follow (from defaults to firstId)');
  // Appended while it waits at the tail: single appends, async appends and batches, each woken by the append.
  for (let id = 50; id < 200; id++) log.appendSync(recordOf(id));
  await waitFor(() => got.length === 200, 'the records appended while following', { progress: () => `${got.length} read` });
  for (let id = 200; id < 300; id++) await log.append(recordOf(id));
  await appendBatches(log, 300, 500, 20);
  await done;
  assert.equal(got.length, 500);
  got.forEach((record, i) => checkRecord(record, i));
  // Copies by default: the caller owns them, they are not views of the arena.
  assert.ok(!(got[0]!.payload.buffer instanceof SharedArrayBuffer), 'a payload is a copy');
  // The break closed its reader: nothing is pinned any more.
  assert.equal(manager.stats().arena.pinned, 0, 'break released the reader');
});

test('follow({ copy: false }) yields arena views, valid until its next step; from picks the start', async (t) => {
  const { log } = await open(t);
  for (let id = 0; id < 20; id++) log.appendSync(recordOf(id));
  const follow = log.follow({ from: 5, copy: false });
  for (let id = 5; id < 20; id++) {
    const step = await follow.next();
    assert.equal(step.done, false);
    const record = step.value as LogRecord;
    checkRecord(record, id);
    assert.ok(record.payload.buffer instanceof SharedArrayBuffer, 'a view into the arena');
  }
  const waiting = follow.next();
  log.appendSync(recordOf(20));
  checkRecord((await waiting).value as LogRecord, 20);
  await follow.return!();
  assert.deepEqual(await follow.next(), { done: true, value: undefined }, 'ended: every later step is done');
});

test('follow from evicted history hydrates, then follows the live tail', async (t) => {
  // A 4-segment arena under 20 segments of data: the start of the stream is read back from disk.
  const { manager, log } = await open(t, { tier0: { arenaBytes: 4 * SEGMENT, segmentBytes: SEGMENT }, fsync: 'never' });
  const old = 1200; // ~900 KB
  for (let id = 0; id < old; id++) await log.append(recordOf(id));
  await log.flush();
  const hydrationBefore = manager.stats().wouldBlock.hydration;
  let next = 0;
  const done = (async () => {
    for await (const record of log.follow({ from: 0 })) {
      checkRecord(record, next++);
      if (next === old + 300) return;
    }
  })();
  await waitFor(() => next >= old, 'the old records, hydrated', { timeoutMs: 30_000, progress: () => `${next} read` });
  assert.ok(manager.stats().wouldBlock.hydration > hydrationBefore, 'the follow waited for loads');
  for (let id = old; id < old + 300; id++) await log.append(recordOf(id));
  await done;
  assert.equal(next, old + 300);
});

for (const fsync of ['interval', 'always'] as const) {
  test(`follow({ durable: true }) never yields a record above durableId (fsync '${fsync}')`, async (t) => {
    const { log } = await open(t, { fsync, fsyncIntervalMs: 20 });
    const total = 600;
    let next = 0;
    const done = (async () => {
      for await (const record of log.follow({ durable: true })) {
        // Checked when it is yielded: durableId then covers it.
        assert.ok(record.id <= log.durableId, `record ${record.id} yielded while durableId was ${log.durableId}`);
        checkRecord(record, next++);
        if (next === total) return;
      }
    })();
    // A writer that does not wait for durability: under 'always' without awaiting each append.
    const appends: Promise<number>[] = [];
    for (let id = 0; id < total; id++) {
      if (fsync === 'always') appends.push(log.append(recordOf(id)));
      else log.appendSync(recordOf(id));
      if (id % 50 === 49) await turn();
    }
    await Promise.all(appends);
    await done;
    assert.equal(next, total);
  });
}

test("reader.next({ durable: true }) returns null for a record not durable yet (fsync 'never'); with wait it waits for flush()", async (t) => {
  const { log } = await open(t, { fsync: 'never' });
  log.appendSync(recordOf(0));
  await log.flush();
  log.appendSync(recordOf(1));
  const reader = log.openReader();
  checkRecord((await reader.next({ durable: true }))!, 0);
  assert.equal(await reader.next({ durable: true }), null, 'record 1 is not durable: as if not there yet');
  assert.equal(reader.position, 1, 'the reader did not move');
  const waiting = reader.next({ durable: true, wait: true });
  await log.flush();
  checkRecord((await waiting)!, 1);
  reader.close();
});

test('reader.next({ wait: true }) waits at the tail for the next append; next() without options still returns null', async (t) => {
  const { log } = await open(t);
  const reader = log.openReader();
  assert.equal(await reader.next(), null);
  const waiting = reader.next({ wait: true });
  log.appendBatchSync([recordOf(0), recordOf(1)]);
  checkRecord((await waiting)!, 0);
  checkRecord((await reader.next({ wait: true }))!, 1); // there already: no wait
  // close() ends a pending wait with AOF_ERR_CLOSED.
  const pending = reader.next({ wait: true });
  reader.close();
  await assert.rejects(pending, (err: unknown) => err instanceof AofError && err.code === ErrorCode.CLOSED);
});

test('an aborted follow rejects with AbortError, and leaves no listener, no pinned run, no reader', async (t) => {
  const { manager, log } = await open(t);
  for (let id = 0; id < 5; id++) log.appendSync(recordOf(id));
  const controller = new AbortController();
  const follow = log.follow({ signal: controller.signal });
  assert.equal(getEventListeners(controller.signal, 'abort').length, 1, 'one listener for the whole follow');
  for (let id = 0; id < 5; id++) checkRecord((await follow.next()).value as LogRecord, id);
  const pending = follow.next(); // at the tail
  const reason = new Error('shutting down');
  controller.abort(reason);
  await assert.rejects(pending, isAbortError(reason));
  assert.deepEqual(await follow.next(), { done: true, value: undefined }, 'after the abort: done');
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0, 'no listener left on the signal');
  assert.equal(manager.stats().arena.pinned, 0, 'its reader released the run it pinned');

  // Aborted while the consumer was busy (no step pending): the next step rejects.
  const busy = new AbortController();
  const second = log.follow({ from: 0, signal: busy.signal });
  checkRecord((await second.next()).value as LogRecord, 0);
  busy.abort();
  await assert.rejects(second.next(), isAbortError(busy.signal.reason));
  assert.equal(getEventListeners(busy.signal, 'abort').length, 0);

  // An already aborted signal: refused synchronously, nothing opened.
  assert.throws(() => log.follow({ signal: controller.signal }), isAbortError(reason));
  // A follow that ends otherwise (break) removes its listener too.
  const unused = new AbortController();
  for await (const record of log.follow({ from: 0, signal: unused.signal })) if (record.id === 2) break;
  assert.equal(getEventListeners(unused.signal, 'abort').length, 0);
  assert.equal(manager.stats().arena.pinned, 0);
});

test('an aborted follow leaves nothing that keeps the process alive, nor does a follow waiting at a quiet tail', async (t) => {
  const { root, cleanup } = tempRoot('aof2-follow-child-');
  t.after(cleanup);
  // A hang is what this catches: a child still running after 60 s is killed, and the test fails.
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [CHILD, root], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`the child did not exit by itself: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
  assert.match(out, /read 10 then AbortError, listeners left 0/);
  assert.match(out, /returning\nexit 0/);
  assert.doesNotMatch(out, /idle follow/);
});

test('close() during a wait ends the iteration normally, after every record it had reached', async (t) => {
  const { manager, log } = await open(t, { fsync: 'interval', fsyncIntervalMs: 60_000 });
  for (let id = 0; id < 100; id++) log.appendSync(recordOf(id));
  const live: LogRecord[] = [];
  const durable: LogRecord[] = [];
  const liveDone = (async () => {
    for await (const record of log.follow()) live.push(record);
  })();
  // Waits for durability the whole time (the interval is a minute): ended by the close as well.
  const durableDone = (async () => {
    for await (const record of log.follow({ durable: true, from: log.nextId })) durable.push(record);
  })();
  await waitFor(() => live.length === 100, 'the follow to reach the tail');
  await manager.close();
  await liveDone; // completes: no AOF_ERR_CLOSED
  await durableDone;
  assert.equal(live.length, 100);
  live.forEach((record, i) => checkRecord(record, i));
  assert.equal(durable.length, 0);
  // After the close, a new follow is refused.
  assert.throws(() => log.follow(), (err: unknown) => err instanceof AofError && err.code === ErrorCode.CLOSED);
});

test('return() during a wait releases the follow at once: the pending step completes', async (t) => {
  const { manager, log } = await open(t);
  log.appendSync(recordOf(0));
  const follow = log.follow();
  checkRecord((await follow.next()).value as LogRecord, 0);
  const pending = follow.next();
  assert.deepEqual(await follow.return!(), { done: true, value: undefined });
  assert.deepEqual(await pending, { done: true, value: undefined });
  assert.equal(manager.stats().arena.pinned, 0);
  // Nothing waits any more: later appends go on as before.
  log.appendSync(recordOf(1));
});

test('several followers at once, views, copies and durable, with a writer appending batches', async (t) => {
  const { log } = await open(t, { fsync: 'interval', fsyncIntervalMs: 10 });
  const total = 3000;
  const counts = [0, 0, 0];
  const followers = [log.follow({ copy: false }), log.follow(), log.follow({ durable: true })].map(async (follow, i) => {
    for await (const record of follow) {
      checkRecord(record, counts[i]!);
      if (i === 2) assert.ok(record.id <= log.durableId);
      if (++counts[i]! === total) return;
    }
  });
  await appendBatches(log, 0, total, 25);
  await Promise.all(followers);
  assert.deepEqual(counts, [total, total, total]);
});

test('follow options are checked synchronously, with coded errors', async (t) => {
  const { log } = await open(t);
  log.appendSync(recordOf(0));
  const code = (c: string) => (err: unknown) => err instanceof AofError && err.code === c;
  assert.throws(() => log.follow({ form: 0 } as never), code(ErrorCode.UNKNOWN_OPTION));
  assert.throws(() => log.follow({ from: 2 }), code(ErrorCode.OUT_OF_RANGE));
  assert.throws(() => log.follow({ from: -1 }), code(ErrorCode.INVALID_ARGUMENT));
  assert.throws(() => log.follow({ durable: 'yes' as never }), code(ErrorCode.INVALID_ARGUMENT));
  assert.throws(() => log.follow({ copy: 1 as never }), code(ErrorCode.INVALID_ARGUMENT));
  assert.throws(() => log.follow({ signal: {} as never }), code(ErrorCode.INVALID_ARGUMENT));
  assert.throws(() => log.follow(null as never), code(ErrorCode.INVALID_ARGUMENT));
  // reader.next options reject (it is async) with the same codes.
  const reader = log.openReader();
  await assert.rejects(reader.next({ wiat: true } as never), code(ErrorCode.UNKNOWN_OPTION));
  await assert.rejects(reader.next({ wait: 1 } as never), code(ErrorCode.INVALID_ARGUMENT));
  await assert.rejects(reader.next({ signal: 'stop' } as never), code(ErrorCode.INVALID_ARGUMENT));
  assert.equal(reader.position, 0);
  reader.close();
});
