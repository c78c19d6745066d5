/**
 * The one manifest replay: a pure function from the bytes of a manifest directory's files to the
 * catalog they describe, what is damaged in them, and the file changes that would repair them.
 * Two callers, one rule:
 * - the engine (manifest-log.ts `ManifestLog.open`) reads the files, calls {@link replayManifest},
 *   applies the repairs (truncate, rewrite a header, remove a temp file) and counts the problems
 *   as corruption events (or, with `strict`, rejects on the first);
 * - `aof2-admin` (cli/admin/manifest-reader.ts) reads the same files, calls the same function and
 *   prints the problems and the repairs the next open would make, without writing anything.
 * Before issue 11 each kept its own copy and they drifted apart (see docs/decisions.md for which
 * behaviour was kept where they differed).
 *
 * The rules:
 * - Snapshots: every snapshot file is decoded; a damaged one is a problem; replay starts from the
 *   newest one that decodes (and whose header names its own sequence number).
 * - Chunks: every chunk file is inspected, also those wholly before the snapshot's watermark
 *   (they are the older snapshot's fallback, so damage there is real damage); only the records
 *   at or after the watermark are applied to the catalog.
 * - Inside a chunk's committed length a record that fails its checks is a problem, and the scan
 *   resynchronises on the next 8-aligned record that checks out (never trusting the damaged
 *   record's own length). Bytes past the committed length are a torn tail: not a problem, a
 *   repair (truncate) and journal lag.
 * - The chunk CRC and the header's record count are checked whenever the header is usable, the
 *   file holds the whole committed area and no record in it failed (a failed record already
 *   explains a CRC mismatch, and one problem per damage is what the operator needs).
 * - A damaged header (or one naming another chunk) is a problem; the records are recovered by
 *   scanning from the start until the first one that does not check out, and the header is
 *   rebuilt from them (repair). Records of an unknown type that check out continue the scan.
 * - A chunk missing between the watermark chunk and the last one is a problem.
 * - A record, chunk header or snapshot written by a newer aof2 (unknown type or version) is not
 *   damage: the replay throws AOF_ERR_INCOMPATIBLE before anything is repaired.
 *
 * Pure: no file system, no clock (the caller passes `now` for rebuilt headers), no metrics.
 */
import { crc32 } from 'node:zlib';
import { AofError, ErrorCode } from '../errors.js';
import {
  CHUNK_HEADER_BYTES,
  ManifestRecordType,
  decodeChunkHeader,
  decodeManifestRecord,
  encodeChunkHeaderInto,
  type ChunkHeader,
  type DecodeResult,
  type ManifestRecord,
} from '../format/manifest.js';
import { decodeSnapshot, type Snapshot } from '../format/snapshot.js';
import { Catalog } from './catalog.js';

/** One file of the manifest directory: its sequence number (from the name), a label, its bytes. */
export interface ManifestFile {
  seq: number;
  /** How problems and repairs name the file: the engine passes a path, the admin CLI a root-relative name. */
  file: string;
  bytes: Uint8Array;
}

/** Input of {@link replayManifest}: every chunk and snapshot file, and the leftover temp files. */
export interface ManifestFiles {
  chunks: readonly ManifestFile[];
  snapshots: readonly ManifestFile[];
  /** Labels of `*.tmp` files (a crash while creating a chunk or snapshot). */
  tempFiles: readonly string[];
}

/** A damaged byte range: which file, where, how long (0 when unknown), and what is wrong. */
export interface ReplayProblem {
  file: string;
  offset: number;
  length: number;
  message: string;
}

/**
 * A file change replay decided on. The engine carries them out in order, only after the whole
 * replay succeeded; the admin CLI prints them.
 */
export type ManifestRepair =
  /** Cut the file at `truncateTo`; then, when `header` is set, write it at offset 0 (a rebuilt chunk header). */
  | { kind: 'truncate'; file: string; truncateTo: number; header: Uint8Array | null; reason: string }
  /** Remove a leftover temp file. */
  | { kind: 'remove'; file: string; reason: string };

/** Per chunk, what the admin CLI prints. */
export interface ChunkReport {
  file: string;
  seq: number;
  fileBytes: number;
  /** Whether the header decoded and names this chunk. */
  headerOk: boolean;
  /** Committed bytes of records: from the header, or recovered by scanning when it is unusable. */
  committedBytes: number;
  /** Record count the header claims (null when the header is unusable). */
  storedRecordCount: number | null;
  /** CRC of the committed record bytes stored in the header (null when the header is unusable). */
  storedCrc: number | null;
  /** zlib.crc32 of the committed record bytes as they are on disk now. */
  recomputedCrc: number;
  /** Bytes past the committed length: a torn write after a crash (trimmed at the next open). */
  uncommittedBytes: number;
  /** Committed records that decode, by type name. */
  recordsByType: Record<string, number>;
  records: number;
  problems: ReplayProblem[];
}

