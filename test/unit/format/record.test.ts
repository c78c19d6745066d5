import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { AofError, ErrorCode } from '../../../src/errors.js';
import {
  RECORD_ALIGN,
  RECORD_CRC_OFFSET,
  RECORD_HEADER_BYTES,
  RECORD_LENGTH_OFFSET,
  RECORD_PAYLOAD_OFFSET,
  RECORD_TIMESTAMP_OFFSET,
  decodeFrame,
  encodeFrame,
  encodeFrameInto,
  frameCrc,
  frameLength,
  frameOffsetOf,
  framePayloadLengthAt,
  frameTimestampAt,
  nextFrameOffset,
  readFramePayloadLength,
  readFrameTimestamp,
  scanFrames,
  sealFrameCrc,
} from '../../../src/format/record.js';
import { buildFrames, patternPayload, type FrameSpec } from '../../../support/frames.js';

/** One record of every payload size 0..40, so every padding amount occurs several times. */
const ODD: FrameSpec[] = Array.from({ length: 41 }, (_, size) => ({ payload: patternPayload(size, size), timestamp: 1_700_000_000_000 + size * 3 }));

/** Start offset of each frame in a region built from `records`, plus the end as the last entry. */
function offsetsOf(records: readonly FrameSpec[]): number[] {
  const out = [0];
  for (const r of records) out.push(out[out.length - 1]! + frameLength(r.payload.length));
  return out;
}

function isCorrupt(err: unknown): boolean {
  return err instanceof AofError && err.code === ErrorCode.CORRUPT;
}

describe('frameLength', () => {
  test('is 16 + payload rounded up to 8, for every size 0..64', () => {
    for (let n = 0; n <= 64; n++) {
      const len = frameLength(n);
      assert.equal(len % RECORD_ALIGN, 0, `size ${n}`);
      assert.ok(len >= RECORD_HEADER_BYTES + n && len < RECORD_HEADER_BYTES + n + RECORD_ALIGN, `size ${n}: ${len}`);
      assert.equal(len, RECORD_HEADER_BYTES + Math.ceil(n / RECORD_ALIGN) * RECORD_ALIGN, `size ${n}`);
    }
  });

  test('stays exact for lengths a corrupt u32 field or a 2 GiB payload can reach (regression)', () => {
    // The former `(16 + n + 7) & ~7` wrapped through Int32 here: 0 or negative frame lengths.
    assert.equal(frameLength(2 ** 31 - 24), 2 ** 31 - 8);
    assert.equal(frameLength(2 ** 31 - 23), 2 ** 31);
    assert.equal(frameLength(2 ** 31), 2 ** 31 + 16);
    assert.equal(frameLength(0xffff_fff0), 0x1_0000_0000);
    assert.equal(frameLength(0xffff_ffff), 0x1_0000_0010);
  });
});

describe('frameCrc', () => {
  test('covers timestamp and payload, not length, crc field or padding', () => {
    const data = buildFrames([{ payload: patternPayload(1, 5), timestamp: 42.5 }]);
    const expected = crc32(data.subarray(RECORD_TIMESTAMP_OFFSET, RECORD_PAYLOAD_OFFSET + 5));
    assert.equal(frameCrc(data, 0, 5), expected);
    assert.equal(new DataView(data.buffer).getUint32(RECORD_CRC_OFFSET, true), expected);
    const padded = data.slice();
    padded[RECORD_PAYLOAD_OFFSET + 6] = 0xaa; // padding byte
    assert.equal(frameCrc(padded, 0, 5), expected);
    const stamped = data.slice();
    stamped[RECORD_TIMESTAMP_OFFSET] = stamped[RECORD_TIMESTAMP_OFFSET]! ^ 1;
    assert.notEqual(frameCrc(stamped, 0, 5), expected);
  });
});

