import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { AofError, ErrorCode } from '../../../src/errors.js';
import {
  SEGMENT_FOOTER_BYTES,
  SEGMENT_HEADER_BYTES,
  SEGMENT_VERSION,
  decodeHeader,
  encodeFooterInto,
  encodeHeaderInto,
  tryDecodeFooter,
  type SegmentFooter,
  type SegmentHeader,
} from '../../../src/format/segment.js';
import { parseSegmentFileName, segmentFileName } from '../../../src/format/root-layout.js';

const HEADER: SegmentHeader = { segmentBytes: 4 * 1024 * 1024, baseId: 123_456_789, createdAt: 1_700_000_000_123.5 };
const FOOTER: SegmentFooter = {
  recordCount: 77,
  baseId: 123_456_789,
  dataBytes: 40_960,
  dataCrc: 0xdead_beef,
  minTimestamp: 1_700_000_000_200,
  maxTimestamp: 1_700_000_000_999.25,
  sealedAt: 1_700_000_001_000,
};

/** Asserts `fn` throws AofError AOF_ERR_CORRUPT whose message matches `pattern`. */
function throwsCorrupt(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AofError, `expected AofError, got ${String(err)}`);
    assert.equal(err.code, ErrorCode.CORRUPT);
    assert.match(err.message, pattern);
    return true;
  });
}

function headerImage(header: SegmentHeader = HEADER): Uint8Array {
  const out = new Uint8Array(SEGMENT_HEADER_BYTES);
  encodeHeaderInto(out, 0, header);
  return out;
}

function footerImage(footer: SegmentFooter = FOOTER): Uint8Array {
  const out = new Uint8Array(SEGMENT_FOOTER_BYTES);
  encodeFooterInto(out, 0, footer);
  return out;
}

/** Rewrites the CRC of a header/footer at `off` so that only the field just edited is wrong. */
function recrc(bytes: Uint8Array, off = 0): void {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(off + 60, crc32(bytes.subarray(off, off + 60)), true);
}

