/**
 * Catalog snapshot: the whole catalog at one point of the manifest log, so replay starts there
 * instead of at the first chunk. `<dir>/<snapshotSeq as 20 digits>.snap`, written to a temp name,
 * fsynced and renamed (src/manifest/manifest-log.ts), so a snapshot file is whole or absent.
 *
 * ```
 * 0    64   header (below)
 * 64   B    body: one block per stream (below), streams in ascending name order
 * ```
 * Header (little-endian):
 * ```
 * 0   8  magic            "AOF2SNP\0"
 * 8   2  version          u16 = 1 or 2: 2 when an entry carries a recorded frame index (below)
 * 10  2  headerBytes      u16 = 64
 * 12  4  bodyBytes        u32
 * 16  8  watermarkChunk   u64  the snapshot covers every manifest record before this position:
 * 24  4  watermarkOffset  u32  chunk `watermarkChunk`, `watermarkOffset` bytes into its record
 *                              area (a committedBytes value, so a record boundary; 0 = the chunk's
 *                              first record)
 * 28  4  streamCount      u32
 * 32  4  segmentCount     u32  entries in all streams together
 * 36  4  bodyCrc          u32  zlib.crc32 of the body
 * 40  8  createdAt        f64
 * 48  8  snapshotSeq      u64  equals the file name
 * 56  4  reserved         zero
 * 60  4  headerCrc        u32  zlib.crc32 of bytes [0, 60)
 * ```
 * Stream block (8-aligned, like everything else: one alignment rule):
 * ```
 * 0   2  nameLength       u16
 * 2   2  reserved         zero
 * 4   4  segmentCount     u32
 * 8   N  name (ASCII), zero-padded to a multiple of 8
 * ..  40 * segmentCount   entries, ascending baseId
 * ```
 * Entry (40 bytes):
 * ```
 * 0   8  baseId           u64
 * 8   4  recordCount      u32
 * 12  4  dataBytes        u32
 * 16  4  dataCrc          u32
 * 20  1  state            u8   SegmentState
 * 21  1  flags            u8   bit 0: uploaded to Tier 2, bit 1: local Tier 1 copy evicted,
 *                              bit 2 (version 2 only): a recorded frame index follows the entry
 * 22  2  attempts         u16  failed compression attempts (saturates at 65535)
 * 24  4  compressedBytes  u32
 * 28  4  frameCount       u32
 * 32  4  objectBytes      u32  size of the Tier 2 object
 * 36  4  maxTimeSec       u32  newest record's timestamp, whole seconds since the epoch (0: unknown)
 * 40  16F frameIndex           only when flags bit 2 is set: the recorded frame index, frameCount
 *                              entries of 16 bytes (src/format/recorded-index.ts)
 * ```
 * Versions: an entry is 40 bytes in version 1 and 40 or 40 + 16 * frameCount in version 2. The
 * writer uses version 1 whenever no entry carries an index, so a root that never uploaded to Tier 2
 * stays readable by an aof2 that knows only version 1; an index makes it version 2, which such an
 * aof2 refuses with AOF_ERR_INCOMPATIBLE instead of misreading the entries. Both are read.
 *
 * Trade-offs: a snapshot is rewritten whole (no incremental format): 40 bytes per segment, so a
 * catalog of 100,000 segments is 4 MB, written once every `snapshotEvery` transitions. The body
 * CRC is checked before any field is trusted; structural checks after it (order, counts, states)
 * catch writer bugs, not disk damage.
 */
import { crc32 } from 'node:zlib';
import { AofError } from '../errors.js';
import { getU64, pad8, setU64, viewOf as view } from './bytes.js';
import { ENVELOPE_BYTES, ENVELOPE_VERSION_OFFSET, beginEnvelope, checkEnvelope, sealEnvelope, type EnvelopeSpec } from './envelope.js';
import { RECORDED_INDEX_ENTRY_BYTES } from './recorded-index.js';

