/**
 * Rebuilds a stream's segment list when the stream is opened, reconciling three sources: raw
 * segment files (`.seg`), Tier 1 files (`.t1`) and the catalog replayed from the manifest log.
 *
 * - Sealed raw segments (valid footer, exact file length) are trusted without reading their records.
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
 *   is damage (AOF_ERR_CORRUPT), never a torn tail to trim; only files the catalog does not know
 *   yet (the segment being written at the crash) are scanned and trimmed.
 * - A sealed raw file whose footer counts fewer records than the catalog recorded for it has lost
 *   acknowledged records: AOF_ERR_CORRUPT.
 * - Empty or headerless tail files with no valid frame (a crash right after creation) are removed.
 *   A tail file whose header is bad but whose data holds a valid frame is damage: AOF_ERR_CORRUPT.
 */
import { stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { AofError, ErrorCode } from '../errors.js';
import { ManifestRecordType, type ManifestRecord } from '../format/manifest.js';
import { describeFrameDamage, droppedRecordsText, findFrame, inspectFrames, type FrameInspection } from '../format/record.js';
import {
  SEGMENT_FOOTER_BYTES,
  SEGMENT_HEADER_BYTES,
  decodeHeader,
  encodeFooterInto,
  tryDecodeFooter,
} from '../format/segment.js';
import { FLAG_TIER1_EVICTED, FLAG_UPLOADED, SegmentState, type CatalogEntry } from '../format/snapshot.js';
import { isTempName, parseSegmentFileName, parseTier1FileName, segmentPath, tier1Path } from '../format/root-layout.js';
import { sealedRecord } from '../manifest/records.js';
import { OpenMode, listFiles, openFile } from '../safe-fs.js';
import { readTier1Meta } from '../tier1/tier1-file.js';
import { Segment, SegmentTier } from './segment.js';

export interface RecoveredStream {
  segments: Segment[];
  /** First readable id: everything below it expired (retention). */
  firstId: number;
  nextId: number;
  /** What recovery did, for logs and tests. */
  report: RecoveryReport;
  /** Sealed raw segments still to be compressed into Tier 1. */
  toCompress: Segment[];
  /** Manifest records the catalog lacks (segments sealed by recovery, adopted Tier 1 files). */
  records: ManifestRecord[];
}

export interface RecoveryReport {
  trustedSegments: number;
  scannedSegments: number;
  scannedBytes: number;
  trimmedBytes: number;
  removedFiles: string[];
  missingSegments: number;
}


/** A name recovery acts on: a raw segment, a Tier 1 file or a temp file. */
function isStreamFile(name: string): boolean {
  return isTempName(name) || parseSegmentFileName(name) !== null || parseTier1FileName(name) !== null;
}

/**
 * @param catalog the stream's entries from the manifest (empty for a stream it does not know)
 * @param rebuilt true when the catalog was just restored from Tier 2 onto an empty root
 * @throws AOF_ERR_CORRUPT, AOF_ERR_INCOMPATIBLE, AOF_ERR_IO
 */
export async function recoverStream(
  dir: string,
  stream: string,
  segmentBytes: number,
  catalog: ReadonlyMap<number, CatalogEntry>,
  rebuilt = false,
): Promise<RecoveredStream> {
  const report: RecoveryReport = { trustedSegments: 0, scannedSegments: 0, scannedBytes: 0, trimmedBytes: 0, removedFiles: [], missingSegments: 0 };
  const raw = new Set<number>();
  const tier1 = new Set<number>();
  let firstId = 0;
  for (const e of catalog.values()) if (e.state === SegmentState.DELETED) firstId = Math.max(firstId, e.baseId + e.recordCount);
  // Every file recovery may read, rewrite or remove must be a regular file, not a link (safe-fs.ts).
  for (const name of await listFiles(dir, isStreamFile)) {
    const rawId = parseSegmentFileName(name);
    const t1Id = parseTier1FileName(name);
    if (isTempName(name) || (rawId ?? t1Id ?? Infinity) < firstId) {
      await removeFile(join(dir, name), report);
      continue;
    }
    if (rawId !== null) raw.add(rawId);
    if (t1Id !== null) tier1.add(t1Id);
  }
  const known = [...catalog.values()].filter((e) => e.state !== SegmentState.DELETED).map((e) => e.baseId);
  const ids = [...new Set([...raw, ...tier1, ...known])].sort((a, b) => a - b);
  const segments: Segment[] = [];
  const toCompress: Segment[] = [];
  const records: ManifestRecord[] = [];
  const seals: PendingSeal[] = [];
  let nextId = ids[0] ?? firstId;
  /** Set once a rebuilt stream meets a segment Tier 2 never got: it and all later ones are lost. */
  let lostTail = false;
  /** Set once a segment was recovered by scanning: its true end is unknown, so later gaps are expected. */
  let afterUnsealed = false;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const path = segmentPath(dir, id);
    const t1Path = tier1Path(dir, id);
    const entry = catalog.get(id);
    if (lostTail) {
      records.push({ type: ManifestRecordType.DELETED, stream, baseId: id, fields: {} });
      continue;
    }
    if (id !== nextId) {
      if (!afterUnsealed) {
        throw AofError.corrupt(`segment ${path} starts at id ${id} but the previous segment ends at ${nextId}`, {
          path,
          expected: nextId,
          actual: id,
        });
      }
      if (raw.has(id)) await removeFile(path, report);
      if (tier1.has(id)) await removeFile(t1Path, report);
      if (entry !== undefined) records.push({ type: ManifestRecordType.DELETED, stream, baseId: id, fields: {} });
      continue;
    }
    let seg: Segment | null;
    const uploaded = entry !== undefined && (entry.flags & FLAG_UPLOADED) !== 0;
    if ((entry?.state === SegmentState.TIER1 && (tier1.has(id) || uploaded)) || (entry?.state === SegmentState.NEEDS_RECOVERY && uploaded)) {
      seg = segmentOf(entry!, path, t1Path);
      // Files adopted by an older recovery were recorded with compressedBytes 0: the file knows.
      if (seg.compressedBytes === 0 && tier1.has(id)) seg.compressedBytes = (await stat(t1Path)).size;
      report.trustedSegments++;
      if (raw.has(id)) await removeFile(path, report);
      // A local copy that was found damaged (NEEDS_RECOVERY) is as good as evicted.
      const evicted = (entry!.flags & FLAG_TIER1_EVICTED) !== 0 || entry!.state === SegmentState.NEEDS_RECOVERY;
      if (seg.uploaded && (evicted || !tier1.has(id))) {
        if (tier1.has(id)) await removeFile(t1Path, report);
        seg.tier = SegmentTier.TIER2;
        if ((entry!.flags & FLAG_TIER1_EVICTED) === 0) records.push({ type: ManifestRecordType.EVICTED, stream, baseId: id, fields: {} });
      }
    } else if (rebuilt && raw.size === 0 && tier1.size === 0) {
      // A rebuilt root has no local files: whatever Tier 2 does not hold is lost from here on.
      lostTail = true;
      records.push({ type: ManifestRecordType.DELETED, stream, baseId: id, fields: {} });
      continue;
    } else if (raw.has(id)) {
      if (tier1.has(id)) await removeFile(t1Path, report);
      const scannedBefore = report.scannedSegments;
      // A catalog entry exists only once a SEALED record was durable, and that is written after
      // the footer was: such a file without a valid footer (or header) is damage, not a torn tail.
      seg = await recoverSegment(path, t1Path, id, segmentBytes, i === ids.length - 1, entry !== undefined, report, seals);
      if (seg === null) continue;
      // The footer holds fewer records than the manifest recorded when the segment was sealed:
      // acknowledged records are gone from the file (replaced or rewritten). Damage, not a tail.
      if (entry !== undefined && entry.state !== SegmentState.DELETED && seg.count < entry.recordCount) {
        throw AofError.corrupt(
          `segment ${path} holds ${seg.count} records (ids ${id}..${id + seg.count - 1}) but the manifest recorded ${entry.recordCount} (ids ${id}..${id + entry.recordCount - 1}) when it was sealed`,
          { path, stream, expected: entry.recordCount, actual: seg.count },
        );
      }
      if (report.scannedSegments > scannedBefore) afterUnsealed = true;
      if (seg.count === 0) {
        await removeFile(path, report);
        continue;
      }
      if (entry === undefined || entry.recordCount !== seg.count || entry.state === SegmentState.TIER1) {
        records.push(sealedRecord(stream, seg));
      }
      if (entry?.state !== SegmentState.COMPRESSION_FAILED) toCompress.push(seg);
    } else if (tier1.has(id)) {
      const meta = await readTier1Meta(t1Path);
      if (meta.header.baseId !== id) {
        throw AofError.corrupt(`tier 1 file ${t1Path} holds base id ${meta.header.baseId}`, { path: t1Path });
      }
      seg = new Segment(id, path, t1Path, meta.header.recordCount, meta.header.dataBytes, true);
      seg.tier = SegmentTier.TIER1;
      seg.dataCrc = meta.header.dataCrc;
      seg.frameIndex = meta.index;
      seg.compressedBytes = meta.fileBytes;
      seg.frameCount = meta.index.length;
      seg.maxTimestamp = meta.header.createdAt; // compressed right after sealing: close enough for retention
      records.push(sealedRecord(stream, seg), {
        type: ManifestRecordType.COMPRESSION_DONE,
        stream,
        baseId: id,
        fields: { compressedBytes: meta.fileBytes, frameCount: meta.index.length },
      });
      report.trustedSegments++;
    } else {
      // Only the catalog knows it: the local copy is gone.
      const known = entry!;
      seg = new Segment(id, path, t1Path, known.recordCount, known.dataBytes, true);
      seg.tier = SegmentTier.MISSING;
      seg.dataCrc = known.dataCrc;
      report.missingSegments++;
      if (known.state !== SegmentState.NEEDS_RECOVERY) records.push({ type: ManifestRecordType.NEEDS_RECOVERY, stream, baseId: id, fields: {} });
    }
    segments.push(seg);
    nextId = seg.endId;
  }
  await applySeals(seals);
  return { segments, firstId, nextId, report, toCompress, records };
}

