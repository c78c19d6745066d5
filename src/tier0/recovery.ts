/**
 * Rebuilds a stream's segment list when the stream is opened, reconciling three sources: raw
 * segment files (`.seg`), Tier 1 files (`.t1`) and the catalog replayed from the manifest log.
 * This file does the I/O: it reads the facts (`readStreamFacts`, shared with aof2-admin), hands
 * them to the pure decision table (recovery-plan.ts `planRecovery`, also shared with aof2-admin),
 * and carries the plan out. The rules below are the table's.
 *
 * - Sealed raw segments the catalog records as sealed (SEALED, COMPRESSION_FAILED; recovery-plan.ts
 *   `footerDeferred`) are trusted from the catalog without opening their files (flat recovery:
 *   the open costs nothing per sealed segment). The catalog's SEALED record is appended only
 *   once the footer is durable, so it never names a file a crash left unsealed. The file is checked against the entry (length,
 *   header, footer: src/format/sealed-check.ts) at the segment's first read, off the main thread
 *   (workers/hydrate.ts): a file that does not agree is AOF_ERR_CORRUPT for the reads of that
 *   segment, counted in `stats().recovery.badFooters`; the rest of the stream stays readable.
 * - Other sealed raw segments (valid footer, exact file length; a crash before their SEALED
 *   record) are trusted from the footer, read here, without reading their records.
 * - An unsealed raw segment (crash before its footer) is scanned frame by frame. What follows the
 *   valid prefix is told apart by format/record.ts `inspectFrames`, the one rule shared with
 *   `aof2-admin verify` and `repair`: a torn tail (short, zeros or garbage with no valid frame
 *   after it, above the durable length the header records) is truncated and a footer written so
 *   the segment is sealed from now on; damage (a valid frame after the bad one, or a short prefix
 *   below the durable length) is AOF_ERR_CORRUPT and no file of the stream is changed: footers
 *   are written only once the whole stream recovered. `aof2-admin repair --accept-loss` cuts it.
 * - A Tier 1 file the catalog records as TIER1 is trusted; a raw file beside it is the leftover of a
 *   crash between the manifest record and the unlink, and is removed.
 * - A Tier 1 file the catalog does not record, beside its raw file, is an unfinished compression
 *   (renamed, not yet recorded): it is removed and the segment compressed again. Without the raw
 *   file it is adopted (its header, footer and index are verified) and recorded.
 * - Temp files (`*.tmp`) are orphans of an interrupted write and are removed.
 * - A catalog entry with no file at all is TIER2 when its upload is recorded (reads fetch frames
 *   from the object store), else MISSING: reads of it fail with a coded error; the ids stay dense.
 *   When the root was just rebuilt from Tier 2 (`rebuilt`), a segment that was never uploaded is
 *   the documented loss window instead: it and everything after it are dropped (DELETED), and
 *   appends continue after the last uploaded id.
 * - A local Tier 1 file whose catalog entry says evicted is the leftover of a crash between the
 *   EVICTED record and the unlink: removed (Tier 2 holds the segment).
 * - Retention: the catalog's DELETED tombstone marks the stream's first readable id; files below
 *   it are leftovers of a crash between the EXPIRED record and their removal, and are removed.
 * - Ids must be dense: each segment starts where the previous ended. A segment after an unsealed
 *   (scanned) one that does not continue it holds only records that were never acknowledged as
 *   durable (durableId is a contiguous prefix), so it is removed. That holds whether or not the scan
 *   trimmed bytes: the flusher may have created the next file before writing the last frames of the
 *   previous one, leaving a file that ends cleanly on a frame boundary yet short of the next base
 *   id. A gap after a sealed (footer-trusted) segment is corruption.
 * - A raw file the catalog records as sealed must have a valid header and footer: without them it
 *   is damage (AOF_ERR_CORRUPT, at open for the few entries checked here, at first read for the
 *   ones trusted above), never a torn tail to trim, and recovery changes no file because of it;
 *   only files the catalog does not know yet (the segment being written at the crash) are scanned
 *   and trimmed. A file the catalog records as sealed that is missing is MISSING (below).
 * - A sealed raw file whose footer counts fewer records than the catalog recorded for it has lost
 *   acknowledged records: AOF_ERR_CORRUPT.
 * - Empty or headerless tail files with no valid frame (a crash right after creation) are removed.
 *   A tail file whose header is bad but whose data holds a valid frame is damage: AOF_ERR_CORRUPT.
 * - The stream's last segment is continued rather than sealed when the catalog does not record it
 *   and its file has a footer (what a clean close without Tier 2 leaves) or was scanned (a crash;
 *   its footer is written here first): it is returned as `tail`, not among `segments`, and the log
 *   appends to it (docs/decisions.md, "A clean close leaves the tail open").
 */
