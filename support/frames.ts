/**
 * Builds record frames and segment images with the format functions (`encodeFrame`, the segment
 * encoders), so format tests and fixtures do not go through the engine (whose writers are
 * `encodeFrameInto` on the main thread and the flush worker). `encodeFrame` itself is checked
 * against bytes spelled out by hand in test/unit/format/record.test.ts and against the golden
 * fixtures, which is what keeps this second writer of the layout honest.
 */
import { crc32 } from 'node:zlib';
import { encodeFrame, frameLength } from '../src/format/record.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, encodeFooterInto, encodeHeaderInto } from '../src/format/segment.js';

/** One record to lay out as a frame: its payload (copied) and its timestamp in ms. */
export interface FrameSpec {
  payload: Uint8Array;
  timestamp: number;
}

/** Data region holding `records` as frames with their real CRCs (padding zeroed). */
export function buildFrames(records: readonly FrameSpec[]): Uint8Array {
  let total = 0;
  for (const r of records) total += frameLength(r.payload.length);
  const out = new Uint8Array(total);
  let off = 0;
  for (const r of records) off = encodeFrame(out, off, r.payload, r.timestamp);
  return out;
}

/** A whole segment file image to build: header fields, the records, and optionally a footer. */
export interface SegmentSpec {
  baseId: number;
  segmentBytes: number;
  createdAt: number;
  records: readonly FrameSpec[];
  /** When set, a footer sealed at this time is appended; when absent the image is unsealed. */
  sealedAt?: number;
}

/** A whole segment file image: header, frames, and a footer when `sealedAt` is given. */
export function buildSegment(spec: SegmentSpec): Uint8Array {
  const data = buildFrames(spec.records);
  const sealed = spec.sealedAt !== undefined;
  const out = new Uint8Array(SEGMENT_HEADER_BYTES + data.length + (sealed ? SEGMENT_FOOTER_BYTES : 0));
  encodeHeaderInto(out, 0, { segmentBytes: spec.segmentBytes, baseId: spec.baseId, createdAt: spec.createdAt });
  out.set(data, SEGMENT_HEADER_BYTES);
  if (spec.sealedAt !== undefined) {
    const ts = spec.records.map((r) => r.timestamp);
    encodeFooterInto(out, SEGMENT_HEADER_BYTES + data.length, {
      recordCount: spec.records.length,
      baseId: spec.baseId,
      dataBytes: data.length,
      dataCrc: crc32(data),
      minTimestamp: ts.length > 0 ? Math.min(...ts) : Number.NaN,
      maxTimestamp: ts.length > 0 ? Math.max(...ts) : Number.NaN,
      sealedAt: spec.sealedAt,
    });
  }
  return out;
}

/** Payload of `size` bytes whose content is a simple function of (seed, index), for odd-size tests. */
export function patternPayload(seed: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (seed * 31 + i * 7 + 1) & 0xff;
  return out;
}
