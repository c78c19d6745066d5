/**
 * Hydration worker auto-scaling (seed 000): the hydrate pool grows from `tier1.hydrateMinThreads`
 * towards `tier1.hydrateMaxThreads` while frame fetches queue up, and shrinks back after a second
 * without work. Driven by real cold reads of segments only Tier 2 holds (local-directory store),
 * several readers at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofManager } from '../../src/index.js';
import { sleep } from '../../support/engine.js';
import { until, withTimeout } from '../../support/tier1-engine.js';
import { fill, smallEngine } from '../../support/tier2-suite.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';

test('the hydrate pool scales between its minimum and maximum with the fetch backlog', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  const options = smallEngine(root, { kind: 'fs', root: `${root}-tier2` }, 128 * 1024);
  options.tier1 = { ...options.tier1, hydrateMinThreads: 1, hydrateMaxThreads: 3 };
  const manager = await AofManager.open(options);
  try {
    const log = await manager.openStream('scale');
    await fill(log, 0, 3000);
    await withTimeout(manager.settle(), 30_000, 'settle');
    assert.ok(manager.stats().tier2!.segmentsEvicted > 20, 'most segments are in Tier 2 only');
    await until(() => manager.stats().tier1.hydrateThreads === 1, 'the pool to idle down to its minimum', 10_000);
    // Eight readers start at once in eight remote segments: a backlog of frame fetches.
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, manager.stats().tier1.hydrateThreads)), 1);
    const starts = [0, 300, 600, 900, 1200, 1500, 1800, 2100];
    await Promise.all(
      starts.map(async (from) => {
        const reader = log.openReader({ from });
        try {
          for (let id = from; id < from + 120; id++) {
            const rec = await withTimeout(reader.next(), 20_000, `record ${id}`);
            assert.ok(rec !== null && rec.id === id && sameBytes(rec.payload, payloadFor(id, 1000)), `record ${id}`);
          }
        } finally {
          reader.close();
        }
      }),
    );
    clearInterval(sampler);
    t.diagnostic(`peak hydrate threads ${peak}`);
    assert.equal(peak, 3, 'the backlog grew the pool to its maximum');
    await sleep(1500);
    await until(() => manager.stats().tier1.hydrateThreads === 1, 'the pool to shrink back to its minimum', 10_000);
  } finally {
    await manager.close();
  }
});
