/**
 * src/abort.ts: the AbortError aof2's waits reject with (Node's shape: name, code, message, and the
 * signal's reason as `cause`) and `untilAborted`, which must leave no listener on the signal
 * however the wait ends.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { abortError, untilAborted } from '../../src/abort.js';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

test("abortError has Node's AbortError shape, with the signal's reason as cause", () => {
  const reason = new Error('why');
  const err = abortError(AbortSignal.abort(reason));
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'AbortError');
  assert.equal((err as { code?: string }).code, 'ABORT_ERR');
  assert.equal(err.message, 'The operation was aborted');
  assert.equal(err.cause, reason);
  // Without a reason, the signal's default one (a DOMException named AbortError) is the cause.
  const plain = new AbortController();
  plain.abort();
  assert.equal(abortError(plain.signal).cause, plain.signal.reason);
});

test('untilAborted passes the value or the error through and removes its listener', async () => {
  const controller = new AbortController();
  const waiting = untilAborted(Promise.resolve(7), controller.signal);
  assert.equal(listeners(controller.signal), 1);
  assert.equal(await waiting, 7);
  assert.equal(listeners(controller.signal), 0);
  const failure = new Error('inner');
  await assert.rejects(untilAborted(Promise.reject(failure), controller.signal), (err) => err === failure);
  assert.equal(listeners(controller.signal), 0);
});

test('untilAborted rejects when the signal aborts first, and at once when it already has', async () => {
  const controller = new AbortController();
  let release: (value: number) => void = () => undefined;
  const never = new Promise<number>((resolve) => {
    release = resolve;
  });
  const waiting = untilAborted(never, controller.signal);
  controller.abort('stop');
  await assert.rejects(waiting, (err: Error) => err.name === 'AbortError' && err.cause === 'stop');
  assert.equal(listeners(controller.signal), 0);
  release(1); // settling the inner promise later changes nothing
  await assert.rejects(untilAborted(Promise.resolve(1), controller.signal), (err: Error) => err.name === 'AbortError');
  assert.equal(listeners(controller.signal), 0);
});
