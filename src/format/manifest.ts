/**
 * Manifest log: the binary journal of every tier transition, in chunk files
 * `<root>/manifest/<chunkSeq as 20 digits>.mlog`.
 *
 * Chunk file:
 * ```
 * 0      64   chunk header (below)
 * 64     C    committed records, back to back, each padded to 8 bytes (C = committedBytes)
 * 64+C   ...  bytes written but not committed (a torn tail after a crash): ignored and trimmed
 * ```
 * Chunk header (little-endian):
 * ```
 * 0   8  magic          "AOF2MAN\0"
 * 8   2  version        u16 = 1
 * 10  2  headerBytes    u16 = 64
 * 12  4  committedBytes u32  bytes of records after the header that are committed
 * 16  8  chunkSeq       u64  sequence number, equals the file name
 * 24  4  recordCount    u32  committed records
 * 28  4  chunkCrc       u32  zlib.crc32 of the committed record bytes [64, 64 + C)
 * 32  8  createdAt      f64
 * 40  20 reserved       zero
 * 60  4  headerCrc      u32  zlib.crc32 of bytes [0, 60)
 * ```
 * Commit protocol (src/manifest/manifest-log.ts): write the records after the committed end,
 * fdatasync, then rewrite the header with the new committedBytes/recordCount/chunkCrc, fdatasync.
 * Two syncs rather than one because the kernel may write the header page back before the record
 * pages: with a single sync, a power loss could leave a header that commits bytes never written,
 * and replay could not tell that torn batch from a flipped bit in an old record. With the records
 * durable before the header names them, every byte inside the committed length was once written
 * and synced, so a CRC failure there is corruption, never a torn write. A crash before the header
 * write leaves the new records uncommitted (trimmed at replay); records are self-checking, so a
 * damaged header is recovered by scanning records until the first bad one.
 *
 * `committedBytes` is always a multiple of 8 (records are padded), and `chunkCrc` is a running
 * CRC (`crc32(batch, previousChunkCrc)`), so a commit never rereads earlier records.
 *
 * Record:
 * ```
 * 0   4  bodyBytes  u32  bytes of body
 * 4   2  type       u16  ManifestRecordType
 * 6   2  version    u16  record schema version = 1
 * 8   4  crc        u32  zlib.crc32 of bytes [4, 8) followed by the body
 * 12  B  body:      stream name length u16, stream name (UTF-8, ASCII by construction),
 *                   baseId u64, then the type's fields (u32 each unless noted, see FIELDS),
 *                   then, for FRAME_INDEX only, `frameCount` entries of 16 bytes (the recorded
 *                   frame index, src/format/recorded-index.ts)
 * 12+B p  zero padding to a multiple of 8
 * ```
 * The CRC covers type and version, so an unknown type is only ever reported for a record that
 * checks out (written by a newer aof2), never for a damaged one. It does not cover bodyBytes: a
 * damaged length makes the CRC run over the wrong range and fail, which is the same outcome.
 * Names are ASCII by construction (stream names are `[A-Za-z0-9._-]`), one byte per character;
 * the SNAPSHOT marker uses the empty name.
 */
import { crc32 } from 'node:zlib';
import { AofError } from '../errors.js';
import { getU64, pad8, setU64, viewOf as view } from './bytes.js';
import { ENVELOPE_BYTES, beginEnvelope, checkEnvelope, sealEnvelope, type EnvelopeSpec } from './envelope.js';
import { MAX_RECORDED_FRAMES, RECORDED_INDEX_ENTRY_BYTES } from './recorded-index.js';

export const CHUNK_MAGIC = 'AOF2MAN\0';
export const MANIFEST_VERSION = 1;
export const CHUNK_HEADER_BYTES = ENVELOPE_BYTES;
export const RECORD_PREFIX_BYTES = 12;
const CHUNK_HEADER: EnvelopeSpec = { magic: CHUNK_MAGIC, version: MANIFEST_VERSION, what: 'manifest chunk header' };