export const SNAPSHOT_MAGIC = 'AOF2SNP\0';
/** The newest version this build writes and reads (version 1 is read, and written when no entry carries an index). */
export const SNAPSHOT_VERSION = 2;
/** The version of a snapshot without recorded frame indexes. */
export const SNAPSHOT_VERSION_PLAIN = 1;
export const SNAPSHOT_HEADER_BYTES = ENVELOPE_BYTES;
export const SNAPSHOT_STREAM_HEADER_BYTES = 8;
export const SNAPSHOT_ENTRY_BYTES = 40;
const HEADER: EnvelopeSpec = { magic: SNAPSHOT_MAGIC, version: SNAPSHOT_VERSION, oldestVersion: SNAPSHOT_VERSION_PLAIN, what: 'snapshot header' };

/** Persistent state of a segment in the catalog. Numbers are forever. */
export const SegmentState = {
  /** Raw segment file sealed and durable. */
  SEALED: 1,
  /** Tier 1 (compressed) file durable; the raw file is gone or going. */
  TIER1: 2,
  /** Compression gave up; the raw file stays the copy of record. */
  COMPRESSION_FAILED: 3,
  /** The local copy is missing or corrupt; restore it from Tier 2. */
  NEEDS_RECOVERY: 4,
  /**
   * Expired by retention: a tombstone the catalog keeps for the newest expired segment of a stream
   * only, so the stream's first readable id (its end) survives restarts even when every segment
   * has expired. Older expired entries are removed.
   */
  DELETED: 5,
} as const;

export type SegmentStateValue = (typeof SegmentState)[keyof typeof SegmentState];

const STATES: ReadonlySet<number> = new Set(Object.values(SegmentState));

export const FLAG_UPLOADED = 1;
export const FLAG_TIER1_EVICTED = 2;
/** Snapshot version 2 only: a recorded frame index follows the entry. Never set in a CatalogEntry's flags. */
export const FLAG_FRAME_INDEX = 4;

export interface CatalogEntry {
  baseId: number;
  recordCount: number;
  dataBytes: number;
  dataCrc: number;
  state: SegmentStateValue;
  flags: number;
  attempts: number;
  compressedBytes: number;
  frameCount: number;
  objectBytes: number;
  /** Newest record's timestamp in whole seconds since the epoch, 0 when unknown (age retention). */
  maxTimeSec: number;
  /**
   * The frame index recorded for the segment's Tier 1 file (a FRAME_INDEX record after its latest
   * COMPRESSION_DONE): `frameCount` entries of 16 bytes, src/format/recorded-index.ts. Absent
   * when none was recorded. Never written after decoding (copies of the entry share it).
   */
  frameIndex?: Uint8Array;
}

export interface SnapshotHeader {
  bodyBytes: number;
  watermarkChunk: number;
  watermarkOffset: number;
  streamCount: number;
  segmentCount: number;
  bodyCrc: number;
  createdAt: number;
  snapshotSeq: number;
}

export interface Snapshot {
  header: SnapshotHeader;
  streams: Map<string, CatalogEntry[]>;
}



/** Bytes of one stream block. */
function streamBlockBytes(name: string, entries: readonly CatalogEntry[]): number {
  let bytes = SNAPSHOT_STREAM_HEADER_BYTES + pad8(name.length) + entries.length * SNAPSHOT_ENTRY_BYTES;
  for (const e of entries) bytes += e.frameIndex?.length ?? 0;
  return bytes;
}

/**
 * Encodes a whole snapshot file. Streams are written in ascending name order and entries must be
 * in ascending baseId order (Catalog.toSnapshotStreams gives both), so equal catalogs encode to
 * equal bytes. Version 2 when an entry carries a frame index, else version 1 (see the module comment).
 * @throws AOF_ERR_INVALID_ARGUMENT for a non-ASCII or over-long name, entries out of order, or a
 *   frame index that is not 16 bytes per frame of its entry
 */
