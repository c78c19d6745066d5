/**
 * src/coordinator/coordinator.ts driven through a real control word, in this thread: the flush
 * worker's side (bump PROGRESS_EPOCH, notify) is done here with Atomics on the same Int32Array.
 * No sleeps: a wake-up is awaited as a promise, "not yet" is checked after a full turn of the event
 * loop (setImmediate), and the safety-net timer is driven by node:test's mock clock.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { GLOBAL_WORDS, G_PROGRESS_EPOCH } from '../../../src/arena/layout.js';
import { Coordinator } from '../../../src/coordinator/coordinator.js';

/** A fresh control region: the coordinator reads only G_PROGRESS_EPOCH. */
function control(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(GLOBAL_WORDS * 4));
}

/** What the flush worker does after a pass that moved something. */
function bumpEpoch(ctrl: Int32Array): void {
  Atomics.add(ctrl, G_PROGRESS_EPOCH, 1);
  Atomics.notify(ctrl, G_PROGRESS_EPOCH);
}

/** Tracks whether a promise has settled, without awaiting it. */
function watch(p: Promise<void>): { readonly settled: boolean } {
  const state = { settled: false };
  void p.then(() => (state.settled = true));
  return state;
}

/** Ref'd timers alive in this process (the safety net is one while anyone waits). */
function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('Coordinator', () => {
  test('nextChange resolves when the worker bumps the epoch, not before; waiters share one promise', async (t) => {
    const ctrl = control();
    const c = new Coordinator(ctrl);
    t.after(() => c.close());
    const a = c.nextChange();
    const b = c.nextChange();
    assert.equal(a, b, 'one shared promise per change');
    const seen = watch(a);
    await turn();
    assert.equal(seen.settled, false, 'nothing changed yet');
    bumpEpoch(ctrl);
    await a;
    const next = c.nextChange();
    assert.notEqual(next, a, 'after a change, the next wait is a new promise');
    const nextSeen = watch(next);
    await turn();
    assert.equal(nextSeen.settled, false, 'the old bump does not wake the new wait');
    bumpEpoch(ctrl);
    await next;
  });

  test('kick wakes every waiter (a main-thread change); a kick with nobody waiting is not remembered', async (t) => {
    const ctrl = control();
    const c = new Coordinator(ctrl);
    t.after(() => c.close());
    c.kick(); // no waiter: a no-op
    const p = c.nextChange();
    const seen = watch(p);
    await turn();
    assert.equal(seen.settled, false, 'the earlier kick did not resolve the new wait');
    c.kick();
    await p;
  });

  test('kicks do not pile up watchers: one Atomics.waitAsync per epoch value', async (t) => {
    const ctrl = control();
    const c = new Coordinator(ctrl);
    t.after(() => c.close());
    const waitAsync = t.mock.method(Atomics, 'waitAsync');
    for (let i = 0; i < 5; i++) {
      const p = c.nextChange();
      c.kick();
      await p;
    }
    assert.equal(waitAsync.mock.callCount(), 1, 'the first watcher is still outstanding on the same epoch');
    const p = c.nextChange();
    bumpEpoch(ctrl);
    await p;
    void c.nextChange(); // a new epoch value: a new watcher (woken by close)
    assert.equal(waitAsync.mock.callCount(), 2);
  });

  test('the safety net: with no notify (a lost wake-up), a wait still ends after 100 ms, not before', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const ctrl = control();
    const c = new Coordinator(ctrl);
    t.after(() => c.close());
    const p = c.nextChange();
    const seen = watch(p);
    Atomics.add(ctrl, G_PROGRESS_EPOCH, 1); // published, but the notify is lost
    t.mock.timers.tick(99);
    await turn();
    assert.equal(seen.settled, false);
    t.mock.timers.tick(1);
    await p;
  });

  test('a ref\'d timer is held only while someone waits; close releases it and wakes the waiters', async () => {
    const ctrl = control();
    const c = new Coordinator(ctrl);
    const before = timers();
    const p = c.nextChange();
    assert.equal(timers(), before + 1, 'a pending waitAsync does not keep Node alive: the timer does');
    bumpEpoch(ctrl);
    await p;
    assert.equal(timers(), before, 'woken by the epoch: timer cleared');
    const q = c.nextChange();
    assert.equal(timers(), before + 1);
    c.close();
    await q;
    assert.equal(timers(), before, 'closed: timer released');
    c.close(); // idempotent
    assert.equal(timers(), before);
  });
});
