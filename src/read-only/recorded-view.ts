/**
 * What a read-only manager makes of the writer's manifest, as pure functions (unit-tested without
 * files): which segments of a stream the catalog records and in which tier, and which
 * `Segment.apply` events bring a segment this process already shows to that state.
 *
 * The tier of a recorded segment is the catalog's word alone; the read-only manager never lists
 * files to decide it (the writer's recovery does, and records what it decided). A listing taken
 * beside a live writer races with it, while the catalog only ever moves forward in the order the
 * writer's transitions happen: every file change (a `.seg` removed after compression, a `.t1`
 * removed after eviction, files removed by retention) is recorded before it is made. So a file
 * the catalog names and that is gone means the catalog this process holds is older than the
 * writer's: the read path refreshes it and looks again (src/read/read-path.ts `sourceGone`).
 *
 * - SEALED, COMPRESSION_FAILED: the raw file (`RAW`), checked against the entry at its first read
 *   (lazy footers, as recovery trusts it);
 * - TIER1: the Tier 1 file, or Tier 2 once uploaded and evicted;
 * - NEEDS_RECOVERY: Tier 2 when uploaded, else no copy (`MISSING`);
 * - DELETED (retention's tombstone): everything below its end expired (`firstId`).
 * Recorded segments must be contiguous from `firstId`; the view stops before a gap (the writer's
 * recovery would refuse the stream; reads end there).
 */
import { FLAG_TIER1_EVICTED, FLAG_UPLOADED, SegmentState, type CatalogEntry } from '../format/snapshot.js';
import { SegmentEventType as E, SegmentTier, type Segment, type SegmentEvent, type SegmentTierValue } from '../tier0/segment.js';

/** A segment the writer's manifest records, as a read-only manager shows it. */
export interface RecordedSegment {
  baseId: number;
  count: number;
  dataBytes: number;
  dataCrc: number;
  /** ms since the epoch (the catalog keeps whole seconds). */
  maxTimestamp: number;
  tier: SegmentTierValue;
  uploaded: boolean;
  compressedBytes: number;
  frameCount: number;
  /** The frame index recorded with the upload (src/format/recorded-index.ts), or null. */
  recordedIndex: Uint8Array | null;
}

/** A stream as its catalog entries record it. */
export interface RecordedStream {
  /** First readable id: everything below expired (retention). */
  firstId: number;
  /** Recorded segments, contiguous from `firstId`. */
  segments: RecordedSegment[];
  /** Id one past the last recorded segment (`firstId` when none): where the writer's unrecorded files start. */
  endId: number;
  /** The base id of a recorded segment that does not continue the one before it, or null. */
  gapAt: number | null;
}

/** The tier a catalog entry puts its segment in (see the file comment). */
export function recordedTier(entry: CatalogEntry): SegmentTierValue {
  const uploaded = (entry.flags & FLAG_UPLOADED) !== 0;
  switch (entry.state) {
    case SegmentState.TIER1:
      return uploaded && (entry.flags & FLAG_TIER1_EVICTED) !== 0 ? SegmentTier.TIER2 : SegmentTier.TIER1;
    case SegmentState.NEEDS_RECOVERY:
      return uploaded ? SegmentTier.TIER2 : SegmentTier.MISSING;
    default:
      return SegmentTier.RAW;
  }
}

/** A stream's catalog entries (ascending baseId, as `Catalog.entries` returns them) as a read-only view. */
export function recordedStream(entries: readonly CatalogEntry[]): RecordedStream {
  let firstId = 0;
  for (const e of entries) if (e.state === SegmentState.DELETED) firstId = Math.max(firstId, e.baseId + e.recordCount);
  const segments: RecordedSegment[] = [];
  let endId = firstId;
  let gapAt: number | null = null;
  for (const e of entries) {
    if (e.state === SegmentState.DELETED || e.baseId + e.recordCount <= firstId) continue;
    if (e.baseId !== endId) {
      gapAt = e.baseId;
      break;
    }
    const tier = recordedTier(e);
    const compressed = tier !== SegmentTier.RAW;
    segments.push({
      baseId: e.baseId,
      count: e.recordCount,
      dataBytes: e.dataBytes,
      dataCrc: e.dataCrc,
      maxTimestamp: e.maxTimeSec * 1000,
      tier,
      // A raw segment is never uploaded (the table keeps that invariant: Segment.restored).
      uploaded: compressed && (e.flags & FLAG_UPLOADED) !== 0,
      compressedBytes: compressed ? e.compressedBytes : 0,
      frameCount: compressed ? e.frameCount : 0,
      recordedIndex: compressed ? (e.frameIndex ?? null) : null,
    });
    endId = e.baseId + e.recordCount;
  }
  return { firstId, segments, endId, gapAt };
}

