/**
 * Segment file: `<root>/streams/<name>/<baseId as 20 digits>.seg`.
 *
 * ```
 * file offset        size  content
 * 0                  64    header (below)
 * 64                 D     data region: record frames (format/record.ts), D = dataBytes
 * 64 + D             64    footer (below), present only once the segment is sealed
 * ```
 * A sealed file is exactly 64 + D + 64 bytes long; its footer is trusted at recovery (no scan).
 * An unsealed file (the tail after a crash) has no valid footer and is scanned frame by frame.
 *
 * Header (all little-endian):
 * ```
 * 0   8  magic        "AOF2SEG\0"
 * 8   2  version      u16 = 1
 * 10  2  headerBytes  u16 = 64
 * 12  4  segmentBytes u32  data capacity of the slot the segment was written from
 * 16  8  baseId       u64  id of the first record
 * 24  8  createdAt    f64  ms since epoch
 * 32  4  durableBytes u32  data bytes known fsynced when the header was last written; 0 = unknown.
 *                          The flush worker rewrites the header after each fdatasync of an unsealed
 *                          segment (the next sync makes it durable): recovery refuses to treat
 *                          anything below it as a torn tail. Older files hold 0 here (reserved).
 * 36  24 reserved     zero
 * 60  4  headerCrc    u32  zlib.crc32 of bytes [0, 60)
 * ```
 * Footer:
 * ```
 * 0   8  magic        "AOF2END\0"
 * 8   2  version      u16 = 1
 * 10  2  footerBytes  u16 = 64
 * 12  4  recordCount  u32
 * 16  8  baseId       u64  repeated from the header, cross-checked
 * 24  4  dataBytes    u32  D
 * 28  4  dataCrc      u32  zlib.crc32 of the whole data region
 * 32  8  minTimestamp f64
 * 40  8  maxTimestamp f64
 * 48  8  sealedAt     f64  ms since epoch
 * 56  4  reserved     zero
 * 60  4  footerCrc    u32  zlib.crc32 of bytes [0, 60)
 * ```
 */
import { crc32 } from 'node:zlib';
import { AofError, ErrorCode } from '../errors.js';
import { viewOf } from './bytes.js';

export const SEGMENT_MAGIC = 'AOF2SEG\0';
export const SEGMENT_FOOTER_MAGIC = 'AOF2END\0';
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 64;
export const SEGMENT_FOOTER_BYTES = 64;
/** Bytes covered by the header/footer CRC: everything before the CRC field. */
const CHECKED_BYTES = 60;
const MAGIC_BYTES = 8;
/** File names carry the base id zero-padded to the width of 2^64, so lexical order is id order. */
const ID_DIGITS = 20;
export const SEGMENT_FILE_SUFFIX = '.seg';

export interface SegmentHeader {
  segmentBytes: number;
  baseId: number;
  createdAt: number;
  /** Data bytes the flush worker had fsynced when it last wrote the header; absent when 0 (unknown). */
  durableBytes?: number;
}

/** Offset of `durableBytes` in the header. */
export const SEGMENT_HEADER_DURABLE_OFFSET = 32;

export interface SegmentFooter {
  recordCount: number;
  baseId: number;
  dataBytes: number;
  dataCrc: number;
  minTimestamp: number;
  maxTimestamp: number;
  sealedAt: number;
}

function writeMagic(view: DataView, off: number, magic: string): void {
  for (let i = 0; i < MAGIC_BYTES; i++) view.setUint8(off + i, magic.charCodeAt(i));
}

function hasMagic(bytes: Uint8Array, off: number, magic: string): boolean {
  for (let i = 0; i < MAGIC_BYTES; i++) if (bytes[off + i] !== magic.charCodeAt(i)) return false;
  return true;
}

/** Writes a header into `bytes[off, off + 64)`; returns the offset after it. */
export function encodeHeaderInto(bytes: Uint8Array, off: number, header: SegmentHeader): number {
  bytes.fill(0, off, off + SEGMENT_HEADER_BYTES);
  const view = viewOf(bytes);
  writeMagic(view, off, SEGMENT_MAGIC);
  view.setUint16(off + 8, SEGMENT_VERSION, true);
  view.setUint16(off + 10, SEGMENT_HEADER_BYTES, true);
  view.setUint32(off + 12, header.segmentBytes, true);
  view.setBigUint64(off + 16, BigInt(header.baseId), true);
  view.setFloat64(off + 24, header.createdAt, true);
  view.setUint32(off + SEGMENT_HEADER_DURABLE_OFFSET, header.durableBytes ?? 0, true);
  view.setUint32(off + CHECKED_BYTES, crc32(bytes.subarray(off, off + CHECKED_BYTES)), true);
  return off + SEGMENT_HEADER_BYTES;
}

/**
 * @throws AOF_ERR_CORRUPT on short input, wrong magic, CRC, version 0 or declared header length;
 *   AOF_ERR_INCOMPATIBLE on a version newer than this build
 */