/** Record types. Numbers are forever: never reuse one. */
export const ManifestRecordType = {
  /**
   * A segment's raw file is sealed and durable. Fields: recordCount, dataBytes, dataCrc,
   * maxTimeSec (newest record's timestamp in whole seconds since the epoch; for age retention).
   */
  SEALED: 1,
  /** Compression of the segment began. Fields: attempt. */
  COMPRESSION_STARTED: 2,
  /** The Tier 1 file is durable; the raw file may go. Fields: compressedBytes, frameCount. */
  COMPRESSION_DONE: 3,
  /** Compression gave up after its attempts. Fields: attempts. */
  COMPRESSION_FAILED: 4,
  /** The local Tier 1 copy was evicted (Tier 2 holds it). No fields. */
  EVICTED: 5,
  /** The local Tier 1 copy was brought back from Tier 2. No fields. */
  HYDRATED: 6,
  /** The Tier 1 file is in Tier 2. Fields: objectBytes. */
  UPLOADED: 7,
  /** Retention removed the segment from every tier. No fields. */
  DELETED: 8,
  /** The local copy is missing or corrupt and must be restored. No fields. */
  NEEDS_RECOVERY: 9,
  /** A catalog snapshot covering everything before this record was written. Fields: snapshotSeq. */
  SNAPSHOT: 10,
  /**
   * Retention expired this segment and every earlier one of the stream: ids below its end are gone
   * from every tier (files and objects are removed after this record is durable, idempotently).
   * No fields.
   */
  EXPIRED: 11,
  /**
   * The frame index of the segment's Tier 1 file as uploaded, in the compact form of
   * src/format/recorded-index.ts, so the first read from Tier 2 needs no index GETs. Appended with
   * UPLOADED (and by the first read of a segment uploaded before this record existed). Fields:
   * frameCount; then `frames`, 16 bytes per frame.
   */
  FRAME_INDEX: 12,
} as const;

export type ManifestRecordTypeValue = (typeof ManifestRecordType)[keyof typeof ManifestRecordType];

/**
 * Names of the u32 fields each type carries after baseId, in order. The table is also the source
 * of the record types ({@link ManifestRecord}): a field added here is a field the compiler asks
 * every writer of that type for.
 */
export const FIELDS = {
  [ManifestRecordType.SEALED]: ['recordCount', 'dataBytes', 'dataCrc', 'maxTimeSec'],
  [ManifestRecordType.COMPRESSION_STARTED]: ['attempt'],
  [ManifestRecordType.COMPRESSION_DONE]: ['compressedBytes', 'frameCount'],
  [ManifestRecordType.COMPRESSION_FAILED]: ['attempts'],
  [ManifestRecordType.EVICTED]: [],
  [ManifestRecordType.HYDRATED]: [],
  [ManifestRecordType.UPLOADED]: ['objectBytes'],
  [ManifestRecordType.DELETED]: [],
  [ManifestRecordType.NEEDS_RECOVERY]: [],
  [ManifestRecordType.SNAPSHOT]: ['snapshotSeq'],
  [ManifestRecordType.EXPIRED]: [],
  [ManifestRecordType.FRAME_INDEX]: ['frameCount'],
} as const satisfies Record<ManifestRecordTypeValue, readonly string[]>;

/**
 * Fields a record of each type must carry: the ones it had when the type was introduced. Fields
 * appended later are optional when decoding (a record written before them decodes them as 0), so
 * growing a type never makes old chunks unreadable; the encoder always writes every field.
 */
export const REQUIRED_FIELDS: Partial<Record<ManifestRecordTypeValue, number>> = {
  [ManifestRecordType.SEALED]: 3,
};

/** Names of the fields a record of type `T` carries (see FIELDS). */
export type ManifestFieldName<T extends ManifestRecordTypeValue> = (typeof FIELDS)[T][number];

/**
 * The fields of a record of type `T`, by name, every one of them (u32 each). A type without fields
 * takes `{}` and nothing else (`Record<string, never>`, so a stray field is a compile error rather
 * than a field the encoder would silently drop).
 */
export type ManifestFields<T extends ManifestRecordTypeValue> = [ManifestFieldName<T>] extends [never]
  ? Record<string, never>
  : { [K in ManifestFieldName<T>]: number };

/** One manifest record of type `T`. */
export type ManifestRecordOf<T extends ManifestRecordTypeValue> = {
  type: T;
  stream: string;
  baseId: number;
  fields: ManifestFields<T>;
} & (T extends typeof ManifestRecordType.FRAME_INDEX
  ? {
      /** The recorded frame index: `fields.frameCount` entries of RECORDED_INDEX_ENTRY_BYTES (src/format/recorded-index.ts). */
      frames: Uint8Array;
    }
  : unknown);

/**
 * A manifest record: a union discriminated by `type`, so a writer gives exactly its type's fields
 * and a reader that checked the type reads them without a lookup or a default. The in-memory shape
 * only; the bytes are the same for every version of this type (see the record layout above).
 */
export type ManifestRecord = { [T in ManifestRecordTypeValue]: ManifestRecordOf<T> }[ManifestRecordTypeValue];