/** A sealed Tier 1 segment as the catalog describes it. */
function segmentOf(entry: CatalogEntry, path: string, t1Path: string): Segment {
  const seg = new Segment(entry.baseId, path, t1Path, entry.recordCount, entry.dataBytes, true);
  seg.tier = SegmentTier.TIER1;
  seg.dataCrc = entry.dataCrc;
  seg.maxTimestamp = entry.maxTimeSec * 1000;
  seg.compressedBytes = entry.compressedBytes;
  seg.frameCount = entry.frameCount;
  seg.uploaded = (entry.flags & FLAG_UPLOADED) !== 0;
  return seg;
}


async function removeFile(path: string, report: RecoveryReport): Promise<void> {
  await unlink(path);
  report.removedFiles.push(path);
}

/** A recovered unsealed segment's footer, written only once the whole stream recovered without an error. */
interface PendingSeal {
  path: string;
  validBytes: number;
  footer: Uint8Array;
}

/**
 * Reads one raw segment: trusts a valid footer, else inspects the unsealed data (the shared rule
 * of format/record.ts `inspectFrames`: torn tail or damage). Changes no file: the seal of an
 * unsealed segment is queued in `seals` and written by {@link applySeals} once every segment of
 * the stream recovered, so damage found in a later file leaves earlier ones untouched too.
 * Returns null when the file was a headerless tail with no record (removed).
 */