describe('scanFrames', () => {
  test('accepts valid frames of every odd size and reports count, bytes and timestamps', () => {
    const data = buildFrames(ODD);
    const scan = scanFrames(data, 0, data.length);
    assert.deepEqual(scan, {
      count: ODD.length,
      validBytes: data.length,
      minTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_000 + 40 * 3,
      stopReason: null,
    });
  });

  test('scans a region that starts at an offset inside a view with a non-zero byteOffset', () => {
    const data = buildFrames(ODD.slice(3, 12));
    // 24 bytes of junk before the view, a 64-byte "header" inside it: both offsets must be honoured.
    const backing = new Uint8Array(24 + 64 + data.length).fill(0xee);
    backing.set(data, 24 + 64);
    const view = backing.subarray(24);
    const scan = scanFrames(view, 64, 64 + data.length);
    assert.equal(scan.count, 9);
    assert.equal(scan.validBytes, data.length);
    assert.equal(scan.stopReason, null);
    assert.equal(frameOffsetOf(view, 64, 64 + data.length, 5), offsetsOf(ODD.slice(3, 12))[5]);
  });

  test('an empty region holds no frames', () => {
    const scan = scanFrames(new Uint8Array(0), 0, 0);
    assert.equal(scan.count, 0);
    assert.equal(scan.validBytes, 0);
    assert.ok(Number.isNaN(scan.minTimestamp) && Number.isNaN(scan.maxTimestamp));
    assert.equal(scan.stopReason, null);
  });

  test('stops at zero fill after the last frame (a preallocated or sparse tail)', () => {
    const data = buildFrames(ODD.slice(0, 7));
    const region = new Uint8Array(data.length + 256);
    region.set(data);
    const scan = scanFrames(region, 0, region.length);
    assert.equal(scan.count, 7);
    assert.equal(scan.validBytes, data.length);
    assert.match(scan.stopReason ?? '', /^zero fill at \d+$/);
  });

  test('a flipped bit anywhere in a frame (except padding) stops the scan at that frame', () => {
    const records = ODD.slice(10, 18);
    const data = buildFrames(records);
    const offsets = offsetsOf(records);
    for (let k = 0; k < records.length; k++) {
      const start = offsets[k]!;
      const covered = RECORD_PAYLOAD_OFFSET + records[k]!.payload.length;
      for (let byte = 0; byte < covered; byte++) {
        const bad = data.slice();
        bad[start + byte] = bad[start + byte]! ^ (1 << (byte % 8));
        const scan = scanFrames(bad, 0, bad.length);
        assert.equal(scan.count, k, `frame ${k} byte ${byte}`);
        assert.equal(scan.validBytes, start, `frame ${k} byte ${byte}`);
        assert.notEqual(scan.stopReason, null);
        if (byte >= RECORD_CRC_OFFSET) assert.equal(scan.stopReason, `crc mismatch at ${start}`);
      }
    }
  });

  test('a truncated region keeps exactly the frames that are complete', () => {
    const records = ODD.slice(20, 26);
    const data = buildFrames(records);
    const offsets = offsetsOf(records);
    for (let cut = 0; cut < data.length; cut++) {
      const scan = scanFrames(data.subarray(0, cut), 0, cut);
      const complete = offsets.filter((o, i) => i > 0 && o <= cut).length;
      assert.equal(scan.count, complete, `cut ${cut}`);
      assert.equal(scan.validBytes, offsets[complete], `cut ${cut}`);
      if (cut === offsets[complete]) assert.equal(scan.stopReason, null, `cut ${cut} on a frame boundary`);
      else assert.match(scan.stopReason ?? '', /^(partial header|frame at \d+ claims \d+ payload bytes, past the end)/, `cut ${cut}`);
    }
  });

  test('a length pointing past the end stops the scan, with or without a matching CRC', () => {
    const records = ODD.slice(0, 4);
    const offsets = offsetsOf(records);
    const last = offsets[3]!;
    for (const len of [1_000_000, 2 ** 31 - 23, 2 ** 31, 0xffff_fff0, 0xffff_ffff]) {
      const data = buildFrames(records);
      const view = new DataView(data.buffer);
      view.setUint32(last + RECORD_LENGTH_OFFSET, len, true);
      // Regression: make the CRC match what a clamped subarray covers. With the wrapping frameLength
      // this frame "checked out" with length 0 (infinite loop) or a negative length (RangeError).
      view.setUint32(last + RECORD_CRC_OFFSET, crc32(data.subarray(last + RECORD_TIMESTAMP_OFFSET)), true);
      const scan = scanFrames(data, 0, data.length);
      assert.equal(scan.count, 3, `len ${len}`);
      assert.equal(scan.validBytes, last);
      assert.equal(scan.stopReason, `frame at ${last} claims ${len} payload bytes, past the end`);
    }
  });

  test('scanning stops at end even when more valid frames follow', () => {
    const data = buildFrames(ODD.slice(0, 6));
    const offsets = offsetsOf(ODD.slice(0, 6));
    const scan = scanFrames(data, 0, offsets[4]!);
    assert.equal(scan.count, 4);
    assert.equal(scan.stopReason, null);
  });
});