export type SealedRecord = ManifestRecordOf<typeof ManifestRecordType.SEALED>;
export type CompressionStartedRecord = ManifestRecordOf<typeof ManifestRecordType.COMPRESSION_STARTED>;
export type CompressionDoneRecord = ManifestRecordOf<typeof ManifestRecordType.COMPRESSION_DONE>;
export type CompressionFailedRecord = ManifestRecordOf<typeof ManifestRecordType.COMPRESSION_FAILED>;
export type EvictedRecord = ManifestRecordOf<typeof ManifestRecordType.EVICTED>;
export type HydratedRecord = ManifestRecordOf<typeof ManifestRecordType.HYDRATED>;
export type UploadedRecord = ManifestRecordOf<typeof ManifestRecordType.UPLOADED>;
export type DeletedRecord = ManifestRecordOf<typeof ManifestRecordType.DELETED>;
export type NeedsRecoveryRecord = ManifestRecordOf<typeof ManifestRecordType.NEEDS_RECOVERY>;
export type SnapshotMarkerRecord = ManifestRecordOf<typeof ManifestRecordType.SNAPSHOT>;
export type ExpiredRecord = ManifestRecordOf<typeof ManifestRecordType.EXPIRED>;
export type FrameIndexRecord = ManifestRecordOf<typeof ManifestRecordType.FRAME_INDEX>;

/** Bytes per frame of a FRAME_INDEX record's tail (src/format/recorded-index.ts RECORDED_INDEX_ENTRY_BYTES). */
const FRAME_INDEX_ENTRY_BYTES = RECORDED_INDEX_ENTRY_BYTES;

/** Bytes a record carries after its u32 fields: the frames of a FRAME_INDEX record, nothing for any other type. */
function tailOf(record: ManifestRecord): Uint8Array | null {
  return record.type === ManifestRecordType.FRAME_INDEX ? record.frames : null;
}

/**
 * The fields of any record, by name: the view the codec works with, since it walks FIELDS rather
 * than one type at a time. A field an untyped caller left out reads as undefined (encoded as 0).
 */
function fieldValues(record: ManifestRecord): Readonly<Record<string, number | undefined>> {
  return record.fields;
}

/**
 * A copy of a record (its fields and a FRAME_INDEX record's frames copied too), with nothing but
 * the record's own properties.
 */
export function copyManifestRecord(record: ManifestRecord): ManifestRecord {
  if (record.type === ManifestRecordType.FRAME_INDEX) {
    return { type: record.type, stream: record.stream, baseId: record.baseId, fields: { ...record.fields }, frames: record.frames.slice() };
  }
  // The cast restates what the input already was: `type` and `fields` come from the same record,
  // which TypeScript cannot follow through the two property reads of a union.
  return { type: record.type, stream: record.stream, baseId: record.baseId, fields: { ...record.fields } } as ManifestRecord;
}

export interface ChunkHeader {
  committedBytes: number;
  chunkSeq: number;
  recordCount: number;
  chunkCrc: number;
  createdAt: number;
}



/** Smallest body: empty name (length u16) + baseId u64 + no fields. */
const MIN_BODY_BYTES = 2 + 8;
const MAX_NAME_BYTES = 0xffff;

/** Whether this version knows the record type (a newer aof2 may write types this one does not). */
export function isKnownType(type: number): type is ManifestRecordTypeValue {
  return Object.prototype.hasOwnProperty.call(FIELDS, type);
}

/**
 * Checks that a record can be encoded and decodes to itself: a known type, an ASCII stream name
 * of at most 65,535 bytes, a safe non-negative integer baseId, u32 field values, and no field the
 * type does not carry (a misspelt field must not silently encode as 0).
 * @throws AOF_ERR_INVALID_ARGUMENT
 */
