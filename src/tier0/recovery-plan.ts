/**
 * Recovery's decision table, as one pure function: from what is in a stream's directory (the
 * listing, and the facts read from each file's header, footer or frames) and what the catalog
 * says, decide per segment which tier it is in, which files go, which unsealed file is sealed, and
 * which manifest records are missing. No file system: src/tier0/recovery.ts reads the facts
 * (`readStreamFacts`) and carries the plan out; `aof2-admin` (cli/admin/stream-check.ts) reads the
 * same facts and prints the plan's verdicts, so the tool says what the next open will do.
 *
 * The rules (recovery.ts's file comment tells why each holds):
 * - temp files, and files below the stream's first id (retention tombstone) are removed;
 * - ids are walked in order over raw files, Tier 1 files and catalog entries; each segment must
 *   start where the previous ended: after a scanned (unsealed) segment a break is a crash leftover
 *   (removed, its entry DELETED), after a sealed one it is corruption;
 * - TIER1 in the catalog with its file or an upload (or NEEDS_RECOVERY with an upload): trusted from
 *   the catalog, a raw file beside it removed; uploaded and evicted (or without its file): Tier 2;
 * - a rebuilt root without local files: from the first segment Tier 2 lacks, the tail is lost
 *   (DELETED);
 * - a raw file the catalog records as sealed (SEALED, COMPRESSION_FAILED): trusted from the catalog
 *   without its file being read (flat recovery); the engine checks the file against the entry at
 *   the segment's first read (src/format/sealed-check.ts). When its facts were read anyway
 *   (aof2-admin), a file that does not agree is listed in `atFirstRead`, never refused: the
 *   engine opens the stream and refuses reads of that segment with AOF_ERR_CORRUPT;
 * - any other raw file: trusted from a valid footer; else, recorded in the catalog, corruption;
 *   else scanned (torn tail trimmed and sealed, damage refused); a headerless last file the
 *   catalog does not know is removed when it holds no valid frame, refused when it does; fewer
 *   records than the catalog recorded is corruption; a Tier 1 file beside a raw file is an
 *   unfinished compression (removed);
 * - a Tier 1 file alone that the catalog does not record as TIER1: adopted from its verified meta;
 * - a catalog entry with no file: MISSING (NEEDS_RECOVERY recorded);
 * - the stream's last segment, when the catalog does not record it and its file has a footer (a
 *   clean close without Tier 2) or was scanned and gets one now (a crash), is continued rather
 *   than sealed: no SEALED record, no compression, appends go on in it
 *   ({@link PlannedSegment.resume}; docs/decisions.md, "A clean close leaves the tail open").
 */
import { join } from 'node:path';
import { AofError } from '../errors.js';
import { ManifestRecordType, type DeletedRecord, type ManifestRecord, type SealedRecord } from '../format/manifest.js';
import { RECORD_HEADER_BYTES, describeFrameDamage, droppedRecordsText, type FrameInspection } from '../format/record.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, encodeFooterInto, type SegmentFooter } from '../format/segment.js';
import { sealedFileMessage, sealedFileProblem, type SealedFileProblem } from '../format/sealed-check.js';
import { FLAG_TIER1_EVICTED, FLAG_UPLOADED, SegmentState, type CatalogEntry } from '../format/snapshot.js';
import type { FrameIndexEntry } from '../format/tier1.js';
import { segmentPath, tier1Path } from '../format/root-layout.js';
import type { Tier1Meta } from '../format/tier1-file.js';
import { SegmentTier, type SegmentTierValue } from './segment.js';

/** What was read from one raw segment file (recovery.ts `readRawFacts`). */
export interface RawFileFacts {
  size: number;
  /** The decoded header, or the error decoding it (a short file included). */
  header: { ok: true; baseId: number; durableBytes: number; createdAt: number } | { ok: false; error: AofError };
  /** Data-region offset of the first valid frame, -1 for none; read only when the header is bad. */
  firstValidFrame: number;
  /** A footer that decodes, names this segment and matches the file's length; else null. */
  footer: SegmentFooter | null;
  /** When the header is good and there is no such footer: the frames as `inspectFrames` sees them. */
  scan: (FrameInspection & { dataBytes: number; dataCrc: number }) | null;
}

