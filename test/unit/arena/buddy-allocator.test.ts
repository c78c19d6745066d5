/**
 * src/arena/buddy-allocator.ts: runs of 2^order pages, aligned, never overlapping, merged back on
 * free; -1 when exhausted; a double free is a bug that changes nothing. Property style: seeded
 * random alloc/free sequences checked against a page map.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BuddyAllocator } from '../../../src/arena/buddy-allocator.js';
import { AofError, ErrorCode } from '../../../src/errors.js';
import { seededRandom } from '../../../src/seeded-random.js';

describe('BuddyAllocator', () => {
  test('splits a block, hands out aligned runs, and merges them back into one block', () => {
    const buddy = new BuddyAllocator(8, 3);
    assert.equal(buddy.freePages, 8);
    const a = buddy.alloc(0);
    const b = buddy.alloc(1);
    const c = buddy.alloc(0);
    assert.deepEqual([a, b, c], [0, 2, 1]);
    assert.equal(buddy.freePages, 4);
    assert.equal(buddy.alloc(3), -1, 'no block of 8 while pages are in use');
    for (const page of [a, b, c]) buddy.free(page);
    assert.equal(buddy.freePages, 8);
    assert.equal(buddy.alloc(3), 0, 'merged back into one block of order 3');
  });

  test('a page count that is not a power of two is seeded with aligned blocks that fit', () => {
    const buddy = new BuddyAllocator(12, 3); // 8 + 4
    assert.equal(buddy.alloc(3), 0);
    assert.equal(buddy.alloc(3), -1);
    assert.equal(buddy.alloc(2), 8);
    assert.equal(buddy.alloc(0), -1, 'exhausted');
    buddy.free(8);
    buddy.free(0);
    assert.equal(buddy.freePages, 12);
    assert.equal(buddy.alloc(3), 0, 'the 4-page tail never merges past the end');
    assert.equal(buddy.alloc(2), 8);
  });

  test('orderFor and orderOf', () => {
    const buddy = new BuddyAllocator(16, 4);
    assert.deepEqual([1, 2, 3, 4, 5, 16, 17].map((n) => buddy.orderFor(n)), [0, 1, 2, 2, 3, 4, -1]);
    const page = buddy.alloc(2);
    assert.equal(buddy.orderOf(page), 2);
    assert.equal(buddy.orderOf(page + 1), -1);
    assert.equal(buddy.canAlloc(4), false);
    assert.equal(buddy.canAlloc(3), true);
  });

  test('a page where no run starts cannot be freed (AOF_ERR_INTERNAL), and nothing changes', () => {
    const buddy = new BuddyAllocator(4, 2);
    const page = buddy.alloc(1);
    buddy.free(page);
    for (const bad of [page, 1, -1, 9, 0.5]) {
      assert.throws(() => buddy.free(bad), (err: unknown) => err instanceof AofError && err.code === ErrorCode.INTERNAL);
    }
    assert.equal(buddy.freePages, 4);
    assert.equal(buddy.alloc(2), 0);
  });

  test('property: random allocs and frees never overlap, stay aligned, and all merge back', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = seededRandom(seed);
      const pages = 1 + Math.floor(random() * 300);
      const maxOrder = Math.floor(random() * 7);
      const buddy = new BuddyAllocator(pages, maxOrder);
      const owner = new Int32Array(pages).fill(-1);
      const live: { page: number; order: number }[] = [];
      let used = 0;
      for (let step = 0; step < 2000; step++) {
        if (live.length > 0 && random() < 0.45) {
          const i = Math.floor(random() * live.length);
          const run = live[i]!;
          live[i] = live[live.length - 1]!;
          live.pop();
          buddy.free(run.page);
          for (let p = run.page; p < run.page + (1 << run.order); p++) owner[p] = -1;
          used -= 1 << run.order;
        } else {
          const order = Math.floor(random() * (maxOrder + 1));
          const page = buddy.alloc(order);
          if (page < 0) {
            // Exhaustion is honest: no aligned free block of that order exists.
            for (let start = 0; start + (1 << order) <= pages; start += 1 << order) {
              let free = true;
              for (let p = start; p < start + (1 << order); p++) if (owner[p]! >= 0) free = false;
              assert.equal(free, false, `seed ${seed}: alloc(${order}) failed with pages ${start}.. free`);
            }
            continue;
          }
          assert.equal(page % (1 << order), 0, 'aligned');
          assert.ok(page + (1 << order) <= pages, 'inside the arena');
          for (let p = page; p < page + (1 << order); p++) {
            assert.equal(owner[p], -1, `seed ${seed}: page ${p} handed out twice`);
            owner[p] = page;
          }
          live.push({ page, order });
          used += 1 << order;
        }
        assert.equal(buddy.freePages, pages - used);
      }
      for (const run of live) buddy.free(run.page);
      assert.equal(buddy.freePages, pages);
      // Everything merged: the seeded blocks are whole again.
      const seeded: { page: number; order: number }[] = [];
      const got: number[] = [];
      let page = 0;
      while (page < pages) {
        let order = maxOrder;
        while (order > 0 && (page % (1 << order) !== 0 || page + (1 << order) > pages)) order--;
        seeded.push({ page, order });
        page += 1 << order;
      }
      // Largest blocks first, so that no alloc splits a block another one should get whole.
      for (const block of [...seeded].sort((a, b) => b.order - a.order)) got.push(buddy.alloc(block.order));
      assert.deepEqual(got.sort((a, b) => a - b), seeded.map((b) => b.page), `seed ${seed}: the seeded blocks are whole again`);
      assert.equal(buddy.freePages, 0);
    }
  });
});
