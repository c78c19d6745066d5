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
import { payloadFor, tempRoot } from '../../support/tmp.js';
import { verifyLog } from '../../support/engine.js';
import { checkCatalogAgainstFiles, compressionSettled, sealedCount, streamFiles, withTimeout } from '../../support/tier1-engine.js';

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

/**
 * Regression: the sealing watcher took the data CRC from the slot's CRC word whenever it found the
 * segment's slot CLEAN. While it awaited the manifest, a slot could be evicted and then filled
 * again by a hydration of the same segment: CLEAN, but with the CRC word reset to 0. The wrong CRC
 * made the compress worker report AOF_ERR_CORRUPT and the segment was given up on (left raw for
 * good). A reader re-hydrating just-evicted segments while the writer seals new ones hits that
 * window every few dozen segments; the CRC now comes from the footer on disk.
 */
test('a segment evicted and re-hydrated before the sealing watcher looked is compressed with its true CRC', async (t) => {
  const { root, cleanup } = tempRoot('aof2-sealrehyd-');
  t.after(cleanup);
  const manager = await AofManager.open({ root, tier0: { arenaBytes: 4 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES }, fsync: 'never' });
  const log = await manager.openStream('s');
  const size = 496; // 512-byte frames: 128 per segment
  const perSegment = SEGMENT_BYTES / 512;
  const expected = (id: number): Uint8Array => payloadFor(id, size);
  let id = 0;
  for (let round = 0; round < 150; round++) {
    // One segment's worth, synchronously where the arena allows.
    for (let i = 0; i < perSegment; i++, id++) {
      try {
        assert.equal(log.appendSync(expected(id)), id);
      } catch (err) {
        if (!(err instanceof WouldBlockError)) throw err;
        assert.equal(await withTimeout(log.append(expected(id)), 10_000, 'append'), id);
      }
    }
    // Re-read a segment sealed five segments ago: evicted by now, so this hydrates it again.
    const reader = log.openReader({ from: Math.max(0, id - 5 * perSegment) });
    try {
      const rec = await withTimeout(reader.next(), 10_000, 'hydrating read');
      assert.ok(rec !== null);
    } finally {
      reader.close();
    }
  }
  await withTimeout(log.flush(), 10_000, 'flush');
  await compressionSettled(manager, log).catch((err: unknown) => assert.fail(`${String(err)}: ${JSON.stringify(manager.stats().tier1)} sealed ${sealedCount(log)}`));
  const stats = manager.stats().tier1;
  const sealed = sealedCount(log);
  assert.equal(stats.compressFailures, 0, `no segment may be given up on: ${stats.lastError}`);
  assert.equal(stats.segmentsCompressed, sealed);
  await verifyLog(log, expected, id);
  await manager.close();
  const check = await checkCatalogAgainstFiles(root, 's');
  assert.equal(check.raw, 0);
  assert.equal(check.endId, id);
});