/** What was read from a Tier 1 file the plan may adopt: its verified meta, or why it is unusable. */
export type Tier1FileFacts = { ok: true; meta: Tier1Meta } | { ok: false; error: unknown };

export interface StreamListing {
  /** Base ids of the raw segment files (`.seg`). */
  raw: readonly number[];
  /** Base ids of the Tier 1 files (`.t1`). */
  tier1: readonly number[];
  /** Names of `*.tmp` files. */
  temp: readonly string[];
}

export interface PlanInput {
  /** The stream directory as messages and removals should name it (a path, or a root-relative name). */
  dir: string;
  stream: string;
  segmentBytes: number;
  /** The stream's catalog entries by base id (empty for a stream the manifest does not know). */
  catalog: ReadonlyMap<number, CatalogEntry>;
  /** The catalog was just restored from Tier 2 onto an empty root. */
  rebuilt: boolean;
  listing: StreamListing;
  /**
   * Facts of the raw files of the listing (recovery.ts `readStreamFacts` reads them): every one, or
   * (the engine) all but those the catalog records as sealed ({@link footerDeferred}).
   */
  raw: ReadonlyMap<number, RawFileFacts>;
  /** Facts of the Tier 1 files that are adoption candidates ({@link adoptionCandidates}). */
  tier1: ReadonlyMap<number, Tier1FileFacts>;
  /** sealedAt written into footers of scanned segments (ms since the epoch). */
  now: number;
  /** false (engine): throw the first refusal. true (admin): note it, continue as best it can. */
  collectRefusals: boolean;
}

export type RemovalReason =
  | 'temp'
  | 'expired'
  | 'after-unsealed'
  | 'raw-beside-tier1'
  | 'unfinished-compression'
  | 'evicted-copy'
  | 'empty'
  | 'headerless-tail';

export interface Removal {
  path: string;
  reason: RemovalReason;
}

/** One segment the stream keeps, and where its records are. */
export interface PlannedSegment {
  baseId: number;
  count: number;
  dataBytes: number;
  dataCrc: number;
  maxTimestamp: number;
  tier: SegmentTierValue;
  /**
   * footer: raw file trusted from its footer; scanned: unsealed raw file sealed now; catalog: from
   * the catalog (a sealed raw file, or Tier 1/2); adopted: unrecorded Tier 1 file; missing: no copy.
   */
  how: 'footer' | 'scanned' | 'catalog' | 'adopted' | 'missing';
  /**
   * A raw file trusted from the catalog without being read at open: the first read of the
   * segment checks it against the catalog (src/format/sealed-check.ts) before serving a record.
   */
  footerUnchecked: boolean;
  compressedBytes: number;
  frameCount: number;
  frameIndex: FrameIndexEntry[] | null;
  /** The frame index the manifest recorded for the uploaded file (src/format/recorded-index.ts), or null. */
  recordedIndex: Uint8Array | null;
  uploaded: boolean;
  /** The catalog recorded compressedBytes 0 (an older adoption): take the Tier 1 file's size. */
  sizeFromFile: boolean;
  /** Queue it for compression (a sealed raw segment not given up on). */
  compress: boolean;
  /**
   * Set only on the stream's last segment, when the plan continues it: its file's
   * footer (written by the last close, or by this recovery after a scan) is the state appends go
   * on from. No SEALED record is planned for it and it is not compressed: it is the active segment.
   */
  resume: ResumePoint | null;
}

/** What a continued segment's writer starts from, besides count, dataBytes and dataCrc. */
export interface ResumePoint {
  /** The header's creation time (kept in the header the writer rewrites). */
  createdAt: number;
  minTimestamp: number;
  maxTimestamp: number;
}

/** A footer to write on an unsealed file once the whole stream recovered. */
export interface PlannedSeal {
  path: string;
  validBytes: number;
  footer: Uint8Array;
}

