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
 * Invariants the decoders enforce (a file breaking one is AOF_ERR_CORRUPT): CRCs first, then
 * version (an intact header or footer of a newer version, or an unknown codec, is
 * AOF_ERR_INCOMPATIBLE: never treated as damage), declared lengths, ids that fit a safe integer,
 * record data in multiples of 8 (the record alignment rule); index entries tile the data region,
 * the records and the compressed area exactly, in order, each frame holding at least one record;
 * header and footer agree on baseId and recordCount. An empty segment has no frames.
 *
 * Trade-offs: the index sits at the end so the writer streams frames without knowing their sizes
 * in advance (one pass, one temp file); a reader pays two small reads (footer, then index) before
 * the first frame, which {@link readTier1Meta} (src/format/tier1-file.ts) does once per file. The
 * compressed frames themselves carry no CRC: damage is caught by the zstd decoder or by `rawCrc`
 * after decompression, and the decompressed length is checked against `rawBytes`.
 */
import { crc32 } from 'node:zlib';
import { AofError, ErrorCode } from '../errors.js';
import { viewOf as view } from './bytes.js';
import { ENVELOPE_BYTES, beginEnvelope, checkEnvelope, sealEnvelope, type EnvelopeSpec } from './envelope.js';

export const TIER1_MAGIC = 'AOF2T1\0\0';
export const TIER1_FOOTER_MAGIC = 'AOF2T1E\0';
export const TIER1_VERSION = 1;
export const TIER1_HEADER_BYTES = ENVELOPE_BYTES;
export const TIER1_FOOTER_BYTES = ENVELOPE_BYTES;
export const TIER1_INDEX_ENTRY_BYTES = 32;
export const CODEC_ZSTD = 1;
/** Codec ids this version can decode. */
export const TIER1_KNOWN_CODECS: readonly number[] = [CODEC_ZSTD];
/** Every record frame is a multiple of this (format/record.ts RECORD_ALIGN), so raw sizes are too. */
const RAW_ALIGN = 8;
/** Smallest record frame: a 16-byte header with an empty payload. */
const MIN_FRAME_BYTES = 16;
const HEADER: EnvelopeSpec = { magic: TIER1_MAGIC, version: TIER1_VERSION, what: 'tier 1 header' };
const FOOTER: EnvelopeSpec = { magic: TIER1_FOOTER_MAGIC, version: TIER1_VERSION, what: 'tier 1 footer' };

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

function readU64(v: DataView, at: number, what: string): number {
  const n = v.getBigUint64(at, true);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw AofError.corrupt(`${what} ${n} does not fit a safe integer`, { offset: at, value: n.toString() });
  return Number(n);
}

function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw AofError.invalidArgument(`tier 1 field ${name} must be an integer in [0, ${max}], got ${value}`, { field: name, value });
  }
}

const U8 = 0xff;
const U32 = 0xffff_ffff;
const SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Writes a header into `bytes[off, off + 64)`; returns the offset after it.
 * @throws AOF_ERR_INVALID_ARGUMENT if a field does not fit its width (never wraps silently)
 */
export function encodeTier1HeaderInto(bytes: Uint8Array, off: number, h: Tier1Header): number {
  checkField('codec', h.codec, U8);
  checkField('level', h.level, U8);
  checkField('baseId', h.baseId, SAFE);
  checkField('recordCount', h.recordCount, U32);
  checkField('dataBytes', h.dataBytes, U32);
  checkField('dataCrc', h.dataCrc, U32);
  checkField('frameTarget', h.frameTarget, U32);
  const v = beginEnvelope(bytes, off, HEADER);
  v.setUint8(off + 12, h.codec);
  v.setUint8(off + 13, h.level);
  v.setBigUint64(off + 16, BigInt(h.baseId), true);
  v.setUint32(off + 24, h.recordCount, true);
  v.setUint32(off + 28, h.dataBytes, true);
  v.setUint32(off + 32, h.dataCrc, true);
  v.setUint32(off + 36, h.frameTarget, true);
  v.setFloat64(off + 40, h.createdAt, true);
  return sealEnvelope(bytes, off);
}

