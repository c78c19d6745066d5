/**
 * The ports of the read path: what it needs to see of a stream, and what it asks of the tiers
 * that hold compressed segments. Interfaces only, so that readers, the read path and the tiers
 * depend on these shapes rather than on each other (docs/architecture.md, "Read path").
 *
 * Tier 1 (the local `.t1` file) and Tier 2 (the object holding that file byte for byte) are
 * **sources**: the read path asks one of them for a segment's frame index and for where a frame's
 * compressed bytes are; they never call each other. The manager plugs them in at construction.
 */
import type { FrameIndexEntry } from '../format/tier1.js';
import type { Segment } from '../tier0/segment.js';
import type { HydrateSource } from '../../workers/tier1-protocol.js';

/**
 * A read-only view of one stream's segments: all a reader needs of the log that owns them.
 * Implemented by the log; readers never see the log itself (no import cycle, no write access).
 */
export interface StreamView {
  readonly name: string;
  /** Lowest id still stored (retention removed everything below). */
  readonly firstId: number;
  /** Id the next append will get: readers are caught up at this id. */
  readonly nextId: number;
  /** The segment holding `id`, or undefined when id is outside [firstId, nextId). */
  segmentFor(id: number): Segment | undefined;
  /** Bytes of frames in the segment's slot (live for the segment being appended to). */
  dataBytesOf(seg: Segment): number;
  /** Id one past the segment's last record (live for the segment being appended to). */
  endIdOf(seg: Segment): number;
}

/** A tier that holds compressed (Tier 1 format) segments. */
export interface SegmentSource {
  /**
   * The validated frame index of `seg` as this source holds it.
   * @throws (rejects) a coded AofError (AOF_ERR_CORRUPT, AOF_ERR_IO, AOF_ERR_UNAVAILABLE, ...)
   */
  loadIndex(stream: string, seg: Segment): Promise<FrameIndexEntry[]>;
  /**
   * Where a hydrate task reads a frame of `seg` (plain data that crosses to a worker).
   * @throws (rejects) AOF_ERR_UNAVAILABLE when it cannot be described now (a credentials provider failed)
   */
  frameSource(seg: Segment): HydrateSource | Promise<HydrateSource>;
}

/** The remote source (Tier 2): also keeps the local cache in step with what readers touch. */
export interface RemoteSegmentSource extends SegmentSource {
  /**
   * The frame index the manifest recorded for `seg` (`seg.recordedIndex`), expanded and checked
   * against the segment, with no I/O: the first read then costs one ranged GET (the frame), not
   * three. Null when none was recorded or it does not describe the segment (then `loadIndex`
   * fetches it from the object).
   */
  recordedIndex(stream: string, seg: Segment): FrameIndexEntry[] | null;
  /** A reader opened a segment only the remote holds: copy it back locally when there is room. */
  touched(stream: string, seg: Segment): void;
  /**
   * The local copy of `seg` failed its checks and the remote holds the segment: record it, drop
   * the local copy and route later reads of `seg` to the remote (`seg.tier` becomes TIER2).
   * Idempotent.
   */
  dropCorruptLocal(seg: Segment): Promise<void>;
}