/** Why the engine refuses to open the stream (AOF_ERR_CORRUPT mostly), and about which segment. */
export interface Refusal {
  baseId: number;
  kind: 'gap' | 'fewer-records' | 'sealed-without-footer' | 'footer-mismatch' | 'damaged-header' | 'damaged-data' | 'wrong-base-id' | 'unreadable' | 'too-large';
  /** gap: the id the previous segment ends at; fewer-records: the count the catalog recorded. */
  expected: number | null;
  /** gap: the segment's base id; fewer-records: the count the file holds. */
  actual: number | null;
  error: AofError;
}

export interface RecoveryPlan {
  /** First readable id: everything below it expired (retention). */
  firstId: number;
  nextId: number;
  segments: PlannedSegment[];
  removals: Removal[];
  seals: PlannedSeal[];
  /** Manifest records the catalog lacks. */
  records: ManifestRecord[];
  /**
   * deferredFooters: sealed raw files trusted from the catalog, unread (a part of trustedSegments).
   * resumedSegments: the last segment continued (0 or 1; a part of trustedSegments or scannedSegments).
   */
  report: {
    trustedSegments: number;
    deferredFooters: number;
    scannedSegments: number;
    scannedBytes: number;
    trimmedBytes: number;
    missingSegments: number;
    resumedSegments: number;
  };
  /** Empty for the engine (it throws the first); every refusal with `collectRefusals`. */
  refusals: Refusal[];
  /**
   * Sealed raw files trusted from the catalog that do not agree with it, found only when their
   * facts were read (aof2-admin; the engine does not read them at open): the stream opens, and
   * the first read of each refuses with AOF_ERR_CORRUPT (kinds `unreadable`, `wrong-base-id`,
   * `sealed-without-footer`, `fewer-records`, `footer-mismatch`).
   */
  atFirstRead: Refusal[];
}

/**
 * Whether the catalog entry records the segment as sealed in its raw file (SEALED, or
 * COMPRESSION_FAILED: the raw file stays the copy of record). Such a file is trusted from the
 * entry without being read at open; its facts are not needed (recovery.ts `readStreamFacts`).
 * The SEALED record is appended only once the footer is durable (src/tier1/tier1.ts), so the
 * entry never names a file a crash left unsealed. An entry without the newest record's time
 * (`maxTimeSec` 0: none of this engine's SEALED records) is read as before: age retention needs it.
 */
export function footerDeferred(entry: CatalogEntry | undefined): boolean {
  return entry !== undefined && (entry.state === SegmentState.SEALED || entry.state === SegmentState.COMPRESSION_FAILED) && entry.maxTimeSec > 0;
}

/** The Refusal kind each sealed-file problem is reported under (the kinds aof2-admin knows). */
const PROBLEM_KINDS: Record<SealedFileProblem, Refusal['kind']> = {
  header: 'unreadable',
  'base-id': 'wrong-base-id',
  footer: 'sealed-without-footer',
  'fewer-records': 'fewer-records',
  mismatch: 'footer-mismatch',
};

/** First readable id per the catalog's DELETED tombstone (retention). */
export function firstIdOf(catalog: ReadonlyMap<number, CatalogEntry>): number {
  let firstId = 0;
  for (const e of catalog.values()) if (e.state === SegmentState.DELETED) firstId = Math.max(firstId, e.baseId + e.recordCount);
  return firstId;
}

/** Whether the catalog trusts the segment from itself (Tier 1 with its file or an upload, or recoverable from Tier 2). */
function trustedFromCatalog(entry: CatalogEntry | undefined, hasTier1: boolean): boolean {
  if (entry === undefined) return false;
  const uploaded = (entry.flags & FLAG_UPLOADED) !== 0;
  return (entry.state === SegmentState.TIER1 && (hasTier1 || uploaded)) || (entry.state === SegmentState.NEEDS_RECOVERY && uploaded);
}

/** Tier 1 files whose meta the plan needs: alone (no raw file) and not trusted from the catalog. */
export function adoptionCandidates(listing: StreamListing, catalog: ReadonlyMap<number, CatalogEntry>): number[] {
  const raw = new Set(listing.raw);
  const firstId = firstIdOf(catalog);
  return listing.tier1.filter((id) => id >= firstId && !raw.has(id) && !trustedFromCatalog(catalog.get(id), true));
}