/**
 * @throws AOF_ERR_CORRUPT on short input, wrong magic, CRC, version 0, declared length, an id past
 *   2^53 or a data length that breaks the 8-byte record alignment;
 *   AOF_ERR_INCOMPATIBLE on a newer version or an unknown codec
 */
export function decodeTier1Header(bytes: Uint8Array, off = 0): Tier1Header {
  const v = checkEnvelope(bytes, off, HEADER);
  const header: Tier1Header = {
    codec: v.getUint8(off + 12),
    level: v.getUint8(off + 13),
    baseId: readU64(v, off + 16, 'tier 1 header baseId'),
    recordCount: v.getUint32(off + 24, true),
    dataBytes: v.getUint32(off + 28, true),
    dataCrc: v.getUint32(off + 32, true),
    frameTarget: v.getUint32(off + 36, true),
    createdAt: v.getFloat64(off + 40, true),
  };
  if (!TIER1_KNOWN_CODECS.includes(header.codec)) {
    throw new AofError(ErrorCode.INCOMPATIBLE, `tier 1 codec ${header.codec} is not known to this aof2`, { details: { offset: off + 12, codec: header.codec } });
  }
  if (header.dataBytes % RAW_ALIGN !== 0 || header.dataBytes < header.recordCount * MIN_FRAME_BYTES) {
    throw AofError.corrupt(`tier 1 header: ${header.dataBytes} data bytes cannot hold ${header.recordCount} aligned records`, {
      offset: off + 24,
      dataBytes: header.dataBytes,
      recordCount: header.recordCount,
    });
  }
  return header;
}

/**
 * Encodes the frame index (all entries) into a new buffer.
 * @throws AOF_ERR_INVALID_ARGUMENT if a field does not fit its width
 */
