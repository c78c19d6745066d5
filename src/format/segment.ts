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
 * 36  4  crcBytes     u32  data bytes [0, crcBytes) that prefixCrc covers; 0 = none. Written with
 *                          durableBytes from the flush worker's running data CRC, so recovery
 *                          computes the footer's dataCrc over the bytes past it only (issue 13).
 * 40  4  prefixCrc    u32  zlib.crc32 of data bytes [0, crcBytes)
 * 44  16 reserved     zero
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
import { viewOf } from './bytes.js';
import { ENVELOPE_BYTES, beginEnvelope, checkEnvelope, isEnvelope, sealEnvelope, type EnvelopeSpec } from './envelope.js';

export const SEGMENT_MAGIC = 'AOF2SEG\0';
export const SEGMENT_FOOTER_MAGIC = 'AOF2END\0';
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = ENVELOPE_BYTES;
export const SEGMENT_FOOTER_BYTES = ENVELOPE_BYTES;
const HEADER: EnvelopeSpec = { magic: SEGMENT_MAGIC, version: SEGMENT_VERSION, what: 'segment header' };
const FOOTER: EnvelopeSpec = { magic: SEGMENT_FOOTER_MAGIC, version: SEGMENT_VERSION, what: 'segment footer' };

export interface SegmentHeader {
  segmentBytes: number;
  baseId: number;
  createdAt: number;
  /** Data bytes the flush worker had fsynced when it last wrote the header; absent when 0 (unknown). */
  durableBytes?: number;
  /**
   * The flush worker's running CRC when it last wrote the header: `prefixCrc` is the zlib.crc32 of
   * data bytes [0, crcBytes). Absent when crcBytes is 0 (older files, a fresh header, a repair).
   * A hint for recovery, not a check: the frames past and below it are still CRC-checked one by one.
   */
  prefix?: { crcBytes: number; prefixCrc: number };
}

/** Offset of `durableBytes` in the header. */
export const SEGMENT_HEADER_DURABLE_OFFSET = 32;
const SEGMENT_HEADER_CRC_BYTES_OFFSET = 36;
const SEGMENT_HEADER_PREFIX_CRC_OFFSET = 40;

export interface SegmentFooter {
  recordCount: number;
  baseId: number;
  dataBytes: number;
  dataCrc: number;
  minTimestamp: number;
  maxTimestamp: number;
  sealedAt: number;
}

/** Writes a header into `bytes[off, off + 64)`; returns the offset after it. */
export function encodeHeaderInto(bytes: Uint8Array, off: number, header: SegmentHeader): number {
  const view = beginEnvelope(bytes, off, HEADER);
  view.setUint32(off + 12, header.segmentBytes, true);
  view.setBigUint64(off + 16, BigInt(header.baseId), true);
  view.setFloat64(off + 24, header.createdAt, true);
  view.setUint32(off + SEGMENT_HEADER_DURABLE_OFFSET, header.durableBytes ?? 0, true);
  view.setUint32(off + SEGMENT_HEADER_CRC_BYTES_OFFSET, header.prefix?.crcBytes ?? 0, true);
  view.setUint32(off + SEGMENT_HEADER_PREFIX_CRC_OFFSET, header.prefix?.prefixCrc ?? 0, true);
  return sealEnvelope(bytes, off);
}

/**
 * Checks run in the envelope's order (src/format/envelope.ts): the version after the CRC, so an
 * intact header with a higher version, written by a newer aof2, is refused as incompatible — never
 * treated as damage (recovery deletes a damaged tail).
 * @throws AOF_ERR_CORRUPT on short input, wrong magic, CRC, version 0 or declared header length;
 *   AOF_ERR_INCOMPATIBLE on a version newer than this build
 */
export function decodeHeader(bytes: Uint8Array, off = 0): SegmentHeader {
  const view = checkEnvelope(bytes, off, HEADER);
  const durableBytes = view.getUint32(off + SEGMENT_HEADER_DURABLE_OFFSET, true);
  const crcBytes = view.getUint32(off + SEGMENT_HEADER_CRC_BYTES_OFFSET, true);
  return {
    segmentBytes: view.getUint32(off + 12, true),
    baseId: Number(view.getBigUint64(off + 16, true)),
    createdAt: view.getFloat64(off + 24, true),
    ...(durableBytes === 0 ? {} : { durableBytes }),
    ...(crcBytes === 0 ? {} : { prefix: { crcBytes, prefixCrc: view.getUint32(off + SEGMENT_HEADER_PREFIX_CRC_OFFSET, true) } }),
  };
}

/** Writes a footer into `bytes[off, off + 64)`; returns the offset after it. */
export function encodeFooterInto(bytes: Uint8Array, off: number, footer: SegmentFooter): number {
  const view = beginEnvelope(bytes, off, FOOTER);
  view.setUint32(off + 12, footer.recordCount, true);
  view.setBigUint64(off + 16, BigInt(footer.baseId), true);
  view.setUint32(off + 24, footer.dataBytes, true);
  view.setUint32(off + 28, footer.dataCrc, true);
  view.setFloat64(off + 32, footer.minTimestamp, true);
  view.setFloat64(off + 40, footer.maxTimestamp, true);
  view.setFloat64(off + 48, footer.sealedAt, true);
  return sealEnvelope(bytes, off);
}

/**
 * Decodes a footer, or returns null when the bytes are not a valid footer (short input, wrong
 * magic, version, CRC or declared footer length):
 * at recovery that simply means "unsealed, scan it", which is not an error.
 */
export function tryDecodeFooter(bytes: Uint8Array, off = 0): SegmentFooter | null {
  if (!isEnvelope(bytes, off, FOOTER)) return null;
  const view = viewOf(bytes);
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
