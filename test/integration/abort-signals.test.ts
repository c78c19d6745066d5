/**
 * AbortSignal on the waits other than follow: `append(payload, { signal })`,
 * `appendBatch(payloads, { signal })`, `flush({ signal })` and `reader.next({ signal })`, against a
 * real engine. What abort means for each: an append still queued for room leaves the queue with
 * nothing appended (the appends queued after it take the ids, which stay dense); an append
 * already admitted stays appended, abort only ends its wait for durability under 'always'; a
 * flush's fsync still happens; a reader does not move. Every call rejects with Node's AbortError
 * (`cause`: the signal's reason) and leaves no listener on the signal.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test, type TestContext } from 'node:test';
import { AofError, AofManager, ErrorCode, WouldBlockError, type AofLog, type AofManagerOptions } from '../../src/index.js';
import { checkRecord, Deadline } from '../../support/engine.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';

const SEGMENT = 64 * 1024;
const SIZE = 1000;

async function open(t: TestContext, extra: Partial<AofManagerOptions> = {}): Promise<{ manager: AofManager; log: AofLog }> {
  const { root, cleanup } = tempRoot('aof2-abort-');
  const manager = await AofManager.open({ root, tier0: { arenaBytes: 4 * SEGMENT, segmentBytes: SEGMENT }, tier1: { enabled: false }, ...extra });
  t.after(async () => {
    await manager.close().catch(() => undefined);
    cleanup();
  });
  return { manager, log: await manager.openStream('s') };
}

const recordOf = (id: number): Uint8Array => payloadFor(id, SIZE);
/** A payload marked with `tag`, to find which call's record got which id. */
const tagged = (tag: number): Uint8Array => payloadFor(1_000_000 + tag, SIZE);

const isAbortError = (reason: unknown) => (err: unknown) => {
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'AbortError');
  assert.equal((err as { code?: string }).code, 'ABORT_ERR');
  assert.equal(err.cause, reason, "cause is the signal's reason");
  return true;
};

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

function appendWaits(manager: AofManager): number {
  const w = manager.stats().wouldBlock;
  return w.admission + w.rollover + w.compression + w.tier2;
}

/**
 * Fills the arena with appendSync until it pushes back, then calls `append(first)`, until that call
 * had to queue (the flush worker may free room between the two; then try again). From then on
 * every async append queues behind it until the flush worker frees a window. Resolves with its
 * promise, boxed (an async function would otherwise adopt it, and wait for the admission).
 */
async function queueBehindFullArena(manager: AofManager, log: AofLog, first: Uint8Array): Promise<{ queued: Promise<number> }> {
  const deadline = new Deadline('an append() that has to queue', 30_000);
  for (;;) {
    deadline.check();
    try {
      for (;;) log.appendSync(recordOf(log.nextId));
    } catch (err) {
      if (!(err instanceof WouldBlockError)) throw err;
    }
    const before = appendWaits(manager);
    const queued = log.append(first);
    if (appendWaits(manager) > before) return { queued }; // counted as a wait: it is in the queue
    await queued; // admitted at once after all: the arena had room again
  }
}

