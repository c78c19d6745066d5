/**
 * Regression: a sealed segment whose arena slot was evicted (reused by a newer segment) before
 * Tier 1's sealing watcher looked at it was silently dropped: never recorded SEALED, never
 * compressed, left raw until the next open. With fsync 'never' and a tight synchronous append loop
 * over a tiny arena, most slots are CLEAN and reused within the same macrotask, so most segments
 * took that path. Every sealed segment must now be recorded and compressed (its data CRC taken from
 * the footer on disk, which the compress worker checks against the file).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofManager, WouldBlockError } from '../../src/index.js';
import { payloadFor, tempRoot } from '../helpers/tmp.js';
import { verifyLog } from '../helpers/engine.js';
import { checkCatalogAgainstFiles, compressionSettled, sealedCount, streamFiles, withTimeout } from '../helpers/tier1-engine.js';

const SEGMENT_BYTES = 64 * 1024;

test('segments evicted before the sealing watcher ran are still recorded and compressed', async (t) => {
  const { root, cleanup } = tempRoot('aof2-sealevict-');
  t.after(cleanup);
  const manager = await AofManager.open({ root, tier0: { arenaBytes: 4 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES }, fsync: 'never' });
  const log = await manager.openStream('s');
  // ~40 segments of 500-byte records, appended without yielding unless the arena pushes back.
  const n = 5000;
  const expected = (id: number): Uint8Array => payloadFor(id, 500);
  for (let id = 0; id < n; id++) {
    try {
      assert.equal(log.appendSync(expected(id)), id);
    } catch (err) {
      if (!(err instanceof WouldBlockError)) throw err;
      assert.equal(await withTimeout(log.append(expected(id)), 10_000, 'append'), id);
    }
  }
  await withTimeout(log.flush(), 10_000, 'flush');
  await compressionSettled(manager, log);
  const sealed = sealedCount(log);
  const stats = manager.stats().tier1;
  assert.ok(sealed >= 30, `expected many sealed segments, got ${sealed}`);
  assert.equal(stats.segmentsSealed, sealed, 'every sealed segment is recorded');
  assert.equal(stats.segmentsCompressed, sealed, `every sealed segment is compressed (${stats.lastError})`);
  assert.equal(stats.compressFailures, 0);
  assert.equal(streamFiles(root, 's').t1.length, sealed);
  await verifyLog(log, expected, n);
  await manager.close();
  const check = await checkCatalogAgainstFiles(root, 's');
  assert.equal(check.endId, n);
  assert.equal(check.raw, 0);
});
