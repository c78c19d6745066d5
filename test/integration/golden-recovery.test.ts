/**
 * The golden segment fixtures (test/fixtures, frozen; decoded byte by byte in
 * test/unit/format/golden.test.ts) opened by the real engine: recovery trusts the sealed file,
 * trims the torn tail of the unsealed one, gives it a footer and continues it (no Tier 2), and
 * serves every record.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AofManager } from '../../src/index.js';
import { frameLength } from '../../src/format/record.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, tryDecodeFooter } from '../../src/format/segment.js';
import { parseSegmentFileName, segmentFileName, streamDir } from '../../src/format/root-layout.js';
import { SEALED, UNSEALED } from '../../support/golden-content.js';
import { FIXTURES_DIR } from '../../support/paths.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';

describe('golden segments through the engine', () => {
  test('recovery trusts the sealed file, trims the torn tail and serves every record', async (t) => {
    const { root, cleanup } = tempRoot();
    let manager: AofManager | undefined;
    // One hook, in this order: after hooks run first-registered-first, and the root must outlive close().
    t.after(async () => {
      await manager?.close();
      cleanup();
    });
    const dir = streamDir(root, 'golden');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(FIXTURES_DIR, SEALED.file), join(dir, segmentFileName(1000)));
    copyFileSync(join(FIXTURES_DIR, UNSEALED.file), join(dir, segmentFileName(1007)));
    assert.equal(parseSegmentFileName(segmentFileName(1007)), 1007);

    manager = await AofManager.open({ root, tier0: { arenaBytes: 8 * 4096, segmentBytes: 4096 }, tier1: { enabled: false }, fsync: 'always' });
    const log = await manager.openStream('golden');
    assert.equal(log.firstId, 1000);
    assert.equal(log.nextId, 1010);
    // No manifest names these files: the sealed one is trusted from its footer, read at open (not deferred).
    assert.deepEqual(manager.stats().recovery, {
      trustedSegments: 1,
      resumedSegments: 1,
      deferredFooters: 0,
      footersChecked: 0,
      badFooters: 0,
      scannedSegments: 1,
      scannedBytes: 140,
      trimmedBytes: 36,
      removedFiles: 0,
      missingSegments: 0,
      staleObjectsDeleted: 0,
    });

    const expected = [...SEALED.records, ...UNSEALED.records];
    let id = 1000;
    for await (const rec of log.read()) {
      const want = expected[id - 1000]!;
      assert.equal(rec.id, id);
      assert.equal(rec.timestamp, want.timestamp, `record ${id} timestamp`);
      assert.ok(sameBytes(rec.payload, want.payload), `record ${id} payload`);
      id++;
    }
    assert.equal(id, 1010);

    // Recovery sealed the tail in place: valid prefix plus a fresh footer, torn bytes gone.
    const tail = readFileSync(join(dir, segmentFileName(1007)));
    assert.equal(tail.length, SEGMENT_HEADER_BYTES + 104 + SEGMENT_FOOTER_BYTES);
    const footer = tryDecodeFooter(new Uint8Array(tail.buffer, tail.byteOffset, tail.byteLength), SEGMENT_HEADER_BYTES + 104);
    assert.equal(footer?.recordCount, 3);
    assert.equal(footer?.baseId, 1007);

    // No Tier 2: the tail is the active segment. The next record goes on in the same file, its
    // footer cut off first (fsync 'always': the append resolves once it is on disk).
    const after = new TextEncoder().encode('after the fixtures');
    assert.equal(await log.append(after), 1010);
    assert.equal(readFileSync(join(dir, segmentFileName(1007))).length, SEGMENT_HEADER_BYTES + 104 + frameLength(after.length));
  });
});