export function encodeSnapshot(
  streams: ReadonlyMap<string, readonly CatalogEntry[]>,
  meta: { watermarkChunk: number; watermarkOffset: number; snapshotSeq: number; createdAt: number },
): Uint8Array {
  const names = [...streams.keys()].sort();
  let bodyBytes = 0;
  let segmentCount = 0;
  let indexed = false;
  for (const name of names) {
    if (name.length > 0xffff || !/^[\x00-\x7f]*$/.test(name)) throw AofError.invalidArgument('snapshot stream names must be ASCII, at most 65535 bytes', { name: name.slice(0, 140) });
    const entries = streams.get(name)!;
    bodyBytes += streamBlockBytes(name, entries);
    segmentCount += entries.length;
    for (const e of entries) {
      if (e.frameIndex === undefined) continue;
      if (e.frameIndex.length !== e.frameCount * RECORDED_INDEX_ENTRY_BYTES) {
        throw AofError.invalidArgument(`snapshot entry ${name}/${e.baseId}: a frame index of ${e.frameIndex.length} bytes for ${e.frameCount} frames`, { baseId: e.baseId });
      }
      indexed = true;
    }
  }
  const out = new Uint8Array(SNAPSHOT_HEADER_BYTES + bodyBytes);
  // The envelope first (it zeroes only [0, 64)), the body next, the header fields and CRC last:
  // the header carries the body's CRC.
  const v = beginEnvelope(out, 0, indexed ? HEADER : { ...HEADER, version: SNAPSHOT_VERSION_PLAIN });
  let p = SNAPSHOT_HEADER_BYTES;
  for (const name of names) {
    const entries = streams.get(name)!;
    v.setUint16(p, name.length, true);
    v.setUint32(p + 4, entries.length, true);
    p += SNAPSHOT_STREAM_HEADER_BYTES;
    for (let i = 0; i < name.length; i++) out[p + i] = name.charCodeAt(i);
    p += pad8(name.length);
    let previous = -1;
    for (const e of entries) {
      if (e.baseId <= previous) throw AofError.invalidArgument(`snapshot entries of ${name} must be in ascending baseId order`, { baseId: e.baseId });
      previous = e.baseId;
      setU64(v, p, e.baseId);
      v.setUint32(p + 8, e.recordCount, true);
      v.setUint32(p + 12, e.dataBytes, true);
      v.setUint32(p + 16, e.dataCrc, true);
      v.setUint8(p + 20, e.state);
      v.setUint8(p + 21, (e.flags & ~FLAG_FRAME_INDEX) | (e.frameIndex !== undefined ? FLAG_FRAME_INDEX : 0));
      v.setUint16(p + 22, Math.min(e.attempts, 0xffff), true);
      v.setUint32(p + 24, e.compressedBytes, true);
      v.setUint32(p + 28, e.frameCount, true);
      v.setUint32(p + 32, e.objectBytes, true);
      v.setUint32(p + 36, e.maxTimeSec, true);
      p += SNAPSHOT_ENTRY_BYTES;
      if (e.frameIndex !== undefined) {
        out.set(e.frameIndex, p);
        p += e.frameIndex.length;
      }
    }
  }
  v.setUint32(12, bodyBytes, true);
  setU64(v, 16, meta.watermarkChunk);
  v.setUint32(24, meta.watermarkOffset, true);
  v.setUint32(28, streams.size, true);
  v.setUint32(32, segmentCount, true);
  v.setUint32(36, crc32(out.subarray(SNAPSHOT_HEADER_BYTES)), true);
  v.setFloat64(40, meta.createdAt, true);
  setU64(v, 48, meta.snapshotSeq);
  sealEnvelope(out, 0);
  return out;
}

/**
 * Decodes and checks the 64-byte header alone (magic, CRC, version, header length, in the order
 * of src/format/envelope.ts): enough to learn a snapshot's watermark without reading its body. The
 * body is not checked.
 * @throws AOF_ERR_CORRUPT on any mismatch (version 0 included), AOF_ERR_INCOMPATIBLE on a newer version
 */
export function decodeSnapshotHeader(bytes: Uint8Array): SnapshotHeader {
  const v = checkEnvelope(bytes, 0, HEADER);
  return {
    bodyBytes: v.getUint32(12, true),
    watermarkChunk: getU64(v, 16),
    watermarkOffset: v.getUint32(24, true),
    streamCount: v.getUint32(28, true),
    segmentCount: v.getUint32(32, true),
    bodyCrc: v.getUint32(36, true),
    createdAt: v.getFloat64(40, true),
    snapshotSeq: getU64(v, 48),
  };
}

/**
 * Decodes a whole snapshot file. Entries are fresh objects (copies).
 * @throws AOF_ERR_CORRUPT on any mismatch (length, CRCs, counts, order, an unknown state),
 *   AOF_ERR_INCOMPATIBLE on a newer version
 */
