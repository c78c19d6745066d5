/**
 * Main-thread record of one segment of one stream: where its records are (raw file, Tier 1 file,
 * arena slot) and how many. Ids are implicit: record i of the segment has id `baseId + i`.
 */
import type { AofError } from '../errors.js';
import type { FrameIndexEntry } from '../format/tier1.js';

/** Which local file holds the segment's records. */
export const SegmentTier = {
  /** The raw segment file (`.seg`): active, sealing, or sealed and not yet compressed. */
  RAW: 'raw',
  /** The compressed Tier 1 file (`.t1`); the raw file is gone. */
  TIER1: 'tier1',
  /** Only Tier 2 (the object store) holds the segment: reads fetch frames by byte range. */
  TIER2: 'tier2',
  /** No copy is usable (lost or corrupt, and not in Tier 2); reads fail until it is restored. */
  MISSING: 'missing',
} as const;

export type SegmentTierValue = (typeof SegmentTier)[keyof typeof SegmentTier];

export class Segment {
  readonly baseId: number;
  /** Raw segment file path. */
  readonly path: string;
  /** Tier 1 file path (exists once tier is TIER1). */
  readonly t1Path: string;
  /** Records in the segment (live for the active segment). */
  count: number;
  /** Bytes of frames in the data region (live for the active segment only through the log). */
  dataBytes: number;
  /** zlib.crc32 of the data region once sealed (0 until known). */
  dataCrc = 0;
  /** Newest record's timestamp (ms since epoch) once sealed; 0 when unknown. Age retention uses it. */
  maxTimestamp = 0;
  /** Size of the Tier 1 file (and of its Tier 2 object); 0 until compressed. */
  compressedBytes = 0;
  /** Frames in the Tier 1 file; with compressedBytes, locates the frame index inside a Tier 2 object. */
  frameCount = 0;
  /** True once the Tier 1 file is confirmed in Tier 2 (the local copy may then be evicted). */
  uploaded = false;
  /** Tier 2 object key (set once Tier 2 knows the segment). */
  key = '';
  /** A copy of the Tier 2 object back into the local Tier 1 cache is running. */
  recaching = false;
  /** Retention expired the segment: its files and object are going; readers get OUT_OF_RANGE. */
  expired = false;
  tier: SegmentTierValue = SegmentTier.RAW;
  /** Arena slot holding the data, or -1 when only a file has it. */
  slot = -1;
  /**
   * True when the slot was filled frame by frame from Tier 1: only frames whose residency bit is
   * set hold valid bytes. False when the slot holds the whole data region.
   */
  partial = false;
  /** True once the segment will never grow again (sealing or sealed). */
  sealed: boolean;
  /** Tier 1 frame index (null until compressed, or until loaded from the .t1 file). */
  frameIndex: FrameIndexEntry[] | null = null;
  /** A running load: the raw file into a slot, or the Tier 1 metadata. Shared by every reader. */
  hydration: Promise<void> | null = null;
  /** Tier 1 frames being decompressed into the slot, shared by every reader that needs them. */
  readonly frameHydrations = new Set<number>();
  /** Last hydration failure; readers report it (corruption is permanent, I/O errors retried). */
  error: AofError | null = null;

  constructor(baseId: number, path: string, t1Path: string, count: number, dataBytes: number, sealed: boolean) {
    this.baseId = baseId;
    this.path = path;
    this.t1Path = t1Path;
    this.count = count;
    this.dataBytes = dataBytes;
    this.sealed = sealed;
  }

  /** Id one past the last record. */
  get endId(): number {
    return this.baseId + this.count;
  }
}