export function decodeHeader(bytes: Uint8Array, off = 0): SegmentHeader {
  if (bytes.length - off < SEGMENT_HEADER_BYTES) {
    throw AofError.corrupt(`segment header truncated: expected ${SEGMENT_HEADER_BYTES} bytes, got ${bytes.length - off}`, { offset: off });
  }
  if (!hasMagic(bytes, off, SEGMENT_MAGIC)) throw AofError.corrupt('segment header has wrong magic', { offset: off });
  const view = viewOf(bytes);
  const stored = view.getUint32(off + CHECKED_BYTES, true);
  const actual = crc32(bytes.subarray(off, off + CHECKED_BYTES));
  if (stored !== actual) throw AofError.corrupt('segment header CRC mismatch', { offset: off + CHECKED_BYTES, stored, actual });
  // Version after the CRC: an intact header with a higher version was written by a newer aof2 and
  // must be refused as incompatible — never treated as damage (recovery deletes a damaged tail).
  const version = view.getUint16(off + 8, true);
  if (version > SEGMENT_VERSION) {
    throw new AofError(ErrorCode.INCOMPATIBLE, `segment version ${version} is newer than this aof2 understands (${SEGMENT_VERSION})`, {
      details: { offset: off + 8, version },
    });
  }
  if (version !== SEGMENT_VERSION) {
    throw AofError.corrupt(`segment version ${version} is not supported (expected ${SEGMENT_VERSION})`, { offset: off + 8, version });
  }
  // Checked after the CRC: a header that passes its CRC but declares another length was written by
  // a different (incompatible) writer, not damaged in transit.
  const headerBytes = view.getUint16(off + 10, true);
  if (headerBytes !== SEGMENT_HEADER_BYTES) {
    throw AofError.corrupt(`segment header declares ${headerBytes} bytes (expected ${SEGMENT_HEADER_BYTES})`, { offset: off + 10, headerBytes });
  }
  const durableBytes = view.getUint32(off + SEGMENT_HEADER_DURABLE_OFFSET, true);
  return {
    segmentBytes: view.getUint32(off + 12, true),
    baseId: Number(view.getBigUint64(off + 16, true)),
    createdAt: view.getFloat64(off + 24, true),
    ...(durableBytes === 0 ? {} : { durableBytes }),
  };
}

/** Writes a footer into `bytes[off, off + 64)`; returns the offset after it. */
export function encodeFooterInto(bytes: Uint8Array, off: number, footer: SegmentFooter): number {
  bytes.fill(0, off, off + SEGMENT_FOOTER_BYTES);
  const view = viewOf(bytes);
  writeMagic(view, off, SEGMENT_FOOTER_MAGIC);
  view.setUint16(off + 8, SEGMENT_VERSION, true);
  view.setUint16(off + 10, SEGMENT_FOOTER_BYTES, true);
  view.setUint32(off + 12, footer.recordCount, true);
  view.setBigUint64(off + 16, BigInt(footer.baseId), true);
  view.setUint32(off + 24, footer.dataBytes, true);
  view.setUint32(off + 28, footer.dataCrc, true);
  view.setFloat64(off + 32, footer.minTimestamp, true);
  view.setFloat64(off + 40, footer.maxTimestamp, true);
  view.setFloat64(off + 48, footer.sealedAt, true);
  view.setUint32(off + CHECKED_BYTES, crc32(bytes.subarray(off, off + CHECKED_BYTES)), true);
  return off + SEGMENT_FOOTER_BYTES;
}

/**
 * Decodes a footer, or returns null when the bytes are not a valid footer (short input, wrong
 * magic, version, CRC or declared footer length):
 * at recovery that simply means "unsealed, scan it", which is not an error.
 */
export function tryDecodeFooter(bytes: Uint8Array, off = 0): SegmentFooter | null {
  if (bytes.length - off < SEGMENT_FOOTER_BYTES || !hasMagic(bytes, off, SEGMENT_FOOTER_MAGIC)) return null;
  const view = viewOf(bytes);
  if (view.getUint16(off + 8, true) !== SEGMENT_VERSION) return null;
  if (view.getUint32(off + CHECKED_BYTES, true) !== crc32(bytes.subarray(off, off + CHECKED_BYTES))) return null;
  if (view.getUint16(off + 10, true) !== SEGMENT_FOOTER_BYTES) return null;
  return {
    recordCount: view.getUint32(off + 12, true),
    baseId: Number(view.getBigUint64(off + 16, true)),
    dataBytes: view.getUint32(off + 24, true),
    dataCrc: view.getUint32(off + 28, true),
    minTimestamp: view.getFloat64(off + 32, true),
    maxTimestamp: view.getFloat64(off + 40, true),
    sealedAt: view.getFloat64(off + 48, true),
  };
}

/** `00000000000000001234.seg` for base id 1234. */
export function segmentFileName(baseId: number): string {
  return String(baseId).padStart(ID_DIGITS, '0') + SEGMENT_FILE_SUFFIX;
}

/** Base id encoded in a segment file name, or null if the name is not a segment file. */
export function parseSegmentFileName(name: string): number | null {
  if (name.length !== ID_DIGITS + SEGMENT_FILE_SUFFIX.length || !name.endsWith(SEGMENT_FILE_SUFFIX)) return null;
  const digits = name.slice(0, ID_DIGITS);
  if (!/^[0-9]+$/.test(digits)) return null;
  const id = Number(digits);
  return Number.isSafeInteger(id) ? id : null;
}