describe('segment header', () => {
  test('round-trips through encode/decode, at any offset of any view', () => {
    const cases: SegmentHeader[] = [
      HEADER,
      { segmentBytes: 4096, baseId: 0, createdAt: 0 },
      { segmentBytes: 1024 * 1024 * 1024, baseId: Number.MAX_SAFE_INTEGER, createdAt: Date.UTC(2100, 0, 1) },
      { ...HEADER, durableBytes: 8192, prefix: { crcBytes: 8192, prefixCrc: 0xfeed_f00d } },
    ];
    for (const header of cases) {
      // Garbage-filled backing with a view that starts 8 bytes in, header written 40 bytes into it.
      const backing = new Uint8Array(8 + 40 + SEGMENT_HEADER_BYTES + 16).fill(0xff);
      const view = backing.subarray(8);
      assert.equal(encodeHeaderInto(view, 40, header), 40 + SEGMENT_HEADER_BYTES);
      assert.deepEqual(decodeHeader(view, 40), header);
      // Reserved bytes are zeroed even over garbage, and nothing outside the 64 bytes was touched.
      assert.ok(view.subarray(40 + 44, 40 + 60).every((b) => b === 0));
      if (header.durableBytes === undefined) assert.ok(view.subarray(40 + 32, 40 + 44).every((b) => b === 0), 'no durable length, no prefix CRC: zeros');
      assert.equal(view[39], 0xff);
      assert.equal(view[40 + SEGMENT_HEADER_BYTES], 0xff);
    }
  });

  test('writes the documented little-endian layout', () => {
    const bytes = headerImage();
    const view = new DataView(bytes.buffer);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), 'AOF2SEG\0');
    assert.equal(view.getUint16(8, true), SEGMENT_VERSION);
    assert.equal(view.getUint16(10, true), SEGMENT_HEADER_BYTES);
    assert.equal(view.getUint32(12, true), HEADER.segmentBytes);
    assert.equal(view.getBigUint64(16, true), BigInt(HEADER.baseId));
    assert.equal(view.getFloat64(24, true), HEADER.createdAt);
    assert.equal(view.getUint32(60, true), crc32(bytes.subarray(0, 60)));
  });

  test('keeps durableBytes at 32, crcBytes at 36 and prefixCrc at 40; a header of zeros there has neither', () => {
    const bytes = new Uint8Array(SEGMENT_HEADER_BYTES);
    encodeHeaderInto(bytes, 0, { ...HEADER, durableBytes: 4096, prefix: { crcBytes: 2048, prefixCrc: 0x1234_5678 } });
    const view = new DataView(bytes.buffer);
    assert.deepEqual([view.getUint32(32, true), view.getUint32(36, true), view.getUint32(40, true)], [4096, 2048, 0x1234_5678]);
    const plain = decodeHeader(headerImage());
    assert.equal(plain.prefix, undefined, 'crcBytes 0 (an older file, a fresh header): no prefix');
    assert.equal(plain.durableBytes, undefined);
  });

  test('rejects wrong magic', () => {
    const bytes = headerImage();
    bytes[3] = 0x33; // "AOF3SEG"
    recrc(bytes);
    throwsCorrupt(() => decodeHeader(bytes), /wrong magic/);
    // A footer is not a header.
    throwsCorrupt(() => decodeHeader(footerImage()), /wrong magic/);
  });

  test('refuses a newer version as incompatible (not as damage), and version 0 as corrupt', () => {
    const bytes = headerImage();
    new DataView(bytes.buffer).setUint16(8, SEGMENT_VERSION + 1, true);
    recrc(bytes);
    assert.throws(
      () => decodeHeader(bytes),
      (err: unknown) => err instanceof AofError && err.code === ErrorCode.INCOMPATIBLE && err.details?.['version'] === SEGMENT_VERSION + 1,
    );
    new DataView(bytes.buffer).setUint16(8, 0, true);
    recrc(bytes);
    assert.throws(() => decodeHeader(bytes), (err: unknown) => err instanceof AofError && err.code === ErrorCode.CORRUPT);
  });

  test('rejects a CRC mismatch in any checked byte', () => {
    for (let i = 8; i < 64; i++) {
      const bytes = headerImage();
      bytes[i] = bytes[i]! ^ 0x10;
      throwsCorrupt(() => decodeHeader(bytes), /CRC mismatch/);
    }
  });

  test('rejects a declared header length other than 64 even with a valid CRC', () => {
    const bytes = headerImage();
    new DataView(bytes.buffer).setUint16(10, 128, true);
    recrc(bytes);
    throwsCorrupt(() => decodeHeader(bytes), /declares 128 bytes/);
  });

  test('rejects truncated input', () => {
    const bytes = headerImage();
    for (const len of [0, 1, 8, 59, 63]) throwsCorrupt(() => decodeHeader(bytes.subarray(0, len)), /truncated/);
    const padded = new Uint8Array(100);
    padded.set(bytes, 0);
    throwsCorrupt(() => decodeHeader(padded, 37), /truncated: expected 64 bytes, got 63/);
  });
});