async function recoverSegment(
  path: string,
  t1Path: string,
  fileId: number,
  segmentBytes: number,
  isLast: boolean,
  sealedPerCatalog: boolean,
  report: RecoveryReport,
  seals: PendingSeal[],
): Promise<Segment | null> {
  const fh = await openFile(path, OpenMode.READ);
  try {
    const size = (await fh.stat()).size;
    const head = new Uint8Array(SEGMENT_HEADER_BYTES);
    await fh.read(head, 0, SEGMENT_HEADER_BYTES, 0);
    let header;
    try {
      if (size < SEGMENT_HEADER_BYTES) throw AofError.corrupt('segment shorter than its header', { path, size });
      header = decodeHeader(head);
    } catch (err) {
      // A tail file whose header never made it to disk holds no record: the crash came right after
      // its creation, and it is removed. One whose data region holds a valid frame was written
      // after its header, so the header is damaged, not missing: refuse (aof2-admin repair).
      if (isLast && !sealedPerCatalog && err instanceof AofError && err.code === ErrorCode.CORRUPT) {
        const data = new Uint8Array(Math.max(0, size - SEGMENT_HEADER_BYTES));
        if (data.length > 0) await fh.read(data, 0, data.length, SEGMENT_HEADER_BYTES);
        const first = findFrame(data, 0, data.length, 0);
        if (first >= 0) {
          throw AofError.corrupt(
            `segment ${path} has a damaged header (${err.message}) but its data holds valid records (the first at file offset ${SEGMENT_HEADER_BYTES + first}); ` +
              'nothing was changed: see aof2-admin verify and aof2-admin repair (docs/operations.md)',
            { path, offset: 0, firstValidOffset: SEGMENT_HEADER_BYTES + first },
          );
        }
        await fh.close();
        await removeFile(path, report);
        return null;
      }
      throw withPath(err, path);
    }
    if (header.baseId !== fileId) {
      throw AofError.corrupt(`segment ${path} header says base id ${header.baseId}, file name says ${fileId}`, { path });
    }
    if (size >= SEGMENT_HEADER_BYTES + SEGMENT_FOOTER_BYTES) {
      const tail = new Uint8Array(SEGMENT_FOOTER_BYTES);
      await fh.read(tail, 0, SEGMENT_FOOTER_BYTES, size - SEGMENT_FOOTER_BYTES);
      const footer = tryDecodeFooter(tail);
      if (footer !== null && footer.baseId === fileId && SEGMENT_HEADER_BYTES + footer.dataBytes + SEGMENT_FOOTER_BYTES === size) {
        checkFits(path, footer.dataBytes, segmentBytes);
        report.trustedSegments++;
        const seg = new Segment(fileId, path, t1Path, footer.recordCount, footer.dataBytes, true);
        seg.dataCrc = footer.dataCrc;
        seg.maxTimestamp = footer.maxTimestamp;
        return seg;
      }
    }
    // Recorded as sealed, yet no valid footer: trimming it as a torn tail would drop acknowledged
    // records and treat every later segment as never acknowledged (removing their files). Refuse,
    // without touching the file.
    if (sealedPerCatalog) {
      throw AofError.corrupt(`segment ${path} is recorded as sealed but its footer is missing or damaged`, { path, size });
    }
    // Unsealed: keep the valid prefix and seal it, unless what follows it is damage.
    const dataLen = size - SEGMENT_HEADER_BYTES;
    const data = new Uint8Array(dataLen);
    if (dataLen > 0) await fh.read(data, 0, dataLen, SEGMENT_HEADER_BYTES);
    const scan = inspectFrames(data, 0, dataLen, header.durableBytes ?? 0);
    if (scan.damage !== null) throw damagedSegment(path, fileId, scan);
    report.scannedSegments++;
    report.scannedBytes += dataLen;
    report.trimmedBytes += dataLen - scan.validBytes;
    checkFits(path, scan.validBytes, segmentBytes);
    const footer = new Uint8Array(SEGMENT_FOOTER_BYTES);
    const dataCrc = crc32(data.subarray(0, scan.validBytes));
    encodeFooterInto(footer, 0, {
      recordCount: scan.count,
      baseId: fileId,
      dataBytes: scan.validBytes,
      dataCrc,
      minTimestamp: scan.minTimestamp,
      maxTimestamp: scan.maxTimestamp,
      sealedAt: Date.now(),
    });
    // An empty segment is removed by the caller, not sealed.
    if (scan.count > 0) seals.push({ path, validBytes: scan.validBytes, footer });
    const seg = new Segment(fileId, path, t1Path, scan.count, scan.validBytes, true);
    seg.dataCrc = dataCrc;
    seg.maxTimestamp = scan.count > 0 ? scan.maxTimestamp : 0;
    return seg;
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * AOF_ERR_CORRUPT for an unsealed segment whose data is damaged (format/record.ts inspectFrames):
 * what a cut at the damage would drop, so the operator can decide (aof2-admin repair).
 */
function damagedSegment(path: string, baseId: number, scan: FrameInspection): AofError {
  const d = scan.damage!;
  const firstLost = baseId + scan.count;
  return AofError.corrupt(
    `segment ${path} is damaged: ${describeFrameDamage(d, SEGMENT_HEADER_BYTES)}; ` +
      `cutting it there would drop ${droppedRecordsText(d)} record(s) from id ${firstLost} (${scan.tailBytes} bytes). Nothing was changed: ` +
      'run aof2-admin verify, then aof2-admin repair --accept-loss to accept the loss (docs/operations.md)',
    {
      path,
      offset: SEGMENT_HEADER_BYTES + d.badOffset,
      nextValidOffset: d.nextValidOffset < 0 ? null : SEGMENT_HEADER_BYTES + d.nextValidOffset,
      firstLostId: firstLost,
      droppedRecords: d.droppedRecords,
      droppedBytes: scan.tailBytes,
    },
  );
}

/** Writes the queued footers: truncate to the valid prefix, footer, fdatasync. */
async function applySeals(seals: readonly PendingSeal[]): Promise<void> {
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

function checkFits(path: string, dataBytes: number, segmentBytes: number): void {
  if (dataBytes > segmentBytes) {
    throw AofError.invalidArgument(
      `segment ${path} holds ${dataBytes} bytes of records but tier0.segmentBytes is ${segmentBytes}; reopen with a segmentBytes at least that large`,
      { path, dataBytes, segmentBytes },
    );
  }
}

function withPath(err: unknown, path: string): unknown {
  if (err instanceof AofError) {
    return new AofError(err.code, `${path}: ${err.message}`, { cause: err, details: { ...err.details, path } });
  }
  return AofError.io('read segment', path, err);
}