export function encodeFrameIndex(entries: readonly FrameIndexEntry[]): Uint8Array {
  const out = new Uint8Array(entries.length * TIER1_INDEX_ENTRY_BYTES);
  const v = view(out);
  entries.forEach((e, i) => {
    checkField('firstRecord', e.firstRecord, U32);
    checkField('recordCount', e.recordCount, U32);
    checkField('rawOffset', e.rawOffset, U32);
    checkField('rawBytes', e.rawBytes, U32);
    checkField('fileOffset', e.fileOffset, SAFE);
    checkField('compressedBytes', e.compressedBytes, U32);
    checkField('rawCrc', e.rawCrc, U32);
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

/**
 * Throws unless `e` is a frame the writer can produce: an empty frame never comes from it, and a
 * frame holds whole aligned records. Anything else would let a reader loop or read outside the
 * frame. Shared by the Tier 1 file's index and the index recorded in the manifest.
 * @throws AOF_ERR_CORRUPT
 */
export function checkPossibleFrame(e: Pick<FrameIndexEntry, 'recordCount' | 'rawBytes' | 'compressedBytes'>, i: number, what: string): void {
  if (e.recordCount === 0 || e.compressedBytes === 0 || e.rawBytes % RAW_ALIGN !== 0 || e.rawBytes < e.recordCount * MIN_FRAME_BYTES) {
    throw AofError.corrupt(`${what} entry ${i} is not a possible frame`, {
      entry: i,
      recordCount: e.recordCount,
      rawBytes: e.rawBytes,
      compressedBytes: e.compressedBytes,
    });
  }
}

/**
 * Decodes and validates the whole index against its footer and header.
 * @throws AOF_ERR_CORRUPT when the length, the CRC or the internal consistency fails (see the
 *   invariants in the module comment), or header and footer disagree
 */
export function decodeFrameIndex(bytes: Uint8Array, footer: Tier1Footer, header: Tier1Header): FrameIndexEntry[] {
  if (header.recordCount !== footer.recordCount || header.baseId !== footer.baseId) {
    throw AofError.corrupt('tier 1 header and footer disagree', {
      header: { recordCount: header.recordCount, baseId: header.baseId },
      footer: { recordCount: footer.recordCount, baseId: footer.baseId },
    });
  }
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
      fileOffset: readU64(v, o + 16, `tier 1 frame ${i} fileOffset`),
      compressedBytes: v.getUint32(o + 24, true),
      rawCrc: v.getUint32(o + 28, true),
    };
    if (e.firstRecord !== nextRecord || e.rawOffset !== nextRaw || e.fileOffset !== nextFile) {
      throw AofError.corrupt(`tier 1 frame index entry ${i} does not continue the previous one`, { entry: i });
    }
    checkPossibleFrame(e, i, 'tier 1 frame index');
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

/**
 * Writes a footer into `bytes[off, off + 64)`; returns the offset after it.
 * @throws AOF_ERR_INVALID_ARGUMENT if a field does not fit its width
 */
export function encodeTier1FooterInto(bytes: Uint8Array, off: number, f: Tier1Footer): number {
  checkField('frameCount', f.frameCount, U32);
  checkField('indexOffset', f.indexOffset, SAFE);
  checkField('indexCrc', f.indexCrc, U32);
  checkField('recordCount', f.recordCount, U32);
  checkField('baseId', f.baseId, SAFE);
  const v = beginEnvelope(bytes, off, FOOTER);
  v.setUint32(off + 12, f.frameCount, true);
  v.setBigUint64(off + 16, BigInt(f.indexOffset), true);
  v.setUint32(off + 24, f.indexCrc, true);
  v.setUint32(off + 28, f.recordCount, true);
  v.setBigUint64(off + 32, BigInt(f.baseId), true);
  return sealEnvelope(bytes, off);
}

/**
 * @throws AOF_ERR_CORRUPT on short input, wrong magic, CRC, version 0, declared length, an offset
 *   or id past 2^53, or an index offset inside the header; AOF_ERR_INCOMPATIBLE on a newer version
 */
export function decodeTier1Footer(bytes: Uint8Array, off = 0): Tier1Footer {
  const v = checkEnvelope(bytes, off, FOOTER);
  const footer: Tier1Footer = {
    frameCount: v.getUint32(off + 12, true),
    indexOffset: readU64(v, off + 16, 'tier 1 footer indexOffset'),
    indexCrc: v.getUint32(off + 24, true),
    recordCount: v.getUint32(off + 28, true),
    baseId: readU64(v, off + 32, 'tier 1 footer baseId'),
  };
  if (footer.indexOffset < TIER1_HEADER_BYTES) {
    throw AofError.corrupt(`tier 1 footer puts the index at ${footer.indexOffset}, inside the header`, { offset: off + 16, indexOffset: footer.indexOffset });
  }
  return footer;
}

/** Size of a whole Tier 1 file whose index starts at `indexOffset` and has `frameCount` entries. */
export function tier1FileBytes(indexOffset: number, frameCount: number): number {
  return indexOffset + frameCount * TIER1_INDEX_ENTRY_BYTES + TIER1_FOOTER_BYTES;
}

/**
 * Index of the frame holding record `recordIndex` (0-based within the segment), by binary search
 * over `firstRecord`. `entries` must be a validated index ({@link decodeFrameIndex}).
 * @throws AOF_ERR_OUT_OF_RANGE if `recordIndex` is not an integer in [0, total records)
 */
export function frameForRecord(entries: readonly FrameIndexEntry[], recordIndex: number): number {
  const last = entries[entries.length - 1];
  const total = last === undefined ? 0 : last.firstRecord + last.recordCount;
  if (!Number.isInteger(recordIndex) || recordIndex < 0 || recordIndex >= total) {
    throw new AofError(ErrorCode.OUT_OF_RANGE, `record ${recordIndex} is not in this tier 1 segment (${total} records)`, {
      details: { recordIndex, recordCount: total },
    });
  }
  let lo = 0;
  let hi = entries.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (entries[mid]!.firstRecord <= recordIndex) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
