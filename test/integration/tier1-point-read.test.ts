/**
 * Point read from Tier 1 (issue #3, "Must show"): one 64 MiB segment of 1 KiB JSON-like records
 * is written, sealed and compressed into 256 KiB zstd frames at close; after a reopen (nothing
 * resident) one `await reader.next()` in the middle decompresses exactly one frame. The assertion
 * is on the engine's counter of frames decompressed, not on time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofManager } from '../../src/index.js';
import { seededRandom } from '../../src/seeded-random.js';
import { readTier1Meta } from '../../src/format/tier1-file.js';
import { RECORD_HEADER_BYTES } from '../../src/format/record.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';
import { jsonLikePayload } from '../../support/tier1.js';
import { checkCatalogAgainstFiles, fileSize, hydrationsDrained, t1File, withTimeout } from '../../support/tier1-engine.js';
import { logCore } from '../../src/log.js';

const MIB = 1024 * 1024;
const SEGMENT_BYTES = 64 * MIB;
const RECORD_BYTES = 1024;
const FRAME_BYTES = 256 * 1024;
/** As many 1 KiB records as one 64 MiB segment holds (frames are 8-aligned: 16 + 1024 bytes). */
const COUNT = Math.floor(SEGMENT_BYTES / (RECORD_HEADER_BYTES + RECORD_BYTES));

/** Record `id`'s payload, derived from the id alone so the middle one can be rebuilt for the check. */
const payload = (id: number): Uint8Array => jsonLikePayload(id, RECORD_BYTES, seededRandom(0x9e3779b9 ^ id));

const options = (root: string): Parameters<typeof AofManager.open>[0] => ({
  root,
  tier0: { arenaBytes: 2 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES },
  tier1: { frameBytes: FRAME_BYTES },
  fsync: 'never',
});

test('a point read of one record of a 64 MiB Tier 1 segment decompresses exactly one frame', async (t) => {
  const { root, cleanup } = tempRoot('aof2-pointread-');
  t.after(cleanup);
  let manager = await AofManager.open(options(root));
  let log = await manager.openStream('big');
  for (let id = 0; id < COUNT; id++) assert.equal(log.appendSync(payload(id)), id);
  assert.equal(logCore(log).describe().segments, 1, 'every record fits the one segment');
  // One more record does not fit: it seals the full segment (compressed below) and starts the
  // next one, which the close leaves open (no Tier 2).
  assert.equal(log.appendSync(payload(COUNT)), COUNT);
  await withTimeout(manager.settle(), 20_000, 'seal + compress 64 MiB');
  await withTimeout(manager.close(), 20_000, 'close');

  const catalog = await checkCatalogAgainstFiles(root, 'big');
  assert.equal(catalog.tier1, 1, 'the segment is in Tier 1');
  assert.equal(catalog.openTail, COUNT, 'the next segment is the open tail');
  const meta = await readTier1Meta(t1File(root, 'big', 0));
  assert.ok(meta.header.dataBytes > SEGMENT_BYTES - RECORD_HEADER_BYTES - RECORD_BYTES, 'the segment is full (64 MiB)');
  assert.ok(meta.index.length >= 250, `a 64 MiB segment in 256 KiB frames has ~256 of them, got ${meta.index.length}`);
  const t1Bytes = fileSize(t1File(root, 'big', 0));
  assert.ok(t1Bytes < meta.header.dataBytes);

  manager = await AofManager.open(options(root));
  try {
    log = await manager.openStream('big');
    assert.equal(log.nextId, COUNT + 1);
    assert.equal(logCore(log).describe().resident, 0);
    const middle = Math.floor(COUNT / 2);
    const reader = log.openReader({ from: middle });
    const rec = await withTimeout(reader.next(), 10_000, 'point read');
    reader.close();
    assert.ok(rec !== null && rec.id === middle);
    assert.ok(sameBytes(rec.payload, payload(middle)), 'the point read returns the exact bytes');
    await hydrationsDrained(manager);
    const stats = manager.stats().tier1;
    assert.equal(stats.framesDecompressed, 1, `one record, one frame: ${stats.framesDecompressed} decompressed`);
    assert.equal(stats.hydrateFailures + stats.hydrateRetries, 0);

    // Another record of the same frame costs nothing; one of a far frame costs exactly one more.
    const pointRead = async (id: number): Promise<number> => {
      const r = log.openReader({ from: id });
      try {
        const got = await withTimeout(r.next(), 10_000, `point read of ${id}`);
        assert.ok(got !== null && got.id === id && sameBytes(got.payload, payload(id)), `point read of ${id}`);
      } finally {
        r.close();
      }
      await hydrationsDrained(manager);
      return manager.stats().tier1.framesDecompressed;
    };
    assert.equal(await pointRead(middle + 1), 1, 'a neighbour in the same frame is already resident');
    assert.equal(await pointRead(COUNT - 1), 2, 'the last record: one more frame');
    assert.equal(await pointRead(0), 3, 'the first record: one more frame');
    t.diagnostic(
      `${COUNT} records of ${RECORD_BYTES} B in one segment of ${(meta.header.dataBytes / MIB).toFixed(1)} MiB -> ` +
        `${(t1Bytes / MIB).toFixed(1)} MiB in ${meta.index.length} frames; reading record ${middle} decompressed ${stats.framesDecompressed} frame, then 2 more for the last and first records`,
    );
  } finally {
    await manager.close();
  }
});
