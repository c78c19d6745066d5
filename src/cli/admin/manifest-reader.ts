/**
 * Reads a root's manifest without opening it for writing: every chunk and snapshot is inspected,
 * and the catalog is rebuilt the way replay does (newest snapshot that decodes, then the chunks
 * from its watermark), but nothing is trimmed, repaired or removed. That is what lets the offline
 * commands (dump, segments list, manifest inspect, verify) run beside a live engine, and on a
 * damaged root without changing the evidence.
 *
 * The rules mirror src/manifest/manifest-log.ts: inside a chunk's committed length a record that
 * fails its CRC is corruption (reported, then the scan resynchronises on the next record that checks
 * out); bytes past the committed length are a torn tail (reported as uncommitted, not corruption);
 * a damaged chunk header is corruption, and its records are recovered by scanning.
 */
import { readdir } from 'node:fs/promises';
import { isRealDirectory, readRegularFile } from '../../safe-fs.js';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import {
  CHUNK_HEADER_BYTES,
  ManifestRecordType,
  decodeChunkHeader,
  decodeManifestRecord,
  type ChunkHeader,
  type ManifestRecord,
} from '../../format/manifest.js';
import { decodeSnapshot, type Snapshot } from '../../format/snapshot.js';
import { Catalog } from '../../manifest/catalog.js';
import { errorMessage, offsetOf, rethrowIncompatible, type Problem } from './problem.js';
import { isTempName, MANIFEST_DIR, parseChunkFileName, parseSnapshotFileName } from '../../format/root-layout.js';

/** Record type names by number, for counts and output. */
export const RECORD_TYPE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(ManifestRecordType).map(([name, value]) => [value, name]),
);

export interface ChunkReport {
  /** Path relative to the root. */
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
  problems: Problem[];
}

export interface SnapshotReport {
  file: string;
  seq: number;
  fileBytes: number;
  ok: boolean;
  watermarkChunk: number | null;
  watermarkOffset: number | null;
  streams: number | null;
  segments: number | null;
  problem: Problem | null;
}

export interface ManifestReading {
  chunks: ChunkReport[];
  snapshots: SnapshotReport[];
  /** Leftover `*.tmp` files (a crash while creating a chunk or snapshot), relative paths. */
  tempFiles: string[];
  catalog: Catalog;
  replay: {
    /** Snapshot replay started from, or null. */
    snapshotSeq: number | null;
    /** Chunks replayed (at or after the snapshot's watermark). */
    chunks: number;
    /** Records applied after the watermark (SNAPSHOT markers and orphans included). */
    records: number;
    /** Records about segments the catalog did not hold. */
    orphans: number;
  };
  /** Every corruption found (chunks, snapshots, gaps), in file order. */
  problems: Problem[];
}

/** Decoded committed records of one chunk, with their offsets in the file. */
interface ChunkRecords {
  report: ChunkReport;
  records: { offset: number; record: ManifestRecord }[];
}

/** The next 8-aligned offset after `off` where a record that checks out starts, else `end`. */
function resync(bytes: Uint8Array, off: number, end: number): number {
  for (let p = off + 8; p < end; p += 8) {
    const r = decodeManifestRecord(bytes, p, end);
    if (r.ok || r.reason === 'unknown-type') return p;
  }
  return end;
}

function describeFailure(r: Exclude<ReturnType<typeof decodeManifestRecord>, { ok: true }>): string {
  if (r.reason === 'unknown-type') return `record of unknown type ${r.type} version ${r.version} (written by a newer aof2?)`;
  if (r.reason === 'crc') return 'record fails its CRC';
  if (r.reason === 'truncated') return 'record runs past the committed length';
  if (r.reason === 'range') return 'record id out of range';
  return 'record has an impossible length';
}

