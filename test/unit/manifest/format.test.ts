/** Manifest record / chunk header / snapshot codecs: round trips, validation, and every coded failure. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { AofError, ErrorCode } from '../../../src/errors.js';
import {
  CHUNK_HEADER_BYTES,
  FIELDS,
  ManifestRecordType as T,
  decodeChunkHeader,
  decodeManifestRecord,
  encodeChunkHeaderInto,
  encodeManifestRecordInto,
  manifestRecordLength,
  validateManifestRecord,
  type ManifestRecord,
} from '../../../src/format/manifest.js';
import {
  FLAG_FRAME_INDEX,
  SNAPSHOT_HEADER_BYTES,
  SegmentState,
  decodeSnapshot,
  decodeSnapshotHeader,
  encodeSnapshot,
  type CatalogEntry,
} from '../../../src/format/snapshot.js';
import { chunkFileName, parseChunkFileName, parseSnapshotFileName, snapshotFileName } from '../../../src/format/root-layout.js';

const code = (c: string) => (err: unknown) => err instanceof AofError && err.code === c;

function encode(record: ManifestRecord): Uint8Array {
  const out = new Uint8Array(manifestRecordLength(record));
  assert.equal(encodeManifestRecordInto(out, 0, record), out.length);
  return out;
}

function recrc(bytes: Uint8Array, off = 0): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  const body = v.getUint32(off, true);
  v.setUint32(off + 8, crc32(bytes.subarray(off + 12, off + 12 + body), crc32(bytes.subarray(off + 4, off + 8))), true);
}

describe('manifest records', () => {
  test('every type round-trips, with names of every padding length and extreme values', () => {
    for (const type of Object.values(T)) {
      if (type === T.FRAME_INDEX) continue; // its frames follow its frame count: tested below
      for (const stream of ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'abcdef', 'abcdefg', 'x'.repeat(128)]) {
        const fields: Record<string, number> = {};
        FIELDS[type].forEach((name, i) => (fields[name] = i === 0 ? 0xffff_ffff : i * 7));
        // Built from the FIELDS table for every type at once: the cast states what the loop ensures.
        const record = { type, stream, baseId: Number.MAX_SAFE_INTEGER, fields } as ManifestRecord;
        const bytes = encode(record);
        assert.equal(bytes.length % 8, 0);
        assert.equal(bytes.length, Math.ceil((12 + 2 + stream.length + 8 + 4 * FIELDS[type].length) / 8) * 8);
        const r = decodeManifestRecord(bytes, 0, bytes.length);
        assert.deepEqual(r, { ok: true, record, next: bytes.length });
      }
    }
  });

  test('missing fields encode as 0; the layout is little-endian as documented', () => {
    // The types require every field; an untyped (JavaScript) caller may still leave one out.
    const partial = { type: T.COMPRESSION_DONE, stream: 'ab', baseId: 0x0102030405, fields: { frameCount: 9 } };
    const bytes = encode(partial as unknown as ManifestRecord);
    const v = new DataView(bytes.buffer);
    assert.equal(v.getUint32(0, true), 2 + 2 + 8 + 8, 'bodyBytes');
    assert.equal(v.getUint16(4, true), 3, 'type');
    assert.equal(v.getUint16(6, true), 1, 'version');
    assert.equal(v.getUint16(12, true), 2, 'name length');
    assert.equal(String.fromCharCode(bytes[14]!, bytes[15]!), 'ab');
    assert.equal(v.getBigUint64(16, true), 0x0102030405n);
    assert.deepEqual([v.getUint32(24, true), v.getUint32(28, true)], [0, 9]);
    const r = decodeManifestRecord(bytes, 0, bytes.length);
    assert.ok(r.ok);
    assert.deepEqual(r.record.fields, { compressedBytes: 0, frameCount: 9 });
  });

  test('validation refuses what would not decode to itself', () => {
    const ok: ManifestRecord = { type: T.SEALED, stream: 's', baseId: 1, fields: { recordCount: 0, dataBytes: 0, dataCrc: 0, maxTimeSec: 0 } };
    validateManifestRecord(ok);
    const bad: unknown[] = [
      null,
      { ...ok, type: 99 },
      { ...ok, stream: 'é' },
      { ...ok, stream: 'x'.repeat(65_536) },
      { ...ok, stream: 5 },
      { ...ok, baseId: -1 },
      { ...ok, baseId: 1.5 },
      { ...ok, baseId: 2 ** 53 },
      { ...ok, fields: null },
      { ...ok, fields: { recordCnt: 1 } },
      { ...ok, fields: { recordCount: 2 ** 32 } },
      { ...ok, fields: { recordCount: -1 } },
      { ...ok, fields: { recordCount: 0.5 } },
    ];
    for (const record of bad) {
      assert.throws(() => validateManifestRecord(record as ManifestRecord), code(ErrorCode.INVALID_ARGUMENT), JSON.stringify(record));
      assert.throws(() => encodeManifestRecordInto(new Uint8Array(1024), 0, record as ManifestRecord), code(ErrorCode.INVALID_ARGUMENT));
    }
  });

  test('a flipped bit anywhere is caught: crc or length, never a wrong record', () => {
    const bytes = encode({ type: T.SEALED, stream: 'order', baseId: 42, fields: { recordCount: 1, dataBytes: 2, dataCrc: 3, maxTimeSec: 0 } });
    assert.equal(bytes.length, 48, '43 bytes + 5 bytes of padding');
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const copy = bytes.slice();
      copy[bit >> 3]! ^= 1 << (bit & 7);
      const r = decodeManifestRecord(copy, 0, copy.length);
      const inPadding = (bit >> 3) >= 12 + 2 + 5 + 8 + 16;
      if (inPadding) assert.ok(r.ok, 'padding is not covered by the record CRC (the chunk CRC covers it)');
      else assert.ok(!r.ok && r.next > 0, `bit ${bit}: ${JSON.stringify(r)}`);
    }
  });

  test('truncated, too-short and wrong-shape records; an unknown type or version only when the CRC checks out', () => {
    const bytes = encode({ type: T.EVICTED, stream: 's', baseId: 1, fields: {} });
    assert.deepEqual(decodeManifestRecord(bytes, 0, 11), { ok: false, reason: 'truncated', next: 11 });
    assert.deepEqual(decodeManifestRecord(bytes, 0, bytes.length - 8), { ok: false, reason: 'truncated', next: bytes.length - 8 });
    assert.deepEqual(decodeManifestRecord(bytes, 0, 10_000), { ok: true, record: { type: T.EVICTED, stream: 's', baseId: 1, fields: {} }, next: 24 }, 'end is clamped');
    const short = bytes.slice();
    new DataView(short.buffer).setUint32(0, 9, true);
    assert.deepEqual(decodeManifestRecord(short, 0, short.length), { ok: false, reason: 'length', next: short.length });
    const unknown = bytes.slice();
    new DataView(unknown.buffer).setUint16(4, 77, true);
    assert.equal((decodeManifestRecord(unknown, 0, unknown.length) as { reason: string }).reason, 'crc');
    recrc(unknown);
    assert.deepEqual(decodeManifestRecord(unknown, 0, unknown.length), { ok: false, reason: 'unknown-type', type: 77, version: 1, next: 24 });
    const newer = bytes.slice();
    new DataView(newer.buffer).setUint16(6, 2, true);
    recrc(newer);
    assert.deepEqual(decodeManifestRecord(newer, 0, newer.length), { ok: false, reason: 'unknown-type', type: T.EVICTED, version: 2, next: 24 });
    // Known type with a body of the wrong size for it (and a CRC that checks out): a writer bug.
    const shape = encode({ type: T.SEALED, stream: 's', baseId: 1, fields: { recordCount: 0, dataBytes: 0, dataCrc: 0, maxTimeSec: 0 } });
    new DataView(shape.buffer).setUint16(4, T.EVICTED, true);
    recrc(shape);
    assert.equal((decodeManifestRecord(shape, 0, shape.length) as { reason: string }).reason, 'length');
  });

  test('FRAME_INDEX: the frame count, then 16 bytes per frame; round-trips with 0, 1 and 3 frames', () => {
    for (const frameCount of [0, 1, 3]) {
      const frames = Uint8Array.from({ length: 16 * frameCount }, (_, i) => (i * 37 + frameCount) & 0xff);
      const record: ManifestRecord = { type: T.FRAME_INDEX, stream: 'orders', baseId: 4096, fields: { frameCount }, frames };
      const bytes = encode(record);
      // prefix 12 + name length 2 + 'orders' 6 + baseId 8 + frameCount 4 + frames, padded to 8
      assert.equal(bytes.length, Math.ceil((12 + 2 + 6 + 8 + 4 + 16 * frameCount) / 8) * 8);
      const v = new DataView(bytes.buffer);
      assert.equal(v.getUint32(0, true), 2 + 6 + 8 + 4 + 16 * frameCount, 'bodyBytes');
      assert.equal(v.getUint16(4, true), 12, 'type 12');
      assert.equal(v.getUint32(12 + 2 + 6 + 8, true), frameCount, 'frameCount after baseId');
      assert.deepEqual(bytes.subarray(12 + 2 + 6 + 8 + 4, 12 + 2 + 6 + 8 + 4 + 16 * frameCount), frames, 'the frames, verbatim');
      const r = decodeManifestRecord(bytes, 0, bytes.length);
      assert.deepEqual(r, { ok: true, record, next: bytes.length });
      assert.ok(r.ok && r.record.type === T.FRAME_INDEX && r.record.frames.buffer !== bytes.buffer, 'the decoded frames are a copy');
    }
  });

  test('FRAME_INDEX: frames that disagree with the frame count are refused when encoding and are a length failure when decoding', () => {
    const frames = new Uint8Array(32);
    assert.throws(() => encode({ type: T.FRAME_INDEX, stream: 's', baseId: 0, fields: { frameCount: 3 }, frames }), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => encode({ type: T.FRAME_INDEX, stream: 's', baseId: 0, fields: { frameCount: 2 } } as unknown as ManifestRecord), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(
      () => encode({ type: T.FRAME_INDEX, stream: 's', baseId: 0, fields: { frameCount: 4097 }, frames: new Uint8Array(16 * 4097) }),
      code(ErrorCode.INVALID_ARGUMENT),
      'past MAX_RECORDED_FRAMES',
    );
    // A CRC-valid record whose frame count says 3 over 2 frames: a writer bug, never a wrong index.
    const bytes = encode({ type: T.FRAME_INDEX, stream: 's', baseId: 0, fields: { frameCount: 2 }, frames });
    new DataView(bytes.buffer).setUint32(12 + 2 + 1 + 8, 3, true);
    recrc(bytes);
    assert.equal((decodeManifestRecord(bytes, 0, bytes.length) as { reason: string }).reason, 'length');
  });

  test('a huge length field never wraps into a short or stalled skip', () => {
    const bytes = encode({ type: T.EVICTED, stream: 's', baseId: 1, fields: {} });
    for (const value of [0xffff_fff0, 0xffff_fff4, 0xffff_ffff, 0x7fff_fffc, 0x8000_0000]) {
      const copy = bytes.slice();
      new DataView(copy.buffer).setUint32(0, value, true);
      assert.deepEqual(decodeManifestRecord(copy, 0, copy.length), { ok: false, reason: 'truncated', next: copy.length }, `bodyBytes ${value}`);
    }
  });

  test('file names', () => {
    assert.equal(chunkFileName(7), '00000000000000000007.mlog');
    assert.equal(parseChunkFileName('00000000000000000007.mlog'), 7);
    assert.equal(parseChunkFileName('7.mlog'), null);
    assert.equal(parseChunkFileName('00000000000000000007.mlog.tmp'), null);
    assert.equal(snapshotFileName(12), '00000000000000000012.snap');
    assert.equal(parseSnapshotFileName('00000000000000000012.snap'), 12);
    assert.equal(parseSnapshotFileName('00000000000000000012.snap.tmp'), null);
  });
});

describe('manifest chunk header', () => {
  const header = { committedBytes: 4096, chunkSeq: 2 ** 40, recordCount: 17, chunkCrc: 0xfeedface, createdAt: 1_700_000_000_000.5 };
  const encoded = (): Uint8Array => {
    const out = new Uint8Array(CHUNK_HEADER_BYTES + 8);
    assert.equal(encodeChunkHeaderInto(out, 8, header), CHUNK_HEADER_BYTES + 8);
    return out;
  };

  test('round-trips at an offset', () => {
    assert.deepEqual(decodeChunkHeader(encoded(), 8), header);
  });

  test('truncated, magic, CRC, header length and odd committedBytes are AOF_ERR_CORRUPT; a newer version is AOF_ERR_INCOMPATIBLE', () => {
    assert.throws(() => decodeChunkHeader(encoded().subarray(0, 70), 8), code(ErrorCode.CORRUPT));
    const magic = encoded();
    magic[8] = 0;
    assert.throws(() => decodeChunkHeader(magic, 8), code(ErrorCode.CORRUPT));
    const flipped = encoded();
    flipped[8 + 30]! ^= 4;
    assert.throws(() => decodeChunkHeader(flipped, 8), /CRC/);
    const withField = (at: number, value: number, size: 2 | 4): Uint8Array => {
      const b = encoded();
      const v = new DataView(b.buffer);
      if (size === 2) v.setUint16(8 + at, value, true);
      else v.setUint32(8 + at, value, true);
      v.setUint32(8 + 60, crc32(b.subarray(8, 8 + 60)), true);
      return b;
    };
    assert.throws(() => decodeChunkHeader(withField(8, 2, 2), 8), code(ErrorCode.INCOMPATIBLE));
    assert.throws(() => decodeChunkHeader(withField(10, 128, 2), 8), code(ErrorCode.CORRUPT));
    assert.throws(() => decodeChunkHeader(withField(12, 4100, 4), 8), code(ErrorCode.CORRUPT));
  });
});

describe('catalog snapshot', () => {
  const entry = (baseId: number, extra: Partial<CatalogEntry> = {}): CatalogEntry => ({
    baseId,
    recordCount: 1,
    dataBytes: 2,
    dataCrc: 3,
    state: SegmentState.TIER1,
    flags: 3,
    attempts: 4,
    compressedBytes: 5,
    frameCount: 6,
    objectBytes: 7,
    maxTimeSec: 8,
    ...extra,
  });
  const meta = { watermarkChunk: 12, watermarkOffset: 4096, snapshotSeq: 5, createdAt: 1_700_000_000_000 };

  test('round-trips; streams come back in name order, entry blocks are 8-aligned', () => {
    const streams = new Map([
      ['zeta', [entry(0), entry(4096, { state: SegmentState.NEEDS_RECOVERY, attempts: 70_000 })]],
      ['abc', [entry(Number.MAX_SAFE_INTEGER)]],
      ['empty', []],
    ]);
    const bytes = encodeSnapshot(streams, meta);
    const snap = decodeSnapshot(bytes);
    assert.deepEqual([...snap.streams.keys()], ['abc', 'empty', 'zeta']);
    assert.equal(snap.streams.get('zeta')![1]!.attempts, 0xffff, 'attempts saturate at u16');
    assert.deepEqual(snap.streams.get('abc'), [entry(Number.MAX_SAFE_INTEGER)]);
    assert.deepEqual(
      { ...snap.header, bodyCrc: 0 },
      { bodyBytes: bytes.length - SNAPSHOT_HEADER_BYTES, watermarkChunk: 12, watermarkOffset: 4096, streamCount: 3, segmentCount: 3, bodyCrc: 0, createdAt: meta.createdAt, snapshotSeq: 5 },
    );
    // 'abc' block: 8-byte stream header + 'abc' padded to 8 + one 40-byte entry.
    assert.equal(bytes.length, 64 + (8 + 8 + 40) + (8 + 8) + (8 + 8 + 80));
    assert.deepEqual(decodeSnapshotHeader(bytes), snap.header);
  });

  test('an empty catalog round-trips', () => {
    const snap = decodeSnapshot(encodeSnapshot(new Map(), meta));
    assert.equal(snap.streams.size, 0);
    assert.equal(snap.header.bodyBytes, 0);
  });

  test('the encoder refuses entries out of order and non-ASCII names', () => {
    assert.throws(() => encodeSnapshot(new Map([['s', [entry(5), entry(5)]]]), meta), code(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => encodeSnapshot(new Map([['ß', []]]), meta), code(ErrorCode.INVALID_ARGUMENT));
  });

  test('every damage is AOF_ERR_CORRUPT; a newer version is AOF_ERR_INCOMPATIBLE', () => {
    const good = encodeSnapshot(new Map([['s', [entry(0), entry(10)]], ['t', [entry(0)]]]), meta);
    const rebody = (b: Uint8Array): Uint8Array => {
      const v = new DataView(b.buffer);
      v.setUint32(36, crc32(b.subarray(64)), true);
      v.setUint32(60, crc32(b.subarray(0, 60)), true);
      return b;
    };
    const cases: [string, Uint8Array, string][] = [];
    cases.push(['truncated header', good.subarray(0, 63), ErrorCode.CORRUPT]);
    cases.push(['truncated body', good.subarray(0, good.length - 1), ErrorCode.CORRUPT]);
    const extended = new Uint8Array(good.length + 8);
    extended.set(good);
    cases.push(['extended', extended, ErrorCode.CORRUPT]);
    for (let i = 0; i < good.length; i += 7) {
      const b = good.slice();
      b[i]! ^= 0x10;
      cases.push([`bit flip at ${i}`, b, ErrorCode.CORRUPT]);
    }
    const version = good.slice();
    new DataView(version.buffer).setUint16(8, 3, true);
    cases.push(['version 3', rebody(version), ErrorCode.INCOMPATIBLE]);
    const zero = good.slice();
    new DataView(zero.buffer).setUint16(8, 0, true);
    cases.push(['version 0', rebody(zero), ErrorCode.CORRUPT]);
    const flagged = good.slice();
    flagged[64 + 16 + 21]! |= FLAG_FRAME_INDEX;
    cases.push(['a version 1 entry flagging a frame index (CRC fixed)', rebody(flagged), ErrorCode.CORRUPT]);
    const order = good.slice();
    new DataView(order.buffer).setBigUint64(64 + 16 + 40, 0n, true); // second entry of 's' now repeats baseId 0
    cases.push(['entries out of order (CRC fixed)', rebody(order), ErrorCode.CORRUPT]);
    const state = good.slice();
    state[64 + 16 + 20] = 9;
    cases.push(['unknown state (CRC fixed)', rebody(state), ErrorCode.CORRUPT]);
    const count = good.slice();
    new DataView(count.buffer).setUint32(32, 4, true);
    cases.push(['segment count (CRC fixed)', rebody(count), ErrorCode.CORRUPT]);
    const streams = good.slice();
    new DataView(streams.buffer).setUint32(28, 3, true);
    cases.push(['stream count past the body (CRC fixed)', rebody(streams), ErrorCode.CORRUPT]);
    const dup = encodeSnapshot(new Map([['s', [entry(0)]], ['t', [entry(0)]]]), meta);
    dup[64 + 8 + 8 + 40 + 8] = 's'.charCodeAt(0);
    cases.push(['repeated stream name (CRC fixed)', rebody(dup), ErrorCode.CORRUPT]);
    for (const [name, bytes, expected] of cases) assert.throws(() => decodeSnapshot(bytes), code(expected), name);
  });

  test('version 2 only when an entry carries a frame index: 16 bytes per frame after its 40-byte entry, flag bit 2', () => {
    const plain = encodeSnapshot(new Map([['s', [entry(0)]]]), meta);
    assert.equal(new DataView(plain.buffer).getUint16(8, true), 1, 'no index: version 1, as before');
    const index = Uint8Array.from({ length: 16 * 6 }, (_, i) => i);
    const withIndex = new Map([['s', [entry(0, { frameIndex: index }), entry(4096)]]]);
    const bytes = encodeSnapshot(withIndex, meta);
    const v = new DataView(bytes.buffer);
    assert.equal(v.getUint16(8, true), 2, 'version 2');
    assert.equal(bytes.length, 64 + 8 + 8 + (40 + 96) + 40);
    assert.equal(bytes[64 + 16 + 21], 3 | FLAG_FRAME_INDEX, 'flags: uploaded, evicted, and the index bit');
    assert.deepEqual(bytes.subarray(64 + 16 + 40, 64 + 16 + 40 + 96), index, 'the index follows its entry');
    assert.equal(bytes[64 + 16 + 136 + 21], 3, 'the next entry has no index');
    const snap = decodeSnapshot(bytes);
    assert.deepEqual(snap.streams.get('s'), [entry(0, { frameIndex: index }), entry(4096)], 'the flag bit is not part of the entry: frameIndex says it');
    assert.throws(() => encodeSnapshot(new Map([['s', [entry(0, { frameIndex: new Uint8Array(16) })]]]), meta), code(ErrorCode.INVALID_ARGUMENT), 'index of the wrong length');
    // An index running past the body (CRC fixed): corrupt, never a read past the end.
    const short = encodeSnapshot(new Map([['s', [entry(0, { frameIndex: index })]]]), meta);
    new DataView(short.buffer).setUint32(64 + 16 + 28, 7, true);
    const sv = new DataView(short.buffer);
    sv.setUint32(36, crc32(short.subarray(64)), true);
    sv.setUint32(60, crc32(short.subarray(0, 60)), true);
    assert.throws(() => decodeSnapshot(short), code(ErrorCode.CORRUPT));
  });
});