function checkFits(path: string, dataBytes: number, segmentBytes: number): AofError | null {
  if (dataBytes <= segmentBytes) return null;
  return AofError.invalidArgument(
    `segment ${path} holds ${dataBytes} bytes of records but tier0.segmentBytes is ${segmentBytes}; reopen with a segmentBytes at least that large`,
    { path, dataBytes, segmentBytes },
  );
}

/** AOF_ERR_CORRUPT for an unsealed segment whose data is damaged: what a cut would drop. */
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

function withPath(err: AofError, path: string): AofError {
  return new AofError(err.code, `${path}: ${err.message}`, { cause: err, details: { ...err.details, path } });
}

function deleted(stream: string, baseId: number): DeletedRecord {
  return { type: ManifestRecordType.DELETED, stream, baseId, fields: {} };
}

/** The SEALED record of a planned raw segment (what the catalog lacks for it). */
export function sealedRecord(stream: string, s: PlannedSegment): SealedRecord {
  return {
    type: ManifestRecordType.SEALED,
    stream,
    baseId: s.baseId,
    fields: { recordCount: s.count, dataBytes: s.dataBytes, dataCrc: s.dataCrc, maxTimeSec: Math.max(0, Math.floor(s.maxTimestamp / 1000)) },
  };
}

function planned(baseId: number, count: number, dataBytes: number, how: PlannedSegment['how'], tier: SegmentTierValue): PlannedSegment {
  return {
    baseId,
    count,
    dataBytes,
    dataCrc: 0,
    maxTimestamp: 0,
    tier,
    how,
    footerUnchecked: false,
    compressedBytes: 0,
    frameCount: 0,
    frameIndex: null,
    recordedIndex: null,
    uploaded: false,
    sizeFromFile: false,
    compress: false,
    resume: null,
  };
}

/**
 * The decision table (see the file comment). Pure.
 * @throws the first refusal's AofError (AOF_ERR_CORRUPT, AOF_ERR_INVALID_ARGUMENT for a segment
 *   larger than segmentBytes, the Tier 1 reader's error) unless `collectRefusals`
 */