/** Inspects one chunk image; `file` is the path relative to the root. */
export function inspectChunk(file: string, seq: number, bytes: Uint8Array): ChunkRecords {
  const problems: Problem[] = [];
  const out: ChunkRecords['records'] = [];
  const byType: Record<string, number> = {};
  const count = (record: ManifestRecord, offset: number): void => {
    const name = RECORD_TYPE_NAMES[record.type] ?? String(record.type);
    byType[name] = (byType[name] ?? 0) + 1;
    out.push({ offset, record });
  };
  let header: ChunkHeader | null = null;
  try {
    header = decodeChunkHeader(bytes);
    if (header.chunkSeq !== seq) {
      problems.push({ file, offset: 16, length: 8, message: `chunk header names chunk ${header.chunkSeq}, file name says ${seq}` });
      header = null;
    }
  } catch (err) {
    rethrowIncompatible(err, file);
    problems.push({ file, offset: offsetOf(err) ?? 0, length: CHUNK_HEADER_BYTES, message: `chunk header unusable: ${errorMessage(err)}` });
  }

  let committed: number;
  if (header === null) {
    // Replay recovers such a chunk by keeping the records that check out from the start.
    let off = CHUNK_HEADER_BYTES;
    for (;;) {
      const r = decodeManifestRecord(bytes, off, bytes.length);
      if (!r.ok) break;
      count(r.record, off);
      off = r.next;
    }
    committed = Math.max(0, off - CHUNK_HEADER_BYTES);
  } else {
    committed = header.committedBytes;
    const end = Math.min(bytes.length, CHUNK_HEADER_BYTES + committed);
    if (bytes.length < CHUNK_HEADER_BYTES + committed) {
      problems.push({
        file,
        offset: bytes.length,
        length: 0,
        message: `header commits ${committed} record bytes, the file holds ${Math.max(0, bytes.length - CHUNK_HEADER_BYTES)}`,
      });
    }
    let off = CHUNK_HEADER_BYTES;
    while (off < end) {
      const r = decodeManifestRecord(bytes, off, end);
      if (r.ok) {
        count(r.record, off);
        off = r.next;
        continue;
      }
      const next = r.reason === 'unknown-type' ? r.next : resync(bytes, off, end);
      problems.push({ file, offset: off, length: next - off, message: describeFailure(r) });
      off = next;
    }
  }
  const dataEnd = Math.min(bytes.length, CHUNK_HEADER_BYTES + committed);
  const recomputedCrc = crc32(bytes.subarray(CHUNK_HEADER_BYTES, dataEnd));
  if (header !== null && recomputedCrc !== header.chunkCrc) {
    problems.push({
      file,
      offset: CHUNK_HEADER_BYTES,
      length: committed,
      message: `chunk CRC mismatch: header stores 0x${header.chunkCrc.toString(16).padStart(8, '0')}, records hash to 0x${recomputedCrc.toString(16).padStart(8, '0')}`,
    });
  }
  if (header !== null && problems.length === 0 && out.length !== header.recordCount) {
    problems.push({ file, offset: 24, length: 4, message: `header counts ${header.recordCount} records, the chunk holds ${out.length}` });
  }
  return {
    report: {
      file,
      seq,
      fileBytes: bytes.length,
      headerOk: header !== null,
      committedBytes: committed,
      storedRecordCount: header?.recordCount ?? null,
      storedCrc: header?.chunkCrc ?? null,
      recomputedCrc,
      uncommittedBytes: Math.max(0, bytes.length - CHUNK_HEADER_BYTES - committed),
      recordsByType: byType,
      records: out.length,
      problems,
    },
    records: out,
  };
}

/** Whether `root` has a manifest directory (absent on a root that never sealed a segment). */
async function listManifest(root: string): Promise<string[]> {
  try {
    if (!(await isRealDirectory(join(root, MANIFEST_DIR)))) return [];
    return (await readdir(join(root, MANIFEST_DIR))).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Reads every manifest file of `root` and rebuilds the catalog (read-only; see the file comment).
 * @throws AOF_ERR_IO-style fs errors when a file cannot be read (the caller maps them to exit 4)
 */
export async function readManifest(root: string): Promise<ManifestReading> {
  const names = await listManifest(root);
  const rel = (name: string): string => `${MANIFEST_DIR}/${name}`;
  const tempFiles = names.filter(isTempName).map(rel);
  const snapshotNames = names.filter((n) => parseSnapshotFileName(n) !== null);

  const snapshots: SnapshotReport[] = [];
  const decoded = new Map<number, Snapshot>();
  for (const name of snapshotNames) {
    const seq = parseSnapshotFileName(name)!;
    const bytes = await readRegularFile(join(root, MANIFEST_DIR, name));
    try {
      const snap = decodeSnapshot(bytes);
      if (snap.header.snapshotSeq !== seq) throw new Error(`snapshot header names snapshot ${snap.header.snapshotSeq}`);
      decoded.set(seq, snap);
      snapshots.push({
        file: rel(name),
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
      rethrowIncompatible(err, rel(name));
      const problem = { file: rel(name), offset: offsetOf(err) ?? 0, length: 0, message: `snapshot unusable: ${errorMessage(err)}` };
      snapshots.push({ file: rel(name), seq, fileBytes: bytes.length, ok: false, watermarkChunk: null, watermarkOffset: null, streams: null, segments: null, problem });
    }
  }

  // Names are 20-digit sequence numbers, so sorted names are chunks in sequence order.
  const chunks: ChunkRecords[] = [];
  for (const name of names) {
    const seq = parseChunkFileName(name);
    if (seq !== null) chunks.push(inspectChunk(rel(name), seq, await readRegularFile(join(root, MANIFEST_DIR, name))));
  }

  // Replay: the newest snapshot that decodes, then every chunk from its watermark on.
  const base = [...decoded.values()].sort((a, b) => b.header.snapshotSeq - a.header.snapshotSeq)[0] ?? null;
  const catalog = base === null ? new Catalog() : Catalog.fromSnapshot(base.streams);
  const startChunk = base?.header.watermarkChunk ?? 0;
  const gapProblems: Problem[] = [];
  let expected = startChunk;
  let replayedChunks = 0;
  let replayedRecords = 0;
  for (const { report, records } of chunks) {
    if (report.seq < startChunk) continue;
    if (report.seq !== expected) gapProblems.push({ file: report.file, offset: 0, length: 0, message: `chunks ${expected}..${report.seq - 1} are missing` });
    expected = report.seq + 1;
    replayedChunks++;
    const from = base !== null && report.seq === startChunk ? CHUNK_HEADER_BYTES + base.header.watermarkOffset : 0;
    for (const { offset, record } of records) {
      if (offset < from) continue;
      replayedRecords++;
      catalog.apply(record);
    }
  }
  const problems = [
    ...snapshots.flatMap((s) => (s.problem === null ? [] : [s.problem])),
    ...chunks.flatMap((c) => c.report.problems),
    ...gapProblems,
  ];
  return {
    chunks: chunks.map((c) => c.report),
    snapshots,
    tempFiles,
    catalog,
    replay: { snapshotSeq: base?.header.snapshotSeq ?? null, chunks: replayedChunks, records: replayedRecords, orphans: catalog.orphanCount },
    problems,
  };
}