/** Per snapshot file, what the admin CLI prints. */
export interface SnapshotReport {
  file: string;
  seq: number;
  fileBytes: number;
  ok: boolean;
  watermarkChunk: number | null;
  watermarkOffset: number | null;
  streams: number | null;
  segments: number | null;
  problem: ReplayProblem | null;
}

/** Counts of one replay (the engine adds timing and temp-file removal to make its ReplayReport). */
export interface ReplayCounts {
  /** Snapshot replay started from, or null (replayed from the first chunk). */
  snapshotSeq: number | null;
  /** Chunks replayed: those at or after the snapshot's watermark. */
  chunkCount: number;
  /** Records applied after the watermark (SNAPSHOT markers and orphans included). */
  recordsReplayed: number;
  /** Bytes past the committed lengths (torn tails), or past the recovered records of a damaged header. */
  journalLagBytes: number;
  /** Problems found: equals `problems.length`. */
  corruptionEvents: number;
  /** Records about segments the catalog did not hold. */
  orphanRecords: number;
  /** Chunks a repair truncates or whose header it rebuilds. */
  trimmedChunks: number;
}

export interface ReplayResult {
  catalog: Catalog;
  counts: ReplayCounts;
  /** The snapshot replay started from (null: none decoded). */
  base: Snapshot | null;
  /** First chunk replayed (the snapshot's watermark chunk, else 0). */
  startChunk: number;
  /** Every damage found, in file order: snapshots by sequence, then chunks by sequence. */
  problems: ReplayProblem[];
  repairs: ManifestRepair[];
  chunks: ChunkReport[];
  snapshots: SnapshotReport[];
}

export interface ReplayOptions {
  /** Creation time written into rebuilt chunk headers (ms since the epoch). */
  now: number;
}

/** Record type names by number, for counts and output. */
export const RECORD_TYPE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(ManifestRecordType).map(([name, value]) => [value, name]),
);

type Failure = Exclude<DecodeResult, { ok: true }>;

function describeFailure(r: Failure): string {
  if (r.reason === 'crc') return 'committed record fails its CRC';
  if (r.reason === 'truncated') return 'committed record runs past the committed length';
  if (r.reason === 'range') return 'committed record has an id out of range';
  return 'committed record has an impossible length';
}

/** Whether a scan may continue at `p`: a record that checks out (known type or not). */
function isSyncPoint(bytes: Uint8Array, p: number, end: number): boolean {
  const r = decodeManifestRecord(bytes, p, end);
  return r.ok || r.reason === 'unknown-type';
}

/**
 * Where to continue after a damaged record at `off`: the next 8-aligned offset where a record that
 * checks out starts (records are 8-aligned and self-checking, so a false match needs a 32-bit CRC
 * collision), else `end`. The damaged record's own length field is not trusted: a flipped bit
 * there could jump over good records, or (claiming past the end) over all of them.
 */
