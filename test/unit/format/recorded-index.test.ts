/**
 * The recorded frame index (src/format/recorded-index.ts): the compact form the manifest keeps for
 * an uploaded segment expands to exactly the Tier 1 file's own index, and one that does not
 * describe the segment is refused before any frame could be fetched with it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AofError, ErrorCode } from '../../../src/errors.js';
import { MAX_RECORDED_FRAMES, RECORDED_INDEX_ENTRY_BYTES, expandRecordedIndex, recordedIndexOf } from '../../../src/format/recorded-index.js';
import type { FrameIndexEntry } from '../../../src/format/tier1.js';
import { decodeTier1Image } from '../../../src/format/tier1-file.js';
import { FIXTURES_DIR } from '../../../support/paths.js';

const corrupt = (err: unknown): boolean => err instanceof AofError && err.code === ErrorCode.CORRUPT;

/** The golden Tier 1 file: a real index written by the compressor's format code. */
function golden(): { index: FrameIndexEntry[]; seg: { frameCount: number; recordCount: number; dataBytes: number; fileBytes: number } } {
  const buf = readFileSync(join(FIXTURES_DIR, 'tier1-v1.t1'));
  const meta = decodeTier1Image(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
  return { index: meta.index, seg: { frameCount: meta.index.length, recordCount: meta.header.recordCount, dataBytes: meta.header.dataBytes, fileBytes: meta.fileBytes } };
}

describe('recorded frame index', () => {
  test('a real Tier 1 index: 16 bytes per frame, expanding to the very same entries', () => {
    const { index, seg } = golden();
    assert.ok(index.length > 1, 'the fixture has several frames');
    const bytes = recordedIndexOf(index)!;
    assert.equal(bytes.length, index.length * RECORDED_INDEX_ENTRY_BYTES);
    const v = new DataView(bytes.buffer);
    // Layout: recordCount, rawBytes, compressedBytes, rawCrc, little-endian u32 each.
    assert.deepEqual([v.getUint32(16, true), v.getUint32(20, true), v.getUint32(24, true), v.getUint32(28, true)], [index[1]!.recordCount, index[1]!.rawBytes, index[1]!.compressedBytes, index[1]!.rawCrc]);
    assert.deepEqual(expandRecordedIndex(bytes, seg), index);
  });

  test('an empty segment has an empty index', () => {
    assert.deepEqual(expandRecordedIndex(recordedIndexOf([])!, { frameCount: 0, recordCount: 0, dataBytes: 0, fileBytes: 64 + 64 }), []);
  });

  test('past MAX_RECORDED_FRAMES nothing is recorded', () => {
    const entry: FrameIndexEntry = { firstRecord: 0, recordCount: 1, rawOffset: 0, rawBytes: 16, fileOffset: 64, compressedBytes: 9, rawCrc: 0 };
    assert.equal(recordedIndexOf(Array.from({ length: MAX_RECORDED_FRAMES + 1 }, () => entry)), null);
    assert.equal(recordedIndexOf(Array.from({ length: MAX_RECORDED_FRAMES }, () => entry))?.length, MAX_RECORDED_FRAMES * RECORDED_INDEX_ENTRY_BYTES);
  });

  test('an index that does not describe the segment is AOF_ERR_CORRUPT', () => {
    const { index, seg } = golden();
    const bytes = recordedIndexOf(index)!;
    assert.throws(() => expandRecordedIndex(bytes.subarray(0, bytes.length - 16), seg), corrupt, 'a frame short');
    assert.throws(() => expandRecordedIndex(bytes, { ...seg, frameCount: seg.frameCount + 1 }), corrupt, 'frame count');
    assert.throws(() => expandRecordedIndex(bytes, { ...seg, recordCount: seg.recordCount + 1 }), corrupt, 'records');
    assert.throws(() => expandRecordedIndex(bytes, { ...seg, dataBytes: seg.dataBytes + 8 }), corrupt, 'raw bytes');
    assert.throws(() => expandRecordedIndex(bytes, { ...seg, fileBytes: seg.fileBytes + 1 }), corrupt, 'object size');
    const edit = (at: number, value: number): Uint8Array => {
      const copy = bytes.slice();
      new DataView(copy.buffer).setUint32(at, value, true);
      return copy;
    };
    assert.throws(() => expandRecordedIndex(edit(0, 0), seg), corrupt, 'a frame of no records');
    assert.throws(() => expandRecordedIndex(edit(4, index[0]!.rawBytes + 4), seg), corrupt, 'raw bytes off the 8-byte alignment');
    assert.throws(() => expandRecordedIndex(edit(8, 0), seg), corrupt, 'no compressed bytes');
    // A wrong rawCrc breaks no sum: the check after decompression catches it at the read.
    const flipped = (index[0]!.rawCrc ^ 1) >>> 0;
    assert.equal(expandRecordedIndex(edit(12, flipped), seg)[0]!.rawCrc, flipped);
  });
});