import { stat, unlink, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { AofError } from '../errors.js';
import type { ManifestRecord, SealedRecord } from '../format/manifest.js';
import { findFrame, inspectFrames, scanFrames, type FrameInspection, type ScanResult } from '../format/record.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, decodeHeader, tryDecodeFooter, type SegmentHeader } from '../format/segment.js';
import type { CatalogEntry } from '../format/snapshot.js';
import { isTempName, parseSegmentFileName, parseTier1FileName, segmentPath, tier1Path } from '../format/root-layout.js';
import { OpenMode, listFiles, openFile } from '../safe-fs.js';
import { readTier1Meta } from '../format/tier1-file.js';
import {
  adoptionCandidates,
  footerDeferred,
  planRecovery,
  sealedRecord,
  type PlannedSeal,
  type PlannedSegment,
  type RawFileFacts,
  type StreamListing,
  type Tier1FileFacts,
} from './recovery-plan.js';
import { Segment } from './segment.js';

export interface RecoveredStream {
  segments: Segment[];
  /** First readable id: everything below it expired (retention). */
  firstId: number;
  nextId: number;
  /** The stream directory was empty and `rebuiltIfEmpty` was set: the stream is rebuilt from Tier 2. */
  rebuilt: boolean;
  /** What recovery did, for logs and tests. */
  report: RecoveryReport;
  /** Sealed raw segments still to be compressed into Tier 1. */
  toCompress: Segment[];
  /** Manifest records the catalog lacks (segments sealed by recovery, adopted Tier 1 files). */
  records: ManifestRecord[];
  /** The stream's last segment, to be continued as its active segment (null: appends start a new one). */
  tail: ResumableTail | null;
}

/** The segment a clean close (or this recovery) left with a footer, which appends continue. */
export interface ResumableTail {
  baseId: number;
  path: string;
  t1Path: string;
  count: number;
  dataBytes: number;
  dataCrc: number;
  createdAt: number;
  minTimestamp: number;
  maxTimestamp: number;
  /**
   * The segment as a sealed raw one, and the SEALED record that makes it so: what the stream
   * does with it instead when it cannot be continued after all (no segment table entry free).
   */
  asSealed(): { segment: Segment; record: SealedRecord };
}

export interface RecoveryReport {
  trustedSegments: number;
  /** The last segment continued instead of sealed (a part of trustedSegments or scannedSegments). */
  resumedSegments: number;
  /** Of trustedSegments: sealed raw files trusted from the catalog, not opened (checked at first read). */
  deferredFooters: number;
  scannedSegments: number;
  scannedBytes: number;
  trimmedBytes: number;
  removedFiles: string[];
  missingSegments: number;
}

/** A name recovery acts on: a raw segment, a Tier 1 file or a temp file. */
export function isStreamFile(name: string): boolean {
  return isTempName(name) || parseSegmentFileName(name) !== null || parseTier1FileName(name) !== null;
}

/** Sorts a stream directory's names into the plan's listing. */
export function listingOf(names: readonly string[]): StreamListing {
  const raw: number[] = [];
  const tier1: number[] = [];
  const temp: string[] = [];
  for (const name of names) {
    if (isTempName(name)) {
      temp.push(name);
      continue;
    }
    const rawId = parseSegmentFileName(name);
    if (rawId !== null) {
      raw.push(rawId);
      continue;
    }
    const tier1Id = parseTier1FileName(name);
    if (tier1Id !== null) tier1.push(tier1Id);
  }
  return { raw, tier1, temp };
}

/**
 * Reads what the plan needs of one raw segment file: header, footer, and (only without a trusted
 * footer) the frames. Read-only; never through a link (safe-fs.ts).
 * @throws AOF_ERR_IO, AOF_ERR_UNSAFE_PATH
 */
export async function readRawFacts(path: string, baseId: number): Promise<RawFileFacts> {
  const fh = await openFile(path, OpenMode.READ);
  try {
    const size = (await fh.stat()).size;
    const readAt = async (length: number, position: number): Promise<Uint8Array> => {
      const buf = new Uint8Array(Math.max(0, length));
      if (buf.length > 0) await fh.read(buf, 0, buf.length, position);
      return buf;
    };
    let header: RawFileFacts['header'];
    let prefix: SegmentHeader['prefix'];
    try {
      if (size < SEGMENT_HEADER_BYTES) throw AofError.corrupt('segment shorter than its header', { path, size });
      const h = decodeHeader(await readAt(SEGMENT_HEADER_BYTES, 0));
      header = { ok: true, baseId: h.baseId, durableBytes: h.durableBytes ?? 0, createdAt: h.createdAt };
      prefix = h.prefix;
    } catch (err) {
      header = { ok: false, error: err instanceof AofError ? err : AofError.io('read segment', path, err) };
    }
    if (!header.ok) {
      const data = await readAt(size - SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES);
      return { size, header, firstValidFrame: findFrame(data, 0, data.length, 0), footer: null, scan: null };
    }
    if (size >= SEGMENT_HEADER_BYTES + SEGMENT_FOOTER_BYTES) {
      const footer = tryDecodeFooter(await readAt(SEGMENT_FOOTER_BYTES, size - SEGMENT_FOOTER_BYTES));
      if (footer !== null && footer.baseId === baseId && SEGMENT_HEADER_BYTES + footer.dataBytes + SEGMENT_FOOTER_BYTES === size) {
        return { size, header, firstValidFrame: -1, footer, scan: null };
      }
    }
    const dataBytes = size - SEGMENT_HEADER_BYTES;
    const { data, scan } = await readAndScan(fh, dataBytes, header.durableBytes);
    return { size, header, firstValidFrame: -1, footer: null, scan: { ...scan, dataBytes, dataCrc: dataCrcOf(data, scan.validBytes, prefix) } };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Piece size of the tail read: large enough that a read costs one trip, small enough to overlap. */
const SCAN_PIECE_BYTES = 4 * 1024 * 1024;

/**
 * Reads an unsealed file's data region in pieces and walks the frames of each piece while the next
 * one is read, so the scan costs about the longer of the read and the CRC walk, not their sum
 * (issue 13: the raw loop, `readFileSync` then a walk, is the yardstick). A frame that straddles a
 * piece is walked with the next one. When the walk does not reach the end cleanly (a torn or
 * damaged tail, or valid data short of `durableBytes`), the whole region is inspected again by
 * `inspectFrames`, the one rule for damage: the rare path pays a second walk, the common one none.
 */
async function readAndScan(fh: FileHandle, dataBytes: number, durableBytes: number): Promise<{ data: Uint8Array; scan: FrameInspection }> {
  const data = new Uint8Array(Math.max(0, dataBytes));
  const readPiece = (from: number): Promise<number> => {
    const length = Math.min(SCAN_PIECE_BYTES, dataBytes - from);
    return fh.read(data, from, length, SEGMENT_HEADER_BYTES + from).then((r) => r.bytesRead);
  };
  let filled = 0;
  let walked: ScanResult = { count: 0, validBytes: 0, minTimestamp: Number.NaN, maxTimestamp: Number.NaN, stopReason: null };
  let next = dataBytes > 0 ? readPiece(0) : null;
  while (next !== null) {
    const got = await next;
    filled += got;
    next = got > 0 && filled < dataBytes ? readPiece(filled) : null;
    const piece = scanFrames(data, walked.validBytes, filled);
    walked = {
      count: walked.count + piece.count,
      validBytes: walked.validBytes + piece.validBytes,
      minTimestamp: walked.count === 0 ? piece.minTimestamp : piece.count === 0 ? walked.minTimestamp : Math.min(walked.minTimestamp, piece.minTimestamp),
      maxTimestamp: walked.count === 0 ? piece.maxTimestamp : piece.count === 0 ? walked.maxTimestamp : Math.max(walked.maxTimestamp, piece.maxTimestamp),
      stopReason: piece.stopReason,
    };
  }
  if (filled === dataBytes && walked.validBytes === dataBytes && dataBytes >= durableBytes) return { data, scan: { ...walked, tailBytes: 0, damage: null } };
  // A file that shrank while read is inspected as what was read.
  return { data, scan: inspectFrames(data, 0, filled, durableBytes) };
}

/**
 * The footer's data CRC of the valid prefix `[0, validBytes)`. The header's running CRC covers the
 * bytes the flush worker had written when it last rewrote the header: when the valid prefix reaches
 * them, only the bytes past them are CRCed (one pass over the tail instead of a second pass over
 * the whole file, issue 13). Every frame was CRC-checked on its own already; bytes that changed
 * since the header was written where no frame CRC looks (padding) make the footer disagree with
 * the file: the compressor's check of the file against its CRC and `aof2-admin verify` report that
 * as AOF_ERR_CORRUPT, where a CRC recomputed here would have taken the damage in silently.
 */
function dataCrcOf(data: Uint8Array, validBytes: number, prefix: SegmentHeader['prefix']): number {
  if (prefix === undefined || prefix.crcBytes > validBytes) return crc32(data.subarray(0, validBytes));
  return crc32(data.subarray(prefix.crcBytes, validBytes), prefix.prefixCrc);
}

/**
 * Reads a stream directory's listing and the facts the plan needs (read-only): the header and
 * footer of raw files (frames only when unsealed), the meta of each Tier 1 file that may be adopted.
 * Shared by recovery and aof2-admin.
 * @param sealedFiles 'read' (aof2-admin: every raw file, so damage is found without the engine) or
 *   'trusted' (the engine: raw files the catalog records as sealed are not opened at all; the plan
 *   trusts them from the catalog and the first read checks them)
 * @throws AOF_ERR_IO, AOF_ERR_UNSAFE_PATH
 */
export async function readStreamFacts(
  dir: string,
  catalog: ReadonlyMap<number, CatalogEntry>,
  sealedFiles: 'read' | 'trusted' = 'read',
): Promise<{ listing: StreamListing; entries: number; raw: Map<number, RawFileFacts>; tier1: Map<number, Tier1FileFacts> }> {
  // Every file recovery may read, rewrite or remove must be a regular file, not a link (safe-fs.ts):
  // the listing's d_type says so for every name, the trusted ones included.
  let names: string[];
  try {
    names = await listFiles(dir, isStreamFile);
  } catch (err) {
    throw err instanceof AofError ? err : AofError.io('list stream directory', dir, err);
  }
  const listing = listingOf(names);
  const raw = new Map<number, RawFileFacts>();
  for (const id of listing.raw) {
    if (sealedFiles === 'trusted' && footerDeferred(catalog.get(id))) continue;
    raw.set(id, await readRawFacts(segmentPath(dir, id), id));
  }
  const tier1 = new Map<number, Tier1FileFacts>();
  for (const id of adoptionCandidates(listing, catalog)) {
    try {
      tier1.set(id, { ok: true, meta: await readTier1Meta(tier1Path(dir, id)) });
    } catch (error) {
      tier1.set(id, { ok: false, error });
    }
  }
  return { listing, entries: names.length, raw, tier1 };
}

/**
 * Recovers one stream: reads the facts, decides with the pure decision table
 * (recovery-plan.ts `planRecovery`), then carries the plan out. Files change only once the whole
 * stream was planned without a refusal: an error leaves every file of the stream as it was.
 * @param catalog the stream's entries from the manifest (empty for a stream it does not know)
 * @param rebuiltIfEmpty true when an empty stream directory means the stream is being rebuilt
 *   from Tier 2 (Tier 2 is configured, and the catalog knows the stream or was just restored):
 *   the plan then treats segments Tier 2 never got as the loss window. Decided on the listing
 *   recovery reads anyway (one `readdir` per open, whatever the history).
 * @throws AOF_ERR_CORRUPT, AOF_ERR_INCOMPATIBLE, AOF_ERR_INVALID_ARGUMENT (a segment larger than
 *   segmentBytes), AOF_ERR_IO
 */
export async function recoverStream(
  dir: string,
  stream: string,
  segmentBytes: number,
  catalog: ReadonlyMap<number, CatalogEntry>,
  rebuiltIfEmpty = false,
): Promise<RecoveredStream> {
  const { entries, ...facts } = await readStreamFacts(dir, catalog, 'trusted');
  const rebuilt = rebuiltIfEmpty && entries === 0;
  const plan = planRecovery({ dir, stream, segmentBytes, catalog, rebuilt, ...facts, now: Date.now(), collectRefusals: false });
  const segments: Segment[] = [];
  const toCompress: Segment[] = [];
  let tail: ResumableTail | null = null;
  for (const p of plan.segments) {
    const t1Path = tier1Path(dir, p.baseId);
    if (p.resume !== null) {
      tail = resumableTail(dir, stream, p, p.resume);
      continue;
    }
    const seg = Segment.restored(p.baseId, segmentPath(dir, p.baseId), t1Path, {
      count: p.count,
      dataBytes: p.dataBytes,
      tier: p.tier,
      dataCrc: p.dataCrc,
      maxTimestamp: p.maxTimestamp,
      compressedBytes: p.sizeFromFile ? (await stat(t1Path)).size : p.compressedBytes,
      frameCount: p.frameCount,
      frameIndex: p.frameIndex,
      recordedIndex: p.recordedIndex,
      uploaded: p.uploaded,
      footerUnchecked: p.footerUnchecked,
    });
    segments.push(seg);
    if (p.compress) toCompress.push(seg);
  }
  const report: RecoveryReport = { ...plan.report, removedFiles: [] };
  for (const r of plan.removals) {
    await unlink(r.path);
    report.removedFiles.push(r.path);
  }
  await applySeals(plan.seals);
  return { segments, firstId: plan.firstId, nextId: plan.nextId, rebuilt, report, toCompress, records: plan.records, tail };
}

function resumableTail(dir: string, stream: string, p: PlannedSegment, at: NonNullable<PlannedSegment['resume']>): ResumableTail {
  const path = segmentPath(dir, p.baseId);
  const t1Path = tier1Path(dir, p.baseId);
  return {
    baseId: p.baseId,
    path,
    t1Path,
    count: p.count,
    dataBytes: p.dataBytes,
    dataCrc: p.dataCrc,
    createdAt: at.createdAt,
    minTimestamp: at.minTimestamp,
    maxTimestamp: at.maxTimestamp,
    asSealed: () => ({
      segment: Segment.restored(p.baseId, path, t1Path, {
        count: p.count,
        dataBytes: p.dataBytes,
        tier: p.tier,
        dataCrc: p.dataCrc,
        maxTimestamp: p.maxTimestamp,
        compressedBytes: 0,
        frameCount: 0,
        frameIndex: null,
        uploaded: false,
      }),
      record: sealedRecord(stream, p),
    }),
  };
}

/** Writes the planned footers: truncate to the valid prefix, footer, fdatasync. */
async function applySeals(seals: readonly PlannedSeal[]): Promise<void> {
  for (const s of seals) {
    const fh = await openFile(s.path, OpenMode.UPDATE);
    try {
      await fh.truncate(SEGMENT_HEADER_BYTES + s.validBytes);
      await fh.write(s.footer, 0, SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES + s.validBytes);
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }
}
