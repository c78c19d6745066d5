/**
 * Tier 1 file: a sealed segment compressed as independent zstd frames, so a point read
 * decompresses one frame and a Tier 2 read fetches one byte range.
 * Path: `<root>/streams/<name>/<baseId as 20 digits>.t1`.
 *
 * ```
 * file offset     size         content
 * 0               64           header
 * 64              C0           frame 0: one zstd frame holding whole record frames (format/record.ts)
 * 64 + C0         C1           frame 1 ...
 * indexOffset     32 * F       frame index, one entry per frame (below)
 * indexOffset+32F 64           footer
 * ```
 * Header (little-endian):
 * ```
 * 0   8  magic         "AOF2T1\0\0"
 * 8   2  version       u16 = 1
 * 10  2  headerBytes   u16 = 64
 * 12  1  codec         u8  1 = zstd
 * 13  1  level         u8  compression level used
 * 14  2  reserved      zero
 * 16  8  baseId        u64
 * 24  4  recordCount   u32
 * 28  4  dataBytes     u32  raw bytes of record frames (the segment's data region)
 * 32  4  dataCrc       u32  zlib.crc32 of the raw data region (equals the segment footer's dataCrc)
 * 36  4  frameTarget   u32  raw bytes per frame the writer aimed for
 * 40  8  createdAt     f64
 * 48  12 reserved      zero
 * 60  4  headerCrc     u32  zlib.crc32 of bytes [0, 60)
 * ```
 * Frame index entry (32 bytes):
 * ```
 * 0   4  firstRecord      u32  index (within the segment) of the first record in the frame
 * 4   4  recordCount      u32
 * 8   4  rawOffset        u32  offset of the frame's first record in the raw data region
 * 12  4  rawBytes         u32
 * 16  8  fileOffset       u64  where the compressed frame starts in this file
 * 24  4  compressedBytes  u32
 * 28  4  rawCrc           u32  zlib.crc32 of the frame's raw bytes (checked after decompression)
 * ```
 * Footer (64 bytes):
 * ```
 * 0   8  magic         "AOF2T1E\0"
 * 8   2  version       u16 = 1
 * 10  2  footerBytes   u16 = 64
 * 12  4  frameCount    u32
 * 16  8  indexOffset   u64
 * 24  4  indexCrc      u32  zlib.crc32 of the whole frame index
 * 28  4  recordCount   u32  repeated from the header
 * 32  8  baseId        u64  repeated from the header
 * 40  20 reserved      zero
 * 60  4  footerCrc     u32  zlib.crc32 of bytes [0, 60)
 * ```
 */
import { crc32 } from 'node:zlib';
import { AofError } from '../errors.js';

export const TIER1_MAGIC = 'AOF2T1\0\0';
export const TIER1_FOOTER_MAGIC = 'AOF2T1E\0';
export const TIER1_VERSION = 1;
export const TIER1_HEADER_BYTES = 64;
export const TIER1_FOOTER_BYTES = 64;
export const TIER1_INDEX_ENTRY_BYTES = 32;
export const TIER1_FILE_SUFFIX = '.t1';
export const CODEC_ZSTD = 1;
const CHECKED_BYTES = 60;

export interface Tier1Header {
  codec: number;
  level: number;
  baseId: number;
  recordCount: number;
  dataBytes: number;
  dataCrc: number;
  frameTarget: number;
  createdAt: number;
}

export interface FrameIndexEntry {
  firstRecord: number;
  recordCount: number;
  rawOffset: number;
  rawBytes: number;
  fileOffset: number;
  compressedBytes: number;
  rawCrc: number;
}