describe('segment footer', () => {
  test('round-trips through encode/decode, at any offset of any view', () => {
    const empty: SegmentFooter = { ...FOOTER, recordCount: 0, dataBytes: 0, dataCrc: 0, minTimestamp: Number.NaN, maxTimestamp: Number.NaN };
    for (const footer of [FOOTER, empty, { ...FOOTER, baseId: Number.MAX_SAFE_INTEGER, dataBytes: 1024 * 1024 * 1024 }]) {
      const backing = new Uint8Array(16 + 64 + SEGMENT_FOOTER_BYTES).fill(0xff);
      const view = backing.subarray(16);
      assert.equal(encodeFooterInto(view, 64, footer), 64 + SEGMENT_FOOTER_BYTES);
      // deepEqual treats NaN as equal to NaN (Object.is semantics), which is what an empty segment stores.
      assert.deepEqual(tryDecodeFooter(view, 64), footer);
      assert.ok(view.subarray(64 + 56, 64 + 60).every((b) => b === 0));
      assert.equal(view[63], 0xff);
    }
  });

  test('writes the documented little-endian layout', () => {
    const bytes = footerImage();
    const view = new DataView(bytes.buffer);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), 'AOF2END\0');
    assert.equal(view.getUint16(8, true), SEGMENT_VERSION);
    assert.equal(view.getUint16(10, true), SEGMENT_FOOTER_BYTES);
    assert.equal(view.getUint32(12, true), FOOTER.recordCount);
    assert.equal(view.getBigUint64(16, true), BigInt(FOOTER.baseId));
    assert.equal(view.getUint32(24, true), FOOTER.dataBytes);
    assert.equal(view.getUint32(28, true), FOOTER.dataCrc);
    assert.equal(view.getFloat64(32, true), FOOTER.minTimestamp);
    assert.equal(view.getFloat64(40, true), FOOTER.maxTimestamp);
    assert.equal(view.getFloat64(48, true), FOOTER.sealedAt);
    assert.equal(view.getUint32(60, true), crc32(bytes.subarray(0, 60)));
  });

  test('is null (meaning "unsealed, scan it") for wrong magic, version, CRC, length or truncation', () => {
    const magic = footerImage();
    magic[0] = 0x61;
    recrc(magic);
    assert.equal(tryDecodeFooter(magic), null);
    assert.equal(tryDecodeFooter(headerImage()), null);
    const version = footerImage();
    new DataView(version.buffer).setUint16(8, 0, true);
    recrc(version);
    assert.equal(tryDecodeFooter(version), null);
    const length = footerImage();
    new DataView(length.buffer).setUint16(10, 32, true);
    recrc(length);
    assert.equal(tryDecodeFooter(length), null);
    for (let i = 0; i < 64; i++) {
      const bytes = footerImage();
      bytes[i] = bytes[i]! ^ 0x01;
      assert.equal(tryDecodeFooter(bytes), null, `flipped byte ${i}`);
    }
    const bytes = footerImage();
    for (const len of [0, 7, 8, 63]) assert.equal(tryDecodeFooter(bytes.subarray(0, len)), null);
    assert.equal(tryDecodeFooter(bytes, 1), null);
    assert.equal(tryDecodeFooter(new Uint8Array(64)), null); // zero fill
  });
});

describe('segment file names', () => {
  test('carry the base id as exactly 20 digits', () => {
    assert.equal(segmentFileName(0), '00000000000000000000.seg');
    assert.equal(segmentFileName(1234), '00000000000000001234.seg');
    assert.equal(segmentFileName(Number.MAX_SAFE_INTEGER), '00009007199254740991.seg');
    for (const id of [0, 1, 9, 10, 1234, 4_294_967_296, Number.MAX_SAFE_INTEGER]) {
      const name = segmentFileName(id);
      assert.equal(name.length, 24);
      assert.equal(parseSegmentFileName(name), id);
    }
  });

  test('sort lexically in id order', () => {
    const ids = [5, 40, 300, 2_000_000, 7, 1_000_000_000_000];
    const byName = ids.map(segmentFileName).sort().map((n) => parseSegmentFileName(n));
    assert.deepEqual(byName, [...ids].sort((a, b) => a - b));
  });

  test('reject anything else', () => {
    const bad = [
      '',
      '.seg',
      '0000000000000000001.seg', // 19 digits
      '000000000000000000001.seg', // 21 digits
      '00000000000000000001.SEG',
      '00000000000000000001.sег', // Cyrillic lookalikes
      '00000000000000000001.seg.tmp',
      '00000000000000000001',
      '0000000000000000000a.seg',
      '-0000000000000000001.seg',
      '+0000000000000000001.seg',
      ' 0000000000000000001.seg',
      '0000000000000000.5e1.seg',
      '0x000000000000000001.seg',
      '99999999999999999999.seg', // beyond 2^53: not representable as a safe id
      '00000000000000000001.se',
      '00000000000000000001xseg',
      'LOCK',
    ];
    for (const name of bad) assert.equal(parseSegmentFileName(name), null, JSON.stringify(name));
  });
});
