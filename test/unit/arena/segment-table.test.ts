/**
 * src/arena/segment-table.ts over a real SharedArrayBuffer, in this thread (the flush worker's
 * stores are made by hand): allocation resets an entry's words, the two counts the main thread
 * waits on (seals pending, segments written but not fsynced) follow the states the worker stores,
 * and the segments being written are counted.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SegmentTable } from '../../../src/arena/segment-table.js';
import { SegState, SLOT_TABLE_WORD, T_DURABLE_COUNT, T_DURABLE_LEN, T_FLUSHED_LEN, T_STATE, segWord } from '../../../src/arena/layout.js';

function table(capacity: number): { ctrl: Int32Array; segments: SegmentTable } {
  const ctrl = new Int32Array(new SharedArrayBuffer(SLOT_TABLE_WORD * 4));
  return { ctrl, segments: new SegmentTable(ctrl, capacity) };
}

describe('SegmentTable', () => {
  test('alloc stores OPEN and zero lengths over what a previous segment left; -1 when full', () => {
    const { ctrl, segments } = table(2);
    const h = segments.alloc();
    ctrl[segWord(h, T_FLUSHED_LEN)] = 800;
    ctrl[segWord(h, T_DURABLE_LEN)] = 800;
    ctrl[segWord(h, T_DURABLE_COUNT)] = 9;
    ctrl[segWord(h, T_STATE)] = SegState.SEALED; // the worker's last store
    segments.free(h);
    assert.equal(segments.state(h), SegState.UNUSED);
    assert.equal(segments.alloc(), h);
    assert.deepEqual([segments.state(h), segments.flushedLen(h), segments.durableCount(h)], [SegState.OPEN, 0, 0]);
    assert.equal(ctrl[segWord(h, T_DURABLE_LEN)], 0);
    assert.equal(segments.alloc(), 1);
    assert.equal(segments.alloc(), -1);
    assert.equal(segments.size, 2);
  });

  test('sealsPending counts the seals asked for until the worker stores SEALED; -1 after FAILED', () => {
    const { ctrl, segments } = table(8);
    const [a, b, c] = [segments.alloc(), segments.alloc(), segments.alloc()];
    assert.equal(segments.sealsPending(), 0);
    segments.markSealing(a);
    segments.markSealing(b);
    assert.equal(segments.sealsPending(), 2);
    Atomics.store(ctrl, segWord(a, T_STATE), SegState.SEALED);
    assert.equal(segments.sealsPending(), 1);
    segments.free(a);
    assert.equal(segments.sealsPending(), 1);
    Atomics.store(ctrl, segWord(b, T_STATE), SegState.FAILED);
    assert.equal(segments.sealsPending(), -1);
    assert.equal(segments.state(c), SegState.OPEN, 'untouched');
  });

  test('writing counts the entries in use whose seal was not asked for (the window-size rule divides the budget by it)', () => {
    const { ctrl, segments } = table(8);
    const [a, b] = [segments.alloc(), segments.alloc(), segments.alloc()];
    assert.equal(segments.writing, 3);
    segments.markSealing(a);
    assert.equal(segments.writing, 2, 'a seal asked for: no longer writing, while its entry is still in use');
    Atomics.store(ctrl, segWord(a, T_STATE), SegState.SEALED);
    segments.free(a);
    assert.equal(segments.writing, 2);
    segments.free(b); // freed without a seal (never in production): gone from both counts
    assert.equal(segments.writing, 1);
    assert.equal(segments.size, 1);
  });

  test('unsynced counts open segments written past their durable length, parked or not; -1 after FAILED', () => {
    const { ctrl, segments } = table(8);
    const [a, b] = [segments.alloc(), segments.alloc()];
    assert.equal(segments.unsynced(), 0);
    Atomics.store(ctrl, segWord(a, T_FLUSHED_LEN), 64);
    Atomics.store(ctrl, segWord(b, T_FLUSHED_LEN), 32);
    assert.equal(segments.unsynced(), 2);
    Atomics.store(ctrl, segWord(a, T_DURABLE_LEN), 64);
    assert.equal(segments.unsynced(), 1);
    Atomics.store(ctrl, segWord(b, T_STATE), SegState.SEALED); // sealing fsyncs: a sealed entry is never unsynced
    assert.equal(segments.unsynced(), 0);
    Atomics.store(ctrl, segWord(a, T_STATE), SegState.FAILED);
    assert.equal(segments.unsynced(), -1);
  });
});