export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const header = decodeSnapshotHeader(bytes);
  const v = view(bytes);
  const version = v.getUint16(ENVELOPE_VERSION_OFFSET, true);
  if (bytes.length !== SNAPSHOT_HEADER_BYTES + header.bodyBytes) {
    throw AofError.corrupt('snapshot length does not match its header', { expected: SNAPSHOT_HEADER_BYTES + header.bodyBytes, actual: bytes.length });
  }
  if (crc32(bytes.subarray(SNAPSHOT_HEADER_BYTES)) !== header.bodyCrc) throw AofError.corrupt('snapshot body CRC mismatch', { offset: SNAPSHOT_HEADER_BYTES });
  const streams = new Map<string, CatalogEntry[]>();
  let p = SNAPSHOT_HEADER_BYTES;
  const end = bytes.length;
  const need = (n: number): void => {
    if (p + n > end) throw AofError.corrupt('snapshot body truncated', { offset: p });
  };
  let segmentCount = 0;
  let previousName: string | null = null;
  for (let s = 0; s < header.streamCount; s++) {
    need(SNAPSHOT_STREAM_HEADER_BYTES);
    const nameLength = v.getUint16(p, true);
    const count = v.getUint32(p + 4, true);
    p += SNAPSHOT_STREAM_HEADER_BYTES;
    // A lower bound (entries with a frame index are longer): every entry and index is checked as read too.
    need(pad8(nameLength) + count * SNAPSHOT_ENTRY_BYTES);
    let name = '';
    for (let i = 0; i < nameLength; i++) name += String.fromCharCode(bytes[p + i]!);
    p += pad8(nameLength);
    if (previousName !== null && name <= previousName) throw AofError.corrupt('snapshot streams out of order or repeated', { offset: p, name });
    previousName = name;
    const entries: CatalogEntry[] = [];
    let previousBase = -1;
    for (let i = 0; i < count; i++) {
      need(SNAPSHOT_ENTRY_BYTES);
      const baseId = getU64(v, p);
      const state = v.getUint8(p + 20);
      if (!Number.isSafeInteger(baseId)) throw AofError.corrupt('snapshot entry baseId is not a safe integer', { offset: p, stream: name });
      if (baseId <= previousBase) throw AofError.corrupt('snapshot entries out of baseId order', { offset: p, stream: name, baseId });
      if (!STATES.has(state)) throw AofError.corrupt(`snapshot entry has unknown state ${state}`, { offset: p, stream: name, baseId, state });
      previousBase = baseId;
      const flags = v.getUint8(p + 21);
      const entry: CatalogEntry = {
        baseId,
        recordCount: v.getUint32(p + 8, true),
        dataBytes: v.getUint32(p + 12, true),
        dataCrc: v.getUint32(p + 16, true),
        state: state as SegmentStateValue,
        flags: flags & ~FLAG_FRAME_INDEX,
        attempts: v.getUint16(p + 22, true),
        compressedBytes: v.getUint32(p + 24, true),
        frameCount: v.getUint32(p + 28, true),
        objectBytes: v.getUint32(p + 32, true),
        maxTimeSec: v.getUint32(p + 36, true),
      };
      p += SNAPSHOT_ENTRY_BYTES;
      if ((flags & FLAG_FRAME_INDEX) !== 0) {
        // Version 1 never had the bit: there it would be a writer bug, not an index to read.
        if (version < SNAPSHOT_VERSION) throw AofError.corrupt('snapshot version 1 entry flags a frame index', { offset: p - SNAPSHOT_ENTRY_BYTES + 21, stream: name, baseId });
        const indexBytes = entry.frameCount * RECORDED_INDEX_ENTRY_BYTES;
        need(indexBytes);
        entry.frameIndex = bytes.slice(p, p + indexBytes);
        p += indexBytes;
      }
      entries.push(entry);
    }
    segmentCount += count;
    streams.set(name, entries);
  }
  if (p !== end) throw AofError.corrupt('snapshot body has trailing bytes', { offset: p });
  if (segmentCount !== header.segmentCount) {
    throw AofError.corrupt('snapshot segment count does not match its header', { expected: header.segmentCount, actual: segmentCount });
  }
  return { header, streams };
}