export function planRecovery(input: PlanInput): RecoveryPlan {
  const { dir, stream, catalog, listing } = input;
  const firstId = firstIdOf(catalog);
  const plan: RecoveryPlan = {
    firstId,
    nextId: 0,
    segments: [],
    removals: [],
    seals: [],
    records: [],
    report: { trustedSegments: 0, deferredFooters: 0, scannedSegments: 0, scannedBytes: 0, trimmedBytes: 0, missingSegments: 0, resumedSegments: 0 },
    refusals: [],
    atFirstRead: [],
  };
  const refuse = (r: Omit<Refusal, 'expected' | 'actual'> & Partial<Pick<Refusal, 'expected' | 'actual'>>): void => {
    if (!input.collectRefusals) throw r.error;
    plan.refusals.push({ expected: null, actual: null, ...r });
  };
  const remove = (path: string, reason: RemovalReason): void => void plan.removals.push({ path, reason });

  for (const name of listing.temp) remove(join(dir, name), 'temp');
  const raw = new Set<number>();
  const tier1 = new Set<number>();
  for (const id of listing.raw) {
    if (id < firstId) remove(segmentPath(dir, id), 'expired');
    else raw.add(id);
  }
  for (const id of listing.tier1) {
    if (id < firstId) remove(tier1Path(dir, id), 'expired');
    else tier1.add(id);
  }
  const known = [...catalog.values()].filter((e) => e.state !== SegmentState.DELETED).map((e) => e.baseId);
  const ids = [...new Set([...raw, ...tier1, ...known])].sort((a, b) => a - b);
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
      plan.records.push(deleted(stream, id));
      continue;
    }
    if (id !== nextId) {
      if (!afterUnsealed) {
        refuse({
          baseId: id,
          kind: 'gap',
          expected: nextId,
          actual: id,
          error: AofError.corrupt(`segment ${path} starts at id ${id} but the previous segment ends at ${nextId}`, { path, expected: nextId, actual: id }),
        });
        // Collecting: take the segment as it is, so later segments are judged against it.
      } else {
        if (raw.has(id)) remove(path, 'after-unsealed');
        if (tier1.has(id)) remove(t1Path, 'after-unsealed');
        if (entry !== undefined) plan.records.push(deleted(stream, id));
        continue;
      }
    }
    let seg: PlannedSegment;
    if (trustedFromCatalog(entry, tier1.has(id))) {
      const e = entry!;
      seg = planned(id, e.recordCount, e.dataBytes, 'catalog', SegmentTier.TIER1);
      seg.dataCrc = e.dataCrc;
      seg.maxTimestamp = e.maxTimeSec * 1000;
      seg.compressedBytes = e.compressedBytes;
      seg.frameCount = e.frameCount;
      seg.recordedIndex = e.frameIndex ?? null;
      seg.uploaded = (e.flags & FLAG_UPLOADED) !== 0;
      // Files adopted by an older recovery were recorded with compressedBytes 0: the file knows.
      seg.sizeFromFile = seg.compressedBytes === 0 && tier1.has(id);
      plan.report.trustedSegments++;
      if (raw.has(id)) remove(path, 'raw-beside-tier1');
      // A local copy that was found damaged (NEEDS_RECOVERY) is as good as evicted.
      const evicted = (e.flags & FLAG_TIER1_EVICTED) !== 0 || e.state === SegmentState.NEEDS_RECOVERY;
      if (seg.uploaded && (evicted || !tier1.has(id))) {
        if (tier1.has(id)) remove(t1Path, 'evicted-copy');
        seg.tier = SegmentTier.TIER2;
        if ((e.flags & FLAG_TIER1_EVICTED) === 0) plan.records.push({ type: ManifestRecordType.EVICTED, stream, baseId: id, fields: {} });
      }
    } else if (input.rebuilt && raw.size === 0 && tier1.size === 0) {
      // A rebuilt root has no local files: whatever Tier 2 does not hold is lost from here on.
      lostTail = true;
      plan.records.push(deleted(stream, id));
      continue;
    } else if (raw.has(id)) {
      if (tier1.has(id)) remove(t1Path, 'unfinished-compression');
      const facts = input.raw.get(id);
      const sealedPerCatalog = entry !== undefined;
      const fallback = (): PlannedSegment | null => (entry === undefined ? null : planned(id, entry.recordCount, entry.dataBytes, 'footer', SegmentTier.RAW));
      let candidate: PlannedSegment | null = null;
      let scanned = false;
      if (footerDeferred(entry)) {
        // Sealed per the catalog: trusted from it without reading the file, so the open costs
        // nothing per sealed segment; the first read checks the file against the entry.
        const e = entry!;
        const tooLarge = checkFits(path, e.dataBytes, input.segmentBytes);
        if (tooLarge !== null) refuse({ baseId: id, kind: 'too-large', error: tooLarge });
        plan.report.trustedSegments++;
        plan.report.deferredFooters++;
        candidate = planned(id, e.recordCount, e.dataBytes, 'catalog', SegmentTier.RAW);
        candidate.dataCrc = e.dataCrc;
        candidate.maxTimestamp = e.maxTimeSec * 1000;
        candidate.footerUnchecked = true;
        const found = facts === undefined ? null : sealedFileProblem(facts, e);
        if (found !== null) {
          plan.atFirstRead.push({
            baseId: id,
            kind: PROBLEM_KINDS[found.problem],
            expected: found.problem === 'fewer-records' ? e.recordCount : null,
            actual: found.problem === 'fewer-records' ? facts!.footer!.recordCount : null,
            error: AofError.corrupt(sealedFileMessage(path, e, found.why), { path, footerCheck: found.problem, size: facts!.size }),
          });
        }
      } else if (facts === undefined) {
        throw new Error(`planRecovery: no facts for raw segment ${id}`); // a caller bug, not data
      } else if (!facts.header.ok) {
        // A tail file whose header never made it to disk holds no record: removed. One whose data
        // holds a valid frame was written after its header: the header is damaged, refuse.
        const err = facts.header.error;
        if (i === ids.length - 1 && !sealedPerCatalog && err.code === 'AOF_ERR_CORRUPT') {
          if (facts.firstValidFrame >= 0) {
            refuse({
              baseId: id,
              kind: 'damaged-header',
              error: AofError.corrupt(
                `segment ${path} has a damaged header (${err.message}) but its data holds valid records (the first at file offset ${SEGMENT_HEADER_BYTES + facts.firstValidFrame}); ` +
                  'nothing was changed: see aof2-admin verify and aof2-admin repair (docs/operations.md)',
                { path, offset: 0, firstValidOffset: SEGMENT_HEADER_BYTES + facts.firstValidFrame },
              ),
            });
          } else {
            remove(path, 'headerless-tail');
          }
          continue;
        }
        refuse({ baseId: id, kind: 'unreadable', error: withPath(err, path) });
        candidate = fallback();
      } else if (facts.header.baseId !== id) {
        refuse({ baseId: id, kind: 'wrong-base-id', error: AofError.corrupt(`segment ${path} header says base id ${facts.header.baseId}, file name says ${id}`, { path }) });
        candidate = fallback();
      } else if (facts.footer !== null) {
        const tooLarge = checkFits(path, facts.footer.dataBytes, input.segmentBytes);
        if (tooLarge !== null) refuse({ baseId: id, kind: 'too-large', error: tooLarge });
        plan.report.trustedSegments++;
        candidate = planned(id, facts.footer.recordCount, facts.footer.dataBytes, 'footer', SegmentTier.RAW);
        candidate.dataCrc = facts.footer.dataCrc;
        candidate.maxTimestamp = facts.footer.maxTimestamp;
        // A candidate for continuing (decided once the last segment is known, below).
        if (!sealedPerCatalog) candidate.resume = { createdAt: facts.header.createdAt, minTimestamp: facts.footer.minTimestamp, maxTimestamp: facts.footer.maxTimestamp };
      } else if (sealedPerCatalog) {
        // Recorded as sealed, yet no valid footer: trimming it as a torn tail would drop
        // acknowledged records and treat every later segment as never acknowledged. Refuse.
        refuse({ baseId: id, kind: 'sealed-without-footer', error: AofError.corrupt(`segment ${path} is recorded as sealed but its footer is missing or damaged`, { path, size: facts.size }) });
        candidate = fallback();
      } else {
        const scan = facts.scan!;
        if (scan.damage !== null) {
          refuse({ baseId: id, kind: 'damaged-data', error: damagedSegment(path, id, scan) });
        } else {
          plan.report.scannedSegments++;
          plan.report.scannedBytes += scan.dataBytes;
          plan.report.trimmedBytes += scan.dataBytes - scan.validBytes;
          const tooLarge = checkFits(path, scan.validBytes, input.segmentBytes);
          if (tooLarge !== null) refuse({ baseId: id, kind: 'too-large', error: tooLarge });
          scanned = true;
          candidate = planned(id, scan.count, scan.validBytes, 'scanned', SegmentTier.RAW);
          candidate.dataCrc = scan.dataCrc;
          candidate.maxTimestamp = scan.count > 0 ? scan.maxTimestamp : 0;
          if (scan.count > 0) candidate.resume = { createdAt: facts.header.createdAt, minTimestamp: scan.minTimestamp, maxTimestamp: scan.maxTimestamp };
          // An empty segment is removed below, not sealed.
          if (scan.count > 0) {
            const footer = new Uint8Array(SEGMENT_FOOTER_BYTES);
            encodeFooterInto(footer, 0, {
              recordCount: scan.count,
              baseId: id,
              dataBytes: scan.validBytes,
              dataCrc: scan.dataCrc,
              minTimestamp: scan.minTimestamp,
              maxTimestamp: scan.maxTimestamp,
              sealedAt: input.now,
            });
            plan.seals.push({ path, validBytes: scan.validBytes, footer });
          }
        }
      }
      if (candidate === null) continue;
      seg = candidate;
      // The file holds fewer records than the manifest recorded when the segment was sealed:
      // acknowledged records are gone from the file. Damage, not a tail.
      if (entry !== undefined && entry.state !== SegmentState.DELETED && seg.count < entry.recordCount) {
        refuse({
          baseId: id,
          kind: 'fewer-records',
          expected: entry.recordCount,
          actual: seg.count,
          error: AofError.corrupt(
            `segment ${path} holds ${seg.count} records (ids ${id}..${id + seg.count - 1}) but the manifest recorded ${entry.recordCount} (ids ${id}..${id + entry.recordCount - 1}) when it was sealed`,
            { path, stream, expected: entry.recordCount, actual: seg.count },
          ),
        });
      }
      if (scanned) afterUnsealed = true;
      if (seg.count === 0) {
        remove(path, 'empty');
        continue;
      }
      if (entry === undefined || entry.recordCount !== seg.count || entry.state === SegmentState.TIER1) plan.records.push(sealedRecord(stream, seg));
      seg.compress = entry?.state !== SegmentState.COMPRESSION_FAILED;
    } else if (tier1.has(id)) {
      const facts = input.tier1.get(id);
      if (facts === undefined) throw new Error(`planRecovery: no facts for tier 1 file ${id}`); // a caller bug, not data
      if (!facts.ok) {
        refuse({ baseId: id, kind: 'unreadable', error: facts.error instanceof AofError ? facts.error : AofError.io('read tier 1 file', t1Path, facts.error) });
        continue;
      }
      const meta = facts.meta;
      if (meta.header.baseId !== id) {
        refuse({ baseId: id, kind: 'wrong-base-id', error: AofError.corrupt(`tier 1 file ${t1Path} holds base id ${meta.header.baseId}`, { path: t1Path }) });
        continue;
      }
      seg = planned(id, meta.header.recordCount, meta.header.dataBytes, 'adopted', SegmentTier.TIER1);
      seg.dataCrc = meta.header.dataCrc;
      seg.frameIndex = meta.index;
      seg.compressedBytes = meta.fileBytes;
      seg.frameCount = meta.index.length;
      seg.maxTimestamp = meta.header.createdAt; // compressed right after sealing: close enough for retention
      plan.records.push(sealedRecord(stream, seg), {
        type: ManifestRecordType.COMPRESSION_DONE,
        stream,
        baseId: id,
        fields: { compressedBytes: meta.fileBytes, frameCount: meta.index.length },
      });
      plan.report.trustedSegments++;
    } else {
      // Only the catalog knows it: the local copy is gone.
      const e = entry!;
      seg = planned(id, e.recordCount, e.dataBytes, 'missing', SegmentTier.MISSING);
      seg.dataCrc = e.dataCrc;
      plan.report.missingSegments++;
      if (e.state !== SegmentState.NEEDS_RECOVERY) plan.records.push({ type: ManifestRecordType.NEEDS_RECOVERY, stream, baseId: id, fields: {} });
    }
    plan.segments.push(seg);
    nextId = seg.baseId + seg.count;
  }
  plan.nextId = nextId;
  continueTail(plan, input);
  return plan;
}

/**
 * Decides which segment, if any, is continued: only the stream's last one, only when the catalog
 * does not record it (so no other part of the engine took it
 * as sealed: Tier 1, Tier 2, readers trusting the catalog), and only when a record still fits. It
 * is then the active segment: its SEALED record and its compression are dropped from the plan. A
 * scanned tail keeps its planned footer (written before the stream opens), so both cases hand
 * the writer the same thing: a file whose footer states what it holds.
 */
function continueTail(plan: RecoveryPlan, input: PlanInput): void {
  const last = plan.segments[plan.segments.length - 1];
  for (const seg of plan.segments) if (seg !== last) seg.resume = null;
  if (last === undefined || last.resume === null) return;
  if (input.rebuilt || last.dataBytes + RECORD_HEADER_BYTES > input.segmentBytes) {
    last.resume = null;
    return;
  }
  last.compress = false;
  plan.records = plan.records.filter((r) => !(r.type === ManifestRecordType.SEALED && r.baseId === last.baseId));
  plan.report.resumedSegments++;
}