test('an append aborted while queued leaves the queue: nothing appended, the appends behind it take the ids', async (t) => {
  // The flusher lingers 100 ms before writing: the arena stays full long enough for appends to queue.
  const { manager, log } = await open(t, { fsync: 'never', tier0: { arenaBytes: 4 * SEGMENT, segmentBytes: SEGMENT, writeDelayMs: 100 } });
  const { queued: head } = await queueBehindFullArena(manager, log, tagged(1));
  const controller = new AbortController();
  const aborted = log.append(tagged(2), { signal: controller.signal });
  const batchController = new AbortController();
  const abortedBatch = log.appendBatch([tagged(3), tagged(4)], { signal: batchController.signal });
  const keeps = new AbortController(); // never aborted: its listener must go once admitted
  const after = log.append(tagged(5), { signal: keeps.signal });
  const afterBatch = log.appendBatch([tagged(6), tagged(7)]);
  assert.equal(listeners(controller.signal), 1, 'a queued append listens to its signal');
  const reason = new Error('client went away');
  controller.abort(reason);
  batchController.abort();
  await assert.rejects(aborted, isAbortError(reason));
  await assert.rejects(abortedBatch, isAbortError(batchController.signal.reason));
  const first = await head;
  assert.equal(await after, first + 1, 'the next queued append took the aborted ones ids');
  assert.equal(await afterBatch, first + 2);
  assert.equal(log.nextId, first + 4, 'ids stay dense: nothing of the aborted calls was appended');
  for (const signal of [controller.signal, batchController.signal, keeps.signal]) assert.equal(listeners(signal), 0);
  const reader = log.openReader({ from: first });
  for (const [offset, tag] of [1, 5, 6, 7].entries()) checkRecord(await reader.next(), first + offset, tagged(tag));
  assert.equal(await reader.next(), null);
  reader.close();
});

test('aborting the only queued append ends the queue: later appends are not held behind it', async (t) => {
  const { manager, log } = await open(t, { fsync: 'never', tier0: { arenaBytes: 4 * SEGMENT, segmentBytes: SEGMENT, writeDelayMs: 100 } });
  // queueBehindFullArena's own append is the head; abort a lone queued append instead.
  const deadline = new Deadline('a lone append() that has to queue', 30_000);
  for (;;) {
    deadline.check();
    try {
      for (;;) log.appendSync(recordOf(log.nextId));
    } catch (err) {
      if (!(err instanceof WouldBlockError)) throw err;
    }
    const controller = new AbortController();
    const before = appendWaits(manager);
    const nextId = log.nextId;
    const lone = log.append(tagged(1), { signal: controller.signal });
    if (appendWaits(manager) === before) {
      await lone;
      continue;
    }
    controller.abort();
    await assert.rejects(lone, isAbortError(controller.signal.reason));
    assert.equal(log.nextId, nextId, 'nothing appended');
    // The queue is empty: an append now is admitted as soon as there is room, with the next id.
    assert.equal(await log.append(tagged(2)), nextId);
    return;
  }
});

test("an append admitted under fsync 'always' stays appended when its wait for durability is aborted", async (t) => {
  const { log } = await open(t, { fsync: 'always' });
  const controller = new AbortController();
  const pending = log.append(tagged(1), { signal: controller.signal });
  assert.equal(log.nextId, 1, 'admitted at once: the record is in the log');
  controller.abort('stop waiting');
  await assert.rejects(pending, isAbortError('stop waiting'));
  assert.equal(listeners(controller.signal), 0);
  const batch = new AbortController();
  const pendingBatch = log.appendBatch([tagged(2), tagged(3)], { signal: batch.signal });
  batch.abort();
  await assert.rejects(pendingBatch, isAbortError(batch.signal.reason));
  assert.equal(log.nextId, 3);
  await log.flush();
  assert.equal(log.durableId, 2, 'and it became durable all the same');
  const reader = log.openReader();
  for (let id = 0; id < 3; id++) checkRecord(await reader.next(), id, tagged(id + 1));
  reader.close();
  // Not aborted: resolves once durable, as without a signal, and its listener goes.
  const kept = new AbortController();
  assert.equal(await log.append(tagged(4), { signal: kept.signal }), 3);
  assert.ok(log.durableId >= 3);
  assert.equal(listeners(kept.signal), 0);
});

test('flush({ signal }): abort rejects the wait, the fsync still happens', async (t) => {
  const { log } = await open(t, { fsync: 'interval', fsyncIntervalMs: 60_000 });
  for (let id = 0; id < 10; id++) log.appendSync(recordOf(id));
  const controller = new AbortController();
  const pending = log.flush({ signal: controller.signal });
  controller.abort();
  await assert.rejects(pending, isAbortError(controller.signal.reason));
  assert.equal(listeners(controller.signal), 0);
  await log.flush(); // the one asked for above, or a new one: either way everything is durable now
  assert.equal(log.durableId, 9);
  const kept = new AbortController();
  log.appendSync(recordOf(10));
  await log.flush({ signal: kept.signal });
  assert.equal(log.durableId, 10);
  assert.equal(listeners(kept.signal), 0);
});