describe('frameOffsetOf', () => {
  test('hops over frame lengths to the start of frame i', () => {
    const data = buildFrames(ODD);
    const offsets = offsetsOf(ODD);
    for (let i = 0; i <= ODD.length; i++) assert.equal(frameOffsetOf(data, 0, data.length, i), offsets[i]);
  });

  test('throws AOF_ERR_CORRUPT when a length points outside the region', () => {
    const data = buildFrames(ODD.slice(0, 3));
    new DataView(data.buffer).setUint32(frameLength(0) + RECORD_LENGTH_OFFSET, 10_000, true);
    assert.throws(() => frameOffsetOf(data, 0, data.length, 3), isCorrupt);
  });
});

/** A frame written by hand, field by field at literal offsets: what every encoder must produce. */
function handFrame(payload: Uint8Array, timestamp: number, crc: number): Uint8Array {
  const out = new Uint8Array(16 + Math.ceil(payload.length / 8) * 8);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, crc, true);
  view.setFloat64(8, timestamp, true);
  out.set(payload, 16);
  return out;
}

describe('frame encoders and readers', () => {
  test('encodeFrame writes the hand-built bytes, CRC included, and returns the next offset', () => {
    for (const { payload, timestamp } of ODD) {
      const expected = handFrame(payload, timestamp, crc32(handFrame(payload, timestamp, 0).subarray(8, 16 + payload.length)));
      const out = new Uint8Array(expected.length + 8).fill(0xee);
      assert.equal(encodeFrame(out, 8, payload, timestamp), 8 + expected.length);
      assert.deepEqual(out.subarray(8), expected, `payload ${payload.length}`);
      assert.deepEqual(out.subarray(0, 8), new Uint8Array(8).fill(0xee), 'nothing before the frame is touched');
    }
  });

  test('encodeFrameInto (the hot path) writes the same bytes with a zero CRC and zeroes stale padding', () => {
    const sab = new SharedArrayBuffer(4096);
    const u8 = new Uint8Array(sab);
    const u32 = new Uint32Array(sab);
    const f64 = new Float64Array(sab);
    const view = new DataView(sab);
    let at = 64;
    u8.fill(0xee); // a reused slot: stale bytes everywhere
    for (const { payload, timestamp } of ODD) {
      const frame = frameLength(payload.length);
      encodeFrameInto(u8, u32, f64, at, frame, payload, timestamp);
      assert.deepEqual(u8.slice(at, at + frame), handFrame(payload, timestamp, 0), `payload ${payload.length}`);
      assert.equal(framePayloadLengthAt(u32, at), payload.length);
      assert.equal(frameTimestampAt(f64, at), timestamp);
      assert.equal(readFramePayloadLength(view, at), payload.length);
      assert.equal(readFrameTimestamp(view, at), timestamp);
      assert.equal(nextFrameOffset(view, at), at + frame);
      // What the flush worker does next: the CRC, then the frame is what encodeFrame writes.
      assert.equal(sealFrameCrc(u8, view, at, payload.length), frameCrc(u8, at, payload.length));
      const sealed = new Uint8Array(frame);
      encodeFrame(sealed, 0, payload, timestamp);
      assert.deepEqual(u8.slice(at, at + frame), sealed);
      at += frame;
    }
    const scan = scanFrames(u8, 64, at);
    assert.equal(scan.count, ODD.length);
    assert.equal(scan.stopReason, null);
  });

  test('decodeFrame returns a view of the payload and the next offset', () => {
    const data = buildFrames(ODD);
    let off = 0;
    for (const { payload, timestamp } of ODD) {
      const d = decodeFrame(data, off);
      assert.equal(d.timestamp, timestamp);
      assert.deepEqual(d.payload, payload);
      assert.equal(d.payload.buffer, data.buffer, 'a view, not a copy');
      off = d.next;
    }
    assert.equal(off, data.length);
  });
});
