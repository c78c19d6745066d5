/**
 * src/arena/handle-allocator.ts: the segment table's handles. Dense from 0, freed ones reused
 * before new ones (so the table's resident pages stay below the high-water mark), -1 when full,
 * and a double free is a bug that changes nothing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HandleAllocator } from '../../../src/arena/handle-allocator.js';
import { AofError, ErrorCode } from '../../../src/errors.js';
import { seededRandom } from '../../../src/seeded-random.js';

describe('HandleAllocator', () => {
  test('hands out 0, 1, 2, ... then -1 when every handle is in use', () => {
    const handles = new HandleAllocator(3);
    assert.deepEqual([handles.alloc(), handles.alloc(), handles.alloc()], [0, 1, 2]);
    assert.equal(handles.alloc(), -1);
    assert.deepEqual([handles.size, handles.highWater], [3, 3]);
  });

  test('a freed handle is reused before a new one, last freed first', () => {
    const handles = new HandleAllocator(10);
    for (let i = 0; i < 4; i++) handles.alloc();
    handles.free(1);
    handles.free(3);
    assert.equal(handles.alloc(), 3);
    assert.equal(handles.alloc(), 1);
    assert.equal(handles.alloc(), 4, 'then new ones');
    assert.equal(handles.highWater, 5);
  });

  test('a handle not in use cannot be freed (AOF_ERR_INTERNAL), and nothing changes', () => {
    const handles = new HandleAllocator(4);
    const h = handles.alloc();
    handles.free(h);
    for (const bad of [h, 1, -1, 7, 0.5]) {
      assert.throws(() => handles.free(bad), (err: unknown) => err instanceof AofError && err.code === ErrorCode.INTERNAL);
    }
    assert.equal(handles.size, 0);
    assert.equal(handles.alloc(), h);
    assert.equal(handles.alloc(), 1);
  });

  test('random alloc/free: never two owners of one handle, never past the high-water mark of handles in use', () => {
    const rand = seededRandom(12);
    const handles = new HandleAllocator(64);
    const owned = new Set<number>();
    let peak = 0;
    for (let step = 0; step < 20_000; step++) {
      if (owned.size > 0 && (rand() < 0.5 || owned.size === 64)) {
        const list = [...owned];
        const h = list[Math.floor(rand() * list.length)]!;
        handles.free(h);
        owned.delete(h);
      } else {
        const h = handles.alloc();
        assert.ok(h >= 0 && !owned.has(h), `step ${step}: handle ${h}`);
        owned.add(h);
        peak = Math.max(peak, owned.size);
      }
      assert.equal(handles.size, owned.size);
      assert.equal(handles.highWater, peak, 'new handles only when every lower one is in use');
      for (const h of owned) assert.ok(handles.inUse(h));
    }
  });
});