export interface Tier1Footer {
  frameCount: number;
  indexOffset: number;
  indexCrc: number;
  recordCount: number;
  baseId: number;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function putMagic(bytes: Uint8Array, off: number, magic: string): void {
  for (let i = 0; i < 8; i++) bytes[off + i] = magic.charCodeAt(i);
}

function hasMagic(bytes: Uint8Array, off: number, magic: string): boolean {
  for (let i = 0; i < 8; i++) if (bytes[off + i] !== magic.charCodeAt(i)) return false;
  return true;
}

function sealCrc(bytes: Uint8Array, off: number): void {
  view(bytes).setUint32(off + CHECKED_BYTES, crc32(bytes.subarray(off, off + CHECKED_BYTES)), true);
}

function checkCrc(bytes: Uint8Array, off: number, what: string): void {
  const stored = view(bytes).getUint32(off + CHECKED_BYTES, true);
  const actual = crc32(bytes.subarray(off, off + CHECKED_BYTES));
  if (stored !== actual) throw AofError.corrupt(`${what} CRC mismatch`, { offset: off + CHECKED_BYTES, stored, actual });
}

export function encodeTier1HeaderInto(bytes: Uint8Array, off: number, h: Tier1Header): number {
  bytes.fill(0, off, off + TIER1_HEADER_BYTES);
  const v = view(bytes);
  putMagic(bytes, off, TIER1_MAGIC);
  v.setUint16(off + 8, TIER1_VERSION, true);
  v.setUint16(off + 10, TIER1_HEADER_BYTES, true);
  v.setUint8(off + 12, h.codec);
  v.setUint8(off + 13, h.level);
  v.setBigUint64(off + 16, BigInt(h.baseId), true);
  v.setUint32(off + 24, h.recordCount, true);
  v.setUint32(off + 28, h.dataBytes, true);
  v.setUint32(off + 32, h.dataCrc, true);
  v.setUint32(off + 36, h.frameTarget, true);
  v.setFloat64(off + 40, h.createdAt, true);
  sealCrc(bytes, off);
  return off + TIER1_HEADER_BYTES;
}

/** @throws AOF_ERR_CORRUPT */
export function decodeTier1Header(bytes: Uint8Array, off = 0): Tier1Header {
  if (bytes.length - off < TIER1_HEADER_BYTES) {
    throw AofError.corrupt(`tier 1 header truncated: expected ${TIER1_HEADER_BYTES} bytes, got ${bytes.length - off}`, { offset: off });
  }
  if (!hasMagic(bytes, off, TIER1_MAGIC)) throw AofError.corrupt('tier 1 header has wrong magic', { offset: off });
  const v = view(bytes);
  const version = v.getUint16(off + 8, true);
  if (version !== TIER1_VERSION) throw AofError.corrupt(`tier 1 version ${version} is not supported (expected ${TIER1_VERSION})`, { version });
  checkCrc(bytes, off, 'tier 1 header');
  return {
    codec: v.getUint8(off + 12),
    level: v.getUint8(off + 13),
    baseId: Number(v.getBigUint64(off + 16, true)),
    recordCount: v.getUint32(off + 24, true),
    dataBytes: v.getUint32(off + 28, true),
    dataCrc: v.getUint32(off + 32, true),
    frameTarget: v.getUint32(off + 36, true),
    createdAt: v.getFloat64(off + 40, true),
  };
}

/** Encodes the frame index (all entries) into a new buffer. */
export function encodeFrameIndex(entries: readonly FrameIndexEntry[]): Uint8Array {
  const out = new Uint8Array(entries.length * TIER1_INDEX_ENTRY_BYTES);
  const v = view(out);
  entries.forEach((e, i) => {
    const o = i * TIER1_INDEX_ENTRY_BYTES;
    v.setUint32(o, e.firstRecord, true);
    v.setUint32(o + 4, e.recordCount, true);
    v.setUint32(o + 8, e.rawOffset, true);
    v.setUint32(o + 12, e.rawBytes, true);
    v.setBigUint64(o + 16, BigInt(e.fileOffset), true);
    v.setUint32(o + 24, e.compressedBytes, true);
    v.setUint32(o + 28, e.rawCrc, true);
  });
  return out;
}

/** @throws AOF_ERR_CORRUPT when the index CRC or its internal consistency fails */
export function decodeFrameIndex(bytes: Uint8Array, footer: Tier1Footer, header: Tier1Header): FrameIndexEntry[] {
  if (bytes.length !== footer.frameCount * TIER1_INDEX_ENTRY_BYTES) {
    throw AofError.corrupt('tier 1 frame index has the wrong length', { expected: footer.frameCount * TIER1_INDEX_ENTRY_BYTES, actual: bytes.length });
  }
  const actual = crc32(bytes);
  if (actual !== footer.indexCrc) throw AofError.corrupt('tier 1 frame index CRC mismatch', { stored: footer.indexCrc, actual });
  const v = view(bytes);
  const entries: FrameIndexEntry[] = [];
  let nextRecord = 0;
  let nextRaw = 0;
  let nextFile = TIER1_HEADER_BYTES;
  for (let i = 0; i < footer.frameCount; i++) {
    const o = i * TIER1_INDEX_ENTRY_BYTES;
    const e: FrameIndexEntry = {
      firstRecord: v.getUint32(o, true),
      recordCount: v.getUint32(o + 4, true),
      rawOffset: v.getUint32(o + 8, true),
      rawBytes: v.getUint32(o + 12, true),
      fileOffset: Number(v.getBigUint64(o + 16, true)),
      compressedBytes: v.getUint32(o + 24, true),
      rawCrc: v.getUint32(o + 28, true),
    };
    if (e.firstRecord !== nextRecord || e.rawOffset !== nextRaw || e.fileOffset !== nextFile) {
      throw AofError.corrupt(`tier 1 frame index entry ${i} does not continue the previous one`, { entry: i });
    }
    nextRecord += e.recordCount;
    nextRaw += e.rawBytes;
    nextFile += e.compressedBytes;
    entries.push(e);
  }
  if (nextRecord !== header.recordCount || nextRaw !== header.dataBytes || nextFile !== footer.indexOffset) {
    throw AofError.corrupt('tier 1 frame index does not cover the segment exactly', {
      records: nextRecord,
      rawBytes: nextRaw,
      indexOffset: nextFile,
    });
  }
  return entries;
}

export function encodeTier1FooterInto(bytes: Uint8Array, off: number, f: Tier1Footer): number {
  bytes.fill(0, off, off + TIER1_FOOTER_BYTES);
  const v = view(bytes);
  putMagic(bytes, off, TIER1_FOOTER_MAGIC);
  v.setUint16(off + 8, TIER1_VERSION, true);
  v.setUint16(off + 10, TIER1_FOOTER_BYTES, true);
  v.setUint32(off + 12, f.frameCount, true);
  v.setBigUint64(off + 16, BigInt(f.indexOffset), true);
  v.setUint32(off + 24, f.indexCrc, true);
  v.setUint32(off + 28, f.recordCount, true);
  v.setBigUint64(off + 32, BigInt(f.baseId), true);
  sealCrc(bytes, off);
  return off + TIER1_FOOTER_BYTES;
}

/** @throws AOF_ERR_CORRUPT */
export function decodeTier1Footer(bytes: Uint8Array, off = 0): Tier1Footer {
  if (bytes.length - off < TIER1_FOOTER_BYTES) throw AofError.corrupt('tier 1 footer truncated', { offset: off });
  if (!hasMagic(bytes, off, TIER1_FOOTER_MAGIC)) throw AofError.corrupt('tier 1 footer has wrong magic', { offset: off });
  const v = view(bytes);
  const version = v.getUint16(off + 8, true);
  if (version !== TIER1_VERSION) throw AofError.corrupt(`tier 1 footer version ${version} is not supported`, { version });
  checkCrc(bytes, off, 'tier 1 footer');
  return {
    frameCount: v.getUint32(off + 12, true),
    indexOffset: Number(v.getBigUint64(off + 16, true)),
    indexCrc: v.getUint32(off + 24, true),
    recordCount: v.getUint32(off + 28, true),
    baseId: Number(v.getBigUint64(off + 32, true)),
  };
}

/** Index of the frame holding record `recordIndex` (binary search over firstRecord). */
export function frameForRecord(entries: readonly FrameIndexEntry[], recordIndex: number): number {
  let lo = 0;
  let hi = entries.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (entries[mid]!.firstRecord <= recordIndex) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