/**
 * The events that bring `seg` (a segment this process shows, recorded or seen only in the files so
 * far) to the state the catalog now records, in the order the writer's transitions happened; null
 * when no sequence of the transition table gets there (the catalog went back: a segment the writer's
 * recovery sealed again, or counts that disagree): the caller then replaces the segment.
 */
export function eventsToward(seg: Segment, want: RecordedSegment): SegmentEvent[] | null {
  const events: SegmentEvent[] = [];
  if (!seg.sealed) {
    if (seg.tier !== SegmentTier.RAW || want.count < seg.count || want.dataBytes < seg.dataBytes) return null;
    events.push({ type: E.SEALING, count: want.count, dataBytes: want.dataBytes });
  } else if (seg.count !== want.count || seg.dataBytes !== want.dataBytes) {
    return null;
  }
  let tier = seg.tier;
  let uploaded = seg.uploaded;
  if (tier === SegmentTier.RAW) {
    if (seg.dataCrc !== want.dataCrc || seg.maxTimestamp !== want.maxTimestamp) events.push({ type: E.SEALED, dataCrc: want.dataCrc, maxTimestamp: want.maxTimestamp });
    if (want.tier === SegmentTier.RAW) return events;
    // MISSING from RAW: the writer lost the raw file; no step of the table says so (replace).
    if (want.tier === SegmentTier.MISSING) return null;
    // The frame index is read from the file at the first read (INDEX_LOADED).
    events.push({ type: E.COMPRESSION_DONE, frameIndex: null, compressedBytes: want.compressedBytes, frameCount: want.frameCount });
    tier = SegmentTier.TIER1;
  }
  if (!uploaded && want.uploaded) {
    if (tier !== SegmentTier.TIER1) return null;
    events.push({ type: E.UPLOADED, recordedIndex: want.recordedIndex });
    uploaded = true;
  }
  if (uploaded !== want.uploaded) return null;
  if (tier === want.tier) return events;
  if (tier === SegmentTier.TIER1 && want.tier === SegmentTier.TIER2) events.push({ type: E.EVICTED });
  else if (tier === SegmentTier.TIER2 && want.tier === SegmentTier.TIER1) events.push({ type: E.HYDRATED });
  else if (tier === SegmentTier.TIER1 && want.tier === SegmentTier.MISSING) events.push({ type: E.NEEDS_RECOVERY, error: null });
  else return null;
  return events;
}

/** What a follower shows of a stream: the part of it Tier 2 holds. */
export interface UploadedView {
  /** The recorded segments from `firstId` up to the first one not uploaded, every one read from Tier 2. */
  stream: RecordedStream;
  /**
   * Records the catalog records past that prefix: sealed by the writer, not in the bucket yet
   * (compressing, uploading, or waiting for the breaker). The writer's unsealed tail is not
   * counted: the manifest does not know it.
   */
  recordsNotUploaded: number;
}

/**
 * A follower's view of a recorded stream (src/read-only/follower-manager.ts): it reads only the
 * bucket, so it shows the uploaded prefix of the recorded segments, each as `TIER2` whatever tier
 * the writer keeps its own copy in (a follower never sees the writer's disk).
 */
export function uploadedView(recorded: RecordedStream): UploadedView {
  const segments: RecordedSegment[] = [];
  let endId = recorded.firstId;
  for (const seg of recorded.segments) {
    if (!seg.uploaded) break;
    segments.push({ ...seg, tier: SegmentTier.TIER2 });
    endId = seg.baseId + seg.count;
  }
  return { stream: { firstId: recorded.firstId, segments, endId, gapAt: recorded.gapAt }, recordsNotUploaded: recorded.endId - endId };
}