test('reader.next({ signal }): abort ends a wait at the tail or for a load; the reader does not move', async (t) => {
  const { manager, log } = await open(t, { fsync: 'never' });
  // Enough records that the first ones are evicted from the 4-segment arena: reading them loads.
  const total = 1000;
  for (let id = 0; id < total; id++) await log.append(recordOf(id));
  await log.flush();
  const reader = log.openReader({ from: 0 });
  const controller = new AbortController();
  const hydrationBefore = manager.stats().wouldBlock.hydration;
  const loading = reader.next({ signal: controller.signal });
  const loads = manager.stats().wouldBlock.hydration > hydrationBefore;
  controller.abort();
  if (loads) await assert.rejects(loading, isAbortError(controller.signal.reason));
  else checkRecord(await loading, 0, recordOf(0)); // resident after all: returned before the abort
  assert.equal(listeners(controller.signal), 0);
  checkRecord(await reader.next(), loads ? 0 : 1, recordOf(loads ? 0 : 1));

  const tail = log.openReader({ from: total });
  const atTail = new AbortController();
  const waiting = tail.next({ wait: true, signal: atTail.signal });
  atTail.abort();
  await assert.rejects(waiting, isAbortError(atTail.signal.reason));
  assert.equal(listeners(atTail.signal), 0);
  assert.equal(tail.position, total);
  log.appendSync(recordOf(total));
  checkRecord(await tail.next({ wait: true }), total, recordOf(total));
  reader.close();
  tail.close();
});

test('an already aborted signal rejects at once, with nothing appended; bad options are coded errors', async (t) => {
  const { log } = await open(t);
  const reason = new Error('before the call');
  const aborted = AbortSignal.abort(reason);
  await assert.rejects(log.append(recordOf(0), { signal: aborted }), isAbortError(reason));
  await assert.rejects(log.appendBatch([recordOf(0)], { signal: aborted }), isAbortError(reason));
  await assert.rejects(log.flush({ signal: aborted }), isAbortError(reason));
  const reader = log.openReader();
  await assert.rejects(reader.next({ signal: aborted }), isAbortError(reason));
  await assert.rejects(reader.next({ wait: true, signal: aborted }), isAbortError(reason));
  assert.equal(log.nextId, 0, 'nothing appended');
  assert.equal(listeners(aborted), 0);

  const code = (c: string) => (err: unknown) => err instanceof AofError && err.code === c;
  // Rejected, not thrown: these calls return promises.
  const bad = [
    [() => log.append(recordOf(0), { sigal: aborted } as never), ErrorCode.UNKNOWN_OPTION],
    [() => log.append(recordOf(0), { signal: true } as never), ErrorCode.INVALID_ARGUMENT],
    [() => log.append(recordOf(0), null as never), ErrorCode.INVALID_ARGUMENT],
    [() => log.appendBatch([recordOf(0)], { timeout: 1 } as never), ErrorCode.UNKNOWN_OPTION],
    [() => log.flush({ signal: {} } as never), ErrorCode.INVALID_ARGUMENT],
    [() => log.flush({ sync: true } as never), ErrorCode.UNKNOWN_OPTION],
  ] as const;
  for (const [call, expected] of bad) await assert.rejects(call(), code(expected));
  assert.equal(log.nextId, 0);
  // A signal that never aborts changes nothing, and keeps no listener.
  const never = new AbortController().signal;
  assert.equal(await log.append(recordOf(0), { signal: never }), 0);
  assert.equal(await log.appendBatch([recordOf(1), recordOf(2)], { signal: never }), 1);
  checkRecord(await reader.next({ signal: never }), 0, recordOf(0));
  assert.equal(listeners(never), 0);
  reader.close();
});