export function validateManifestRecord(record: ManifestRecord): void {
  if (typeof record !== 'object' || record === null) throw AofError.invalidArgument('manifest record must be an object');
  if (typeof record.type !== 'number' || !isKnownType(record.type)) {
    throw AofError.invalidArgument(`unknown manifest record type ${String(record.type)}`, { type: record.type });
  }
  const stream: unknown = record.stream;
  if (typeof stream !== 'string' || stream.length > MAX_NAME_BYTES || !/^[\x00-\x7f]*$/.test(stream)) {
    throw AofError.invalidArgument('manifest record stream must be an ASCII string of at most 65535 characters', {
      stream: typeof stream === 'string' ? stream.slice(0, 140) : typeof stream,
    });
  }
  if (!Number.isSafeInteger(record.baseId) || record.baseId < 0) {
    throw AofError.invalidArgument(`manifest record baseId must be a non-negative safe integer, got ${String(record.baseId)}`, {
      baseId: record.baseId,
    });
  }
  if (typeof record.fields !== 'object' || record.fields === null) throw AofError.invalidArgument('manifest record fields must be an object');
  const allowed: readonly string[] = FIELDS[record.type];
  for (const [name, value] of Object.entries(fieldValues(record))) {
    if (!allowed.includes(name)) {
      throw AofError.invalidArgument(`manifest record type ${record.type} has no field ${JSON.stringify(name)}; expected: ${allowed.join(', ') || '(none)'}`, {
        field: name,
      });
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
      throw AofError.invalidArgument(`manifest record field ${name} must be a u32, got ${String(value)}`, { field: name, value });
    }
  }
  if (record.type === ManifestRecordType.FRAME_INDEX) {
    const frames: unknown = record.frames;
    const frameCount = record.fields.frameCount;
    if (!(frames instanceof Uint8Array) || frames.length !== frameCount * FRAME_INDEX_ENTRY_BYTES || frameCount > MAX_RECORDED_FRAMES) {
      throw AofError.invalidArgument(
        `manifest FRAME_INDEX record: frames must be a Uint8Array of ${FRAME_INDEX_ENTRY_BYTES} bytes per frame (frameCount ${String(frameCount)}, at most ${MAX_RECORDED_FRAMES})`,
        { field: 'frames', frameCount, bytes: frames instanceof Uint8Array ? frames.length : typeof frames },
      );
    }
  }
}

/** Bytes a record takes in a chunk, padding included. The record must be valid (see validateManifestRecord). */
export function manifestRecordLength(record: ManifestRecord): number {
  return pad8(RECORD_PREFIX_BYTES + bodyBytesOf(record));
}

function bodyBytesOf(record: ManifestRecord): number {
  return 2 + record.stream.length + 8 + 4 * FIELDS[record.type].length + (tailOf(record)?.length ?? 0);
}

/**
 * Encodes a record at `off`; returns the offset after its padding.
 * @throws AOF_ERR_INVALID_ARGUMENT when the record is not valid (see validateManifestRecord)
 */
export function encodeManifestRecordInto(bytes: Uint8Array, off: number, record: ManifestRecord): number {
  validateManifestRecord(record);
  const total = manifestRecordLength(record);
  bytes.fill(0, off, off + total);
  const v = view(bytes);
  const fields: readonly string[] = FIELDS[record.type];
  const values = fieldValues(record);
  const bodyBytes = bodyBytesOf(record);
  v.setUint32(off, bodyBytes, true);
  v.setUint16(off + 4, record.type, true);
  v.setUint16(off + 6, MANIFEST_VERSION, true);
  let p = off + RECORD_PREFIX_BYTES;
  v.setUint16(p, record.stream.length, true);
  p += 2;
  for (let i = 0; i < record.stream.length; i++) bytes[p + i] = record.stream.charCodeAt(i);
  p += record.stream.length;
  setU64(v, p, record.baseId);
  p += 8;
  for (const name of fields) {
    v.setUint32(p, (values[name] ?? 0) >>> 0, true);
    p += 4;
  }
  const tail = tailOf(record);
  if (tail !== null) bytes.set(tail, p);
  v.setUint32(off + 8, recordCrc(bytes, off, bodyBytes), true);
  return off + total;
}

function recordCrc(bytes: Uint8Array, off: number, bodyBytes: number): number {
  const typeAndVersion = crc32(bytes.subarray(off + 4, off + 8));
  return crc32(bytes.subarray(off + RECORD_PREFIX_BYTES, off + RECORD_PREFIX_BYTES + bodyBytes), typeAndVersion);
}

/** Outcome of decoding one record: the record, or why it cannot be decoded. */
export type DecodeResult =
  | { ok: true; record: ManifestRecord; next: number }
  | { ok: false; reason: 'truncated' | 'crc' | 'length' | 'range'; next: number }
  | { ok: false; reason: 'unknown-type'; type: number; version: number; next: number };

/**
 * Decodes the record at `off` in `bytes[off, end)` (`end` is clamped to the array). Never throws:
 * replay decides what a failure means (a torn tail is expected, a bad committed record is
 * corruption). A failure's `next` is always past `off`, so a scan built on it always progresses:
 * `end` when the length cannot be trusted to skip ('truncated', 'length' from a too-small body),
 * otherwise the end of the record as its length field claims.
 * The returned record is a fresh object (a copy, not a view).
 */
