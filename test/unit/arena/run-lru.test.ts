/**
 * src/arena/run-lru.ts: the arena's eviction order. Property style: seeded random add / delete /
 * touch sequences checked against a Map in insertion order (what the arena used before), walking
 * the list from the head with next().
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RunLru } from '../../../src/arena/run-lru.js';
import { seededRandom } from '../../../src/seeded-random.js';

function walk(lru: RunLru): number[] {
  const out: number[] = [];
  for (let slot = lru.head; slot >= 0; slot = lru.next(slot)) out.push(slot);
  return out;
}

describe('RunLru', () => {
  test('least recently used first; touch moves a run to the end; delete and add are idempotent', () => {
    const lru = new RunLru(8);
    assert.equal(lru.head, -1);
    for (const slot of [3, 1, 5]) lru.add(slot);
    lru.add(1);
    assert.deepEqual(walk(lru), [3, 1, 5]);
    assert.equal(lru.touch(3), true);
    assert.deepEqual(walk(lru), [1, 5, 3]);
    assert.equal(lru.touch(7), false, 'not in the list: not added');
    assert.equal(lru.delete(5), true);
    assert.equal(lru.delete(5), false);
    assert.deepEqual(walk(lru), [1, 3]);
    assert.equal(lru.size, 2);
    assert.equal(lru.has(1), true);
    assert.equal(lru.has(5), false);
    lru.delete(1);
    lru.delete(3);
    assert.equal(lru.head, -1);
    assert.equal(lru.size, 0);
  });

  test('random sequences keep the order of a Map in insertion order', () => {
    const rand = seededRandom(12);
    for (let run = 0; run < 20; run++) {
      const pages = 1 + Math.floor(rand() * 64);
      const lru = new RunLru(pages);
      const model = new Map<number, true>();
      for (let step = 0; step < 500; step++) {
        const slot = Math.floor(rand() * pages);
        const op = rand();
        if (op < 0.4) {
          lru.add(slot);
          if (!model.has(slot)) model.set(slot, true);
        } else if (op < 0.7) {
          assert.equal(lru.delete(slot), model.delete(slot));
        } else {
          const had = model.delete(slot);
          if (had) model.set(slot, true);
          assert.equal(lru.touch(slot), had);
        }
        assert.equal(lru.size, model.size);
        assert.equal(lru.has(slot), model.has(slot));
      }
      assert.deepEqual(walk(lru), [...model.keys()]);
    }
  });
});
