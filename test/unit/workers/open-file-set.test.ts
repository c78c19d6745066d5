import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpenFileSet, type OpenFileEntry } from '../../../workers/open-file-set.js';

interface File extends OpenFileEntry {
  id: number;
}

const files = (n: number): File[] => Array.from({ length: n }, (_, id) => ({ id, lastUsePass: 0 }));

/** Plays passes over `order(pass)` as the flush worker does (close the victim, open, use); returns reopen counts per pass. */
function play(set: OpenFileSet<File>, passes: number, order: (pass: number) => File[]): number[] {
  const open = new Set<File>();
  const misses: number[] = [];
  for (let p = 0; p < passes; p++) {
    set.beginPass();
    let miss = 0;
    for (const f of order(p)) {
      if (!open.has(f)) {
        for (let v = set.victim(); v !== null; v = set.victim()) {
          set.delete(v);
          open.delete(v);
        }
        open.add(f);
        miss++;
      }
      set.use(f);
      assert.ok(set.size <= 5_000 && set.size === open.size);
    }
    misses.push(miss);
  }
  return misses;
}

test('round-robin over twice the budget keeps about half the files open from pass to pass (LRU would reopen every one)', () => {
  const all = files(10_000);
  const set = new OpenFileSet<File>(5_000);
  const misses = play(set, 6, () => all);
  assert.equal(misses[0], 10_000);
  for (const m of misses.slice(1)) assert.ok(m <= 5_002, `reopens per pass ${m}`);
  assert.equal(set.size, 5_000);
});

test('a pass that fits the budget is plain LRU: busy files stay open among many quiet ones', () => {
  const hot = files(100);
  const cold = files(20_000).map((f) => ({ ...f, id: f.id + 100 }));
  const set = new OpenFileSet<File>(1_000);
  // Each pass: the 100 busy files, and 50 quiet ones never seen before.
  const misses = play(set, 100, (p) => [...hot, ...cold.slice(p * 50, p * 50 + 50)]);
  assert.equal(misses[0], 150);
  for (const m of misses.slice(1)) assert.equal(m, 50, 'only the new quiet files open');
  assert.ok(hot.every((f) => set.has(f)));
});

test('a closed entry is forgotten, and the budget is validated', () => {
  const set = new OpenFileSet<File>(2);
  const [a, b, c] = files(3) as [File, File, File];
  set.use(a);
  set.use(b);
  assert.equal(set.victim(), b, 'this pass used both: the most recent goes');
  set.beginPass();
  assert.equal(set.victim(), a, 'in a new pass, the least recently used');
  set.delete(b);
  assert.equal(set.victim(), null);
  set.use(c);
  assert.deepEqual(set.entries(), [a, c]);
  assert.throws(() => new OpenFileSet<File>(0), RangeError);
});