export function decodeManifestRecord(bytes: Uint8Array, off: number, end: number): DecodeResult {
  end = Math.min(end, bytes.length);
  if (!(off >= 0) || end - off < RECORD_PREFIX_BYTES) return { ok: false, reason: 'truncated', next: Math.max(end, off + 1) };
  const v = view(bytes);
  const bodyBytes = v.getUint32(off, true);
  if (bodyBytes < MIN_BODY_BYTES) return { ok: false, reason: 'length', next: end };
  const total = pad8(RECORD_PREFIX_BYTES + bodyBytes);
  if (total > end - off) return { ok: false, reason: 'truncated', next: end };
  if (v.getUint32(off + 8, true) !== recordCrc(bytes, off, bodyBytes)) return { ok: false, reason: 'crc', next: off + total };
  const type = v.getUint16(off + 4, true);
  const version = v.getUint16(off + 6, true);
  if (!isKnownType(type) || version !== MANIFEST_VERSION) return { ok: false, reason: 'unknown-type', type, version, next: off + total };
  let p = off + RECORD_PREFIX_BYTES;
  const nameLength = v.getUint16(p, true);
  p += 2;
  const fields: readonly string[] = FIELDS[type];
  // A record that checks out but has the wrong shape for its type: a writer bug, not a torn write.
  // It may stop after its required fields (written before later fields were appended to its type).
  const fieldBytes = bodyBytes - 2 - nameLength - 8;
  // FRAME_INDEX: exactly its frameCount field and that many 16-byte entries after it.
  let tailBytes = 0;
  if (type === ManifestRecordType.FRAME_INDEX && fieldBytes >= 4) {
    const frameCount = v.getUint32(p + nameLength + 8, true);
    tailBytes = frameCount * FRAME_INDEX_ENTRY_BYTES;
    if (frameCount > MAX_RECORDED_FRAMES || fieldBytes !== 4 + tailBytes) return { ok: false, reason: 'length', next: off + total };
  }
  const present = (fieldBytes - tailBytes) / 4;
  if (!Number.isInteger(present) || present > fields.length || present < (REQUIRED_FIELDS[type] ?? fields.length)) {
    return { ok: false, reason: 'length', next: off + total };
  }
  let stream = '';
  for (let i = 0; i < nameLength; i++) stream += String.fromCharCode(bytes[p + i]!);
  p += nameLength;
  const baseId = getU64(v, p);
  // Ids are safe integers by construction; a larger one that checks out is a writer bug.
  if (!Number.isSafeInteger(baseId)) return { ok: false, reason: 'range', next: off + total };
  p += 8;
  const out: Record<string, number> = {};
  for (let i = 0; i < fields.length; i++) {
    out[fields[i]!] = i < present ? v.getUint32(p, true) : 0;
    p += 4;
  }
  if (type === ManifestRecordType.FRAME_INDEX) {
    return { ok: true, record: { type, stream, baseId, fields: { frameCount: out['frameCount']! }, frames: bytes.slice(p, p + tailBytes) }, next: off + total };
  }
  // `out` holds exactly FIELDS[type], every one of them: the record of that type.
  return { ok: true, record: { type, stream, baseId, fields: out } as ManifestRecord, next: off + total };
}

/** Encodes a chunk header at `off`; returns `off + CHUNK_HEADER_BYTES`. */
export function encodeChunkHeaderInto(bytes: Uint8Array, off: number, h: ChunkHeader): number {
  const v = beginEnvelope(bytes, off, CHUNK_HEADER);
  v.setUint32(off + 12, h.committedBytes, true);
  setU64(v, off + 16, h.chunkSeq);
  v.setUint32(off + 24, h.recordCount, true);
  v.setUint32(off + 28, h.chunkCrc, true);
  v.setFloat64(off + 32, h.createdAt, true);
  return sealEnvelope(bytes, off);
}

/**
 * Decodes and checks a chunk header. Order matters (src/format/envelope.ts): the CRC is checked
 * before the version, so a damaged version field is corruption, and only a header that checks out
 * can claim to be newer.
 * @throws AOF_ERR_CORRUPT (truncated, wrong magic, CRC, version 0, header length, committedBytes
 *   not a multiple of 8), AOF_ERR_INCOMPATIBLE (newer version)
 */
export function decodeChunkHeader(bytes: Uint8Array, off = 0): ChunkHeader {
  const v = checkEnvelope(bytes, off, CHUNK_HEADER);
  const committedBytes = v.getUint32(off + 12, true);
  if (committedBytes % 8 !== 0) throw AofError.corrupt(`manifest chunk committedBytes ${committedBytes} is not a multiple of 8`, { committedBytes });
  return {
    committedBytes,
    chunkSeq: getU64(v, off + 16),
    recordCount: v.getUint32(off + 24, true),
    chunkCrc: v.getUint32(off + 28, true),
    createdAt: v.getFloat64(off + 32, true),
  };
}
