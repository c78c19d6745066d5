/**
 * The Tier 1 format functions on specific cases the fuzzer is unlikely to build: newer versions
 * and unknown codecs are AOF_ERR_INCOMPATIBLE (never "damage"), encoders refuse values that would
 * wrap, frameForRecord's bounds, file names, and readTier1Meta's size and error reporting.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { AofError, ErrorCode } from '../../../src/errors.js';
import {
  TIER1_FOOTER_BYTES,
  TIER1_HEADER_BYTES,
  decodeFrameIndex,
  decodeTier1Footer,
  decodeTier1Header,
  encodeFrameIndex,
  encodeTier1FooterInto,
  encodeTier1HeaderInto,
  frameForRecord,
  type FrameIndexEntry,
  type Tier1Header,
} from '../../../src/format/tier1.js';
import { readTier1Meta } from '../../../src/format/tier1-file.js';
import { TIER1_GOLDEN } from '../../../support/golden-tier1-content.js';
import { FIXTURES_DIR } from '../../../support/paths.js';
import { tempRoot } from '../../../support/tmp.js';
import { parseTier1FileName, tier1FileName } from '../../../src/format/root-layout.js';

const HEADER: Tier1Header = { codec: 1, level: 3, baseId: 10, recordCount: 2, dataBytes: 48, dataCrc: 7, frameTarget: 256, createdAt: 1 };

function header(over: Partial<Tier1Header> = {}): Uint8Array {
  const out = new Uint8Array(TIER1_HEADER_BYTES);
  encodeTier1HeaderInto(out, 0, { ...HEADER, ...over });
  return out;
}

/** Rewrites a u8/u16 field and re-seals the CRC, as a newer (or foreign) writer would have. */
function reseal(bytes: Uint8Array, at: number, value: number, width: 1 | 2): Uint8Array {
  const out = bytes.slice();
  const v = new DataView(out.buffer);
  if (width === 1) v.setUint8(at, value);
  else v.setUint16(at, value, true);
  v.setUint32(60, crc32(out.subarray(0, 60)), true);
  return out;
}

function expectCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: AofError) => {
    assert.ok(err instanceof AofError, String(err));
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

describe('tier 1 header and footer', () => {
  test('a newer version with a valid CRC is AOF_ERR_INCOMPATIBLE; version 0 or a flipped byte is AOF_ERR_CORRUPT', () => {
    expectCode(() => decodeTier1Header(reseal(header(), 8, 2, 2)), ErrorCode.INCOMPATIBLE, /newer/);
    expectCode(() => decodeTier1Header(reseal(header(), 8, 0, 2)), ErrorCode.CORRUPT);
    const flipped = header();
    flipped[8] = 2; // version 2 without re-sealing: damage, not a newer file
    expectCode(() => decodeTier1Header(flipped), ErrorCode.CORRUPT, /CRC/);
    const footer = new Uint8Array(TIER1_FOOTER_BYTES);
    encodeTier1FooterInto(footer, 0, { frameCount: 0, indexOffset: 64, indexCrc: 0, recordCount: 0, baseId: 1 });
    expectCode(() => decodeTier1Footer(reseal(footer, 8, 9, 2)), ErrorCode.INCOMPATIBLE);
    expectCode(() => decodeTier1Footer(reseal(footer, 10, 32, 2)), ErrorCode.CORRUPT, /declares 32 bytes/);
  });

  test('an unknown codec is AOF_ERR_INCOMPATIBLE; impossible sizes are AOF_ERR_CORRUPT', () => {
    expectCode(() => decodeTier1Header(reseal(header(), 12, 2, 1)), ErrorCode.INCOMPATIBLE, /codec 2/);
    expectCode(() => decodeTier1Header(reseal(header(), 10, 65, 2)), ErrorCode.CORRUPT, /declares 65 bytes/);
    expectCode(() => decodeTier1Header(header({ dataBytes: 44 })), ErrorCode.CORRUPT, /aligned records/);
    expectCode(() => decodeTier1Header(header({ dataBytes: 24 })), ErrorCode.CORRUPT, /cannot hold 2/);
    const footer = new Uint8Array(TIER1_FOOTER_BYTES);
    encodeTier1FooterInto(footer, 0, { frameCount: 0, indexOffset: 10, indexCrc: 0, recordCount: 0, baseId: 1 });
    expectCode(() => decodeTier1Footer(footer), ErrorCode.CORRUPT, /inside the header/);
  });

  test('a base id past 2^53 is refused rather than rounded', () => {
    const bytes = header();
    new DataView(bytes.buffer).setBigUint64(16, 2n ** 60n, true);
    new DataView(bytes.buffer).setUint32(60, crc32(bytes.subarray(0, 60)), true);
    expectCode(() => decodeTier1Header(bytes), ErrorCode.CORRUPT, /safe integer/);
  });

  test('encoders refuse values that would wrap instead of writing them', () => {
    const buf = new Uint8Array(64);
    expectCode(() => encodeTier1HeaderInto(buf, 0, { ...HEADER, level: 256 }), ErrorCode.INVALID_ARGUMENT, /level/);
    expectCode(() => encodeTier1HeaderInto(buf, 0, { ...HEADER, dataBytes: 2 ** 32 }), ErrorCode.INVALID_ARGUMENT, /dataBytes/);
    expectCode(() => encodeTier1HeaderInto(buf, 0, { ...HEADER, baseId: -1 }), ErrorCode.INVALID_ARGUMENT, /baseId/);
    expectCode(() => encodeTier1FooterInto(buf, 0, { frameCount: 1.5, indexOffset: 64, indexCrc: 0, recordCount: 0, baseId: 0 }), ErrorCode.INVALID_ARGUMENT);
    const entry: FrameIndexEntry = { firstRecord: 0, recordCount: 1, rawOffset: 0, rawBytes: 16, fileOffset: 64, compressedBytes: 2 ** 32, rawCrc: 0 };
    expectCode(() => encodeFrameIndex([entry]), ErrorCode.INVALID_ARGUMENT, /compressedBytes/);
  });
});

describe('tier 1 frame index', () => {
  const entries: FrameIndexEntry[] = [
    { firstRecord: 0, recordCount: 3, rawOffset: 0, rawBytes: 48, fileOffset: 64, compressedBytes: 20, rawCrc: 1 },
    { firstRecord: 3, recordCount: 1, rawOffset: 48, rawBytes: 24, fileOffset: 84, compressedBytes: 30, rawCrc: 2 },
    { firstRecord: 4, recordCount: 5, rawOffset: 72, rawBytes: 80, fileOffset: 114, compressedBytes: 10, rawCrc: 3 },
  ];
  const hdr: Tier1Header = { ...HEADER, recordCount: 9, dataBytes: 152 };
  const footerFor = (bytes: Uint8Array, over = {}) => ({ frameCount: 3, indexOffset: 124, indexCrc: crc32(bytes), recordCount: 9, baseId: 10, ...over });

  test('decodes what it encoded, and refuses a frame with no records even when everything else adds up', () => {
    const bytes = encodeFrameIndex(entries);
    assert.deepEqual(decodeFrameIndex(bytes, footerFor(bytes), hdr), entries);
    const empty = encodeFrameIndex([...entries, { firstRecord: 9, recordCount: 0, rawOffset: 152, rawBytes: 0, fileOffset: 124, compressedBytes: 9, rawCrc: 0 }]);
    expectCode(() => decodeFrameIndex(empty, footerFor(empty, { frameCount: 4, indexOffset: 133 }), hdr), ErrorCode.CORRUPT, /not a possible frame/);
  });

  test('header and footer that disagree are AOF_ERR_CORRUPT', () => {
    const bytes = encodeFrameIndex(entries);
    expectCode(() => decodeFrameIndex(bytes, footerFor(bytes, { baseId: 11 }), hdr), ErrorCode.CORRUPT, /disagree/);
    expectCode(() => decodeFrameIndex(bytes, footerFor(bytes), { ...hdr, dataBytes: 160 }), ErrorCode.CORRUPT, /cover the segment exactly/);
  });

  test('frameForRecord finds the frame by binary search and refuses ids outside the segment', () => {
    const expected = [0, 0, 0, 1, 2, 2, 2, 2, 2];
    for (let r = 0; r < 9; r++) assert.equal(frameForRecord(entries, r), expected[r], `record ${r}`);
    for (const bad of [-1, 9, 1.5, Number.NaN]) expectCode(() => frameForRecord(entries, bad), ErrorCode.OUT_OF_RANGE);
    expectCode(() => frameForRecord([], 0), ErrorCode.OUT_OF_RANGE, /0 records/);
  });

  test('file names carry the base id in 20 digits and parse back; temp files are not tier 1 files', () => {
    assert.equal(tier1FileName(1234), '00000000000000001234.t1');
    assert.equal(parseTier1FileName(tier1FileName(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
    assert.equal(parseTier1FileName('00000000000000001234.t1.tmp'), null);
    assert.equal(parseTier1FileName('00000000000000001234.seg'), null);
    assert.equal(parseTier1FileName('0000000000000000123x.t1'), null);
    assert.equal(parseTier1FileName('99999999999999999999.t1'), null, 'past 2^53');
  });
});

describe('readTier1Meta', () => {
  const golden = readFileSync(join(FIXTURES_DIR, TIER1_GOLDEN.file));

  test('a file with bytes appended or one too short is AOF_ERR_CORRUPT naming the path; a missing file is AOF_ERR_IO', async (t) => {
    const { root, cleanup } = tempRoot();
    t.after(cleanup);
    const longer = join(root, 'longer.t1');
    writeFileSync(longer, Buffer.concat([golden, Buffer.alloc(1)]));
    await assert.rejects(readTier1Meta(longer), (err: AofError) => err.code === ErrorCode.CORRUPT && err.details?.['path'] === longer && err.message.includes(longer));
    const tiny = join(root, 'tiny.t1');
    writeFileSync(tiny, golden.subarray(0, 100));
    await assert.rejects(readTier1Meta(tiny), (err: AofError) => err.code === ErrorCode.CORRUPT && /shorter than a header and a footer/.test(err.message));
    await assert.rejects(readTier1Meta(join(root, 'missing.t1')), (err: AofError) => err.code === ErrorCode.IO && err.details?.['errno'] === 'ENOENT');
  });
});
