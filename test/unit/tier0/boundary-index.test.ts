/**
 * BoundaryIndex (src/tier0/boundary-index.ts): sorted, deduplicated (offset, record) pairs, the
 * floor lookups chunk loads start from, and the bound on its size.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { BoundaryIndex, MAX_PAIRS } from '../../../src/tier0/boundary-index.js';

describe('BoundaryIndex', () => {
  test('starts at (0, 0); pairs stay sorted and unique whatever the order they come in', () => {
    const index = new BoundaryIndex();
    assert.deepEqual(index.pairs, [0, 0]);
    index.add(800, 10);
    index.add(400, 5);
    index.add(800, 10);
    index.add(0, 0);
    index.add(1600, 20);
    assert.deepEqual(index.pairs, [0, 0, 400, 5, 800, 10, 1600, 20]);
  });

  test('floor gives the pair with the largest record at or below; atOrBelowOffset the largest offset at or below', () => {
    const index = new BoundaryIndex();
    for (const [o, r] of [[400, 5], [800, 10], [1600, 20]] as const) index.add(o, r);
    assert.deepEqual(index.floor(0), [0, 0]);
    assert.deepEqual(index.floor(4), [0, 0]);
    assert.deepEqual(index.floor(5), [400, 5]);
    assert.deepEqual(index.floor(19), [800, 10]);
    assert.deepEqual(index.floor(1_000_000), [1600, 20]);
    assert.deepEqual(index.atOrBelowOffset(799), [400, 5]);
    assert.deepEqual(index.atOrBelowOffset(800), [800, 10]);
    assert.deepEqual(index.atOrBelowOffset(10_000), [1600, 20]);
    index.clear();
    assert.deepEqual(index.pairs, [0, 0]);
  });

  test('property: past MAX_PAIRS every second pair goes; floor is always a real boundary at or below, (0, 0) and the last kept', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 * MAX_PAIRS }), fc.integer({ min: 1, max: 1000 }), (n, seed) => {
        const index = new BoundaryIndex();
        // Records of 8-byte multiples, added out of order.
        const order = Array.from({ length: n }, (_, i) => i + 1).sort((a, b) => ((a * seed) % 97) - ((b * seed) % 97));
        for (const r of order) index.add(r * 8, r);
        const p = index.pairs;
        assert.ok(p.length <= MAX_PAIRS * 2 + 2, `${p.length / 2} pairs`);
        assert.deepEqual([p[0], p[1]], [0, 0]);
        for (let i = 2; i < p.length; i += 2) {
          assert.ok(p[i]! > p[i - 2]! && p[i + 1]! > p[i - 1]!, 'sorted, unique');
          assert.equal(p[i], p[i + 1]! * 8, 'only real boundaries');
        }
        const probe = (seed * 31) % (n + 1);
        const [o, r] = index.floor(probe);
        assert.ok(r <= probe && o === r * 8);
      }),
      { numRuns: 40 },
    );
  });
});