function resync(bytes: Uint8Array, off: number, end: number): number {
  for (let p = off + 8; p < end; p += 8) if (isSyncPoint(bytes, p, end)) return p;
  return end;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** Rethrows anything but AOF_ERR_CORRUPT from a decoder, with the file named. */
function rethrowUnlessCorrupt(err: unknown, file: string): asserts err is AofError {
  if (err instanceof AofError && err.code === ErrorCode.CORRUPT) return;
  if (err instanceof AofError) {
    throw new AofError(err.code, `${file}: ${err.message}`, { cause: err, details: { ...err.details, path: file } });
  }
  throw err;
}

function offsetOf(err: AofError): number {
  const offset = err.details?.['offset'];
  return typeof offset === 'number' ? offset : 0;
}

/** The state threaded through one replay. */
class State {
  catalog = new Catalog();
  readonly problems: ReplayProblem[] = [];
  readonly repairs: ManifestRepair[] = [];
  recordsReplayed = 0;
  journalLagBytes = 0;
  trimmedChunks = 0;
  firstUnknown: { file: string; offset: number; type: number; version: number } | null = null;
  unknownRecords = 0;

  unknown(file: string, offset: number, r: Failure): void {
    this.unknownRecords++;
    if (this.firstUnknown === null && r.reason === 'unknown-type') this.firstUnknown = { file, offset, type: r.type, version: r.version };
  }
}

/**
 * Inspects one chunk; applies its records at or after record-area offset `applyFrom` (null: none,
 * the chunk is wholly before the watermark) to `state.catalog`.
 */
function replayChunk(state: State, chunk: ManifestFile, applyFrom: number | null, now: number): ChunkReport {
  const { file, seq, bytes } = chunk;
  const problems: ReplayProblem[] = [];
  const byType: Record<string, number> = {};
  let records = 0;
  const take = (record: ManifestRecord, offset: number): void => {
    const name = RECORD_TYPE_NAMES[record.type] ?? String(record.type);
    byType[name] = (byType[name] ?? 0) + 1;
    records++;
    if (applyFrom !== null && offset - CHUNK_HEADER_BYTES >= applyFrom) {
      state.recordsReplayed++;
      state.catalog.apply(record);
    }
  };

  let header: ChunkHeader | null = null;
  try {
    header = decodeChunkHeader(bytes);
    if (header.chunkSeq !== seq) {
      problems.push({ file, offset: 16, length: 8, message: `chunk header names chunk ${header.chunkSeq}, the file name says ${seq}; recovered by scanning records` });
      header = null;
    }
  } catch (err) {
    rethrowUnlessCorrupt(err, file);
    problems.push({ file, offset: offsetOf(err), length: CHUNK_HEADER_BYTES, message: `chunk header unusable (${err.message}); recovered by scanning records` });
  }

  let committed: number;
  if (header === null) {
    // Records are self-checking: keep every one that checks out from the start, rebuild the
    // header from them, cut what follows the first one that does not.
    let off = CHUNK_HEADER_BYTES;
    let count = 0;
    let crc = 0;
    for (;;) {
      const r = decodeManifestRecord(bytes, off, bytes.length);
      if (r.ok) take(r.record, off);
      else if (r.reason === 'unknown-type') state.unknown(file, off, r);
      else break;
      crc = crc32(bytes.subarray(off, r.next), crc);
      count++;
      off = r.next;
    }
    committed = Math.max(0, off - CHUNK_HEADER_BYTES);
    if (applyFrom !== null && applyFrom > committed) {
      problems.push({ file, offset: CHUNK_HEADER_BYTES + committed, length: 0, message: `snapshot watermark ${applyFrom} is past the recovered records (${committed} bytes)` });
    }
    state.journalLagBytes += Math.max(0, bytes.length - CHUNK_HEADER_BYTES - committed);
    state.trimmedChunks++;
    const fresh = new Uint8Array(CHUNK_HEADER_BYTES);
    encodeChunkHeaderInto(fresh, 0, { committedBytes: committed, chunkSeq: seq, recordCount: count, chunkCrc: crc, createdAt: now });
    state.repairs.push({ kind: 'truncate', file, truncateTo: CHUNK_HEADER_BYTES + committed, header: fresh, reason: `rebuild the damaged header from ${count} record(s) that check out` });
  } else {
    committed = header.committedBytes;
    const dataEnd = CHUNK_HEADER_BYTES + committed;
    const end = Math.min(bytes.length, dataEnd);
    if (bytes.length < dataEnd) {
      // Records are synced before the header names them: a file shorter than its committed length
      // was cut from outside, it is damage, not a torn write.
      problems.push({ file, offset: bytes.length, length: 0, message: `header commits ${committed} record bytes, the file holds ${Math.max(0, bytes.length - CHUNK_HEADER_BYTES)}` });
    } else if (bytes.length > dataEnd) {
      state.journalLagBytes += bytes.length - dataEnd;
      state.trimmedChunks++;
      state.repairs.push({ kind: 'truncate', file, truncateTo: dataEnd, header: null, reason: `cut ${bytes.length - dataEnd} uncommitted byte(s) (torn tail)` });
    }
    if (applyFrom !== null && applyFrom > committed) {
      problems.push({ file, offset: dataEnd, length: 0, message: `snapshot watermark ${applyFrom} is past the committed length ${committed}` });
    }
    let bad = 0;
    let count = 0;
    let off = CHUNK_HEADER_BYTES;
    while (off < end) {
      const r = decodeManifestRecord(bytes, off, end);
      if (r.ok) {
        take(r.record, off);
        count++;
        off = r.next;
      } else if (r.reason === 'unknown-type') {
        state.unknown(file, off, r);
        count++;
        off = r.next;
      } else {
        bad++;
        const next = resync(bytes, off, end);
        problems.push({ file, offset: off, length: next - off, message: describeFailure(r) });
        off = next;
      }
    }
    // The chunk CRC also catches damage in padding, the count a header that lies about its records.
    if (end === dataEnd && bad === 0) {
      const crc = crc32(bytes.subarray(CHUNK_HEADER_BYTES, dataEnd));
      if (crc !== header.chunkCrc) {
        problems.push({ file, offset: CHUNK_HEADER_BYTES, length: committed, message: `chunk CRC mismatch: header stores ${hex(header.chunkCrc)}, records hash to ${hex(crc)}` });
      } else if (count !== header.recordCount) {
        problems.push({ file, offset: 24, length: 4, message: `header counts ${header.recordCount} records, the chunk holds ${count}` });
      }
    }
  }
  const dataEnd = Math.min(bytes.length, CHUNK_HEADER_BYTES + committed);
  state.problems.push(...problems);
  return {
    file,
    seq,
    fileBytes: bytes.length,
    headerOk: header !== null,
    committedBytes: committed,
    storedRecordCount: header?.recordCount ?? null,
    storedCrc: header?.chunkCrc ?? null,
    recomputedCrc: crc32(bytes.subarray(Math.min(CHUNK_HEADER_BYTES, dataEnd), dataEnd)),
    uncommittedBytes: Math.max(0, bytes.length - CHUNK_HEADER_BYTES - committed),
    recordsByType: byType,
    records,
    problems,
  };
}

/**
 * Replays a manifest directory's files (see the file comment). Pure: the caller reads the files
 * (never through a link: safe-fs.ts) and decides what to do with the problems and repairs.
 * @throws AOF_ERR_INCOMPATIBLE when a chunk header, snapshot or record was written by a newer aof2
 *   (the message names the file); any other non-CORRUPT AofError of a decoder, with the file named
 */
export function replayManifest(files: ManifestFiles, options: ReplayOptions): ReplayResult {
  const state = new State();
  const chunksBySeq = [...files.chunks].sort((a, b) => a.seq - b.seq);
  const snapshotsBySeq = [...files.snapshots].sort((a, b) => a.seq - b.seq);

  const snapshots: SnapshotReport[] = [];
  let base: Snapshot | null = null;
  for (const { file, seq, bytes } of snapshotsBySeq) {
    try {
      const snap = decodeSnapshot(bytes);
      if (snap.header.snapshotSeq !== seq) {
        throw AofError.corrupt(`snapshot header names snapshot ${snap.header.snapshotSeq}, the file name says ${seq}`, { offset: 0 });
      }
      // Ascending order: the last one that decodes is the newest.
      base = snap;
      snapshots.push({
        file,
        seq,
        fileBytes: bytes.length,
        ok: true,
        watermarkChunk: snap.header.watermarkChunk,
        watermarkOffset: snap.header.watermarkOffset,
        streams: snap.header.streamCount,
        segments: snap.header.segmentCount,
        problem: null,
      });
    } catch (err) {
      rethrowUnlessCorrupt(err, file);
      const problem: ReplayProblem = { file, offset: offsetOf(err), length: 0, message: `snapshot unusable: ${err.message}` };
      state.problems.push(problem);
      snapshots.push({ file, seq, fileBytes: bytes.length, ok: false, watermarkChunk: null, watermarkOffset: null, streams: null, segments: null, problem });
    }
  }
  if (base !== null) state.catalog = Catalog.fromSnapshot(base.streams);

  // Chunks from the watermark on are replayed; each must follow the previous one (a gap lost
  // transitions). Older ones are only inspected.
  const startChunk = base === null ? 0 : base.header.watermarkChunk;
  const chunks: ChunkReport[] = [];
  let expected = startChunk;
  let chunkCount = 0;
  for (const chunk of chunksBySeq) {
    let applyFrom: number | null = null;
    if (chunk.seq >= startChunk) {
      if (chunk.seq !== expected) state.problems.push({ file: chunk.file, offset: 0, length: 0, message: `chunks ${expected}..${chunk.seq - 1} are missing` });
      expected = chunk.seq + 1;
      chunkCount++;
      applyFrom = base !== null && chunk.seq === startChunk ? base.header.watermarkOffset : 0;
    }
    chunks.push(replayChunk(state, chunk, applyFrom, options.now));
  }

  if (state.unknownRecords > 0) {
    const first = state.firstUnknown!;
    throw new AofError(
      ErrorCode.INCOMPATIBLE,
      `manifest holds ${state.unknownRecords} record(s) this aof2 does not understand (first: type ${first.type} version ${first.version} in ${first.file} at offset ${first.offset}); upgrade aof2`,
      { details: { path: first.file, offset: first.offset, type: first.type, version: first.version, unknownRecords: state.unknownRecords } },
    );
  }
  for (const file of files.tempFiles) state.repairs.push({ kind: 'remove', file, reason: 'leftover of an interrupted chunk or snapshot creation' });

  return {
    catalog: state.catalog,
    counts: {
      snapshotSeq: base?.header.snapshotSeq ?? null,
      chunkCount,
      recordsReplayed: state.recordsReplayed,
      journalLagBytes: state.journalLagBytes,
      corruptionEvents: state.problems.length,
      orphanRecords: state.catalog.orphanCount,
      trimmedChunks: state.trimmedChunks,
    },
    base,
    startChunk,
    problems: state.problems,
    repairs: state.repairs,
    chunks,
    snapshots,
  };
}
