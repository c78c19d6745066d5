/**
 * Task shapes of the Tier 1 piscina pools (workers/compress.ts, workers/hydrate.ts). Everything
 * here crosses a thread boundary by structured clone; a SharedArrayBuffer is shared, not copied,
 * so the workers read and write arena memory directly.
 *
 * Errors: a task rejects with a plain `SerializedAofError` object `{ code, message, stack, details }`
 * (structured clone would drop an AofError's code); rebuild it on the main thread with
 * `fromWorkerRejection` from src/worker-error.ts, which also turns a crashed worker ("worker
 * exited with code: 1") into AOF_ERR_WORKER_FAILED.
 */
import type { ZstdImplementation } from '../src/codec/zstd.js';
import type { RecordedSegment } from '../src/format/sealed-check.js';
import type { FrameIndexEntry } from '../src/format/tier1.js';
import type { Tier2StoreConfig } from '../src/tier2/object-store.js';

/** Where the compress worker reads the raw data region of a sealed segment. */
export type CompressSource =
  /** The slot in the arena: `sab[offset, offset + dataBytes)` holds the segment's data region. */
  | { kind: 'arena'; sab: SharedArrayBuffer; offset: number }
  /** A sealed segment file (src/format/segment.ts); header and footer are checked against the task. */
  | { kind: 'file'; path: string };

/**
 * One sealed segment to compress. Caller obligations: the source bytes must not change while the
 * task runs (keep the arena slot pinned: the worker reads it in place, asynchronously), and at most
 * one task per `targetPath` may run at a time (attempts share `targetPath + '.tmp'`; a retry after
 * a crash or a rejection is safe because the earlier attempt has ended by then).
 */
export interface CompressTask {
  source: CompressSource;
  /** Raw bytes of record frames (the segment footer's dataBytes). */
  dataBytes: number;
  recordCount: number;
  baseId: number;
  /** zlib.crc32 of the data region (the segment footer's dataCrc); checked before the rename. */
  dataCrc: number;
  /** zstd level, an integer in [1, 22]. */
  level: number;
  /** The zstd implementation to compress with (`tier1.codec`, resolved once at open for every thread). */
  codec: ZstdImplementation;
  /** Raw bytes per zstd frame: a frame is cut once its records reach this (never inside a record). */
  frameTarget: number;
  /** Final path of the .t1 file; the worker writes `targetPath + '.tmp'` and renames. */
  targetPath: string;
  /** Header createdAt (ms since epoch); defaults to the worker's clock. Set for reproducible files. */
  createdAt?: number;
}

export interface CompressResult {
  /** Size of the whole .t1 file (header, frames, index, footer): what the segment now costs on disk. */
  compressedBytes: number;
  frameCount: number;
  /** The frame index exactly as written to the file. */
  index: FrameIndexEntry[];
}

/**
 * Where a hydrate task reads a frame's compressed bytes: one positional read of a local .t1 file,
 * or one ranged GET of the Tier 2 object holding that file byte for byte (the worker opens the
 * store from its configuration, once per thread: workers/store-cache.ts).
 */
export type HydrateSource = { kind: 'file'; path: string } | { kind: 'object'; store: Tier2StoreConfig; key: string };

/** A frame of a hydrate task and where its raw bytes go. */
export interface HydrateFrame {
  /** The frame, from the file's validated index. */
  entry: FrameIndexEntry;
  /** Absolute byte offset in the task's `sab` of the frame's run (see HydrateTask.targetOffset). */
  targetOffset: number;
}

/**
 * One frame (or a few consecutive ones) to bring back into shared memory. The target regions must
 * not be read until the task resolved, and no other writer may touch them meanwhile.
 */
export interface HydrateTask {
  /** Where the frame's compressed bytes are: a local .t1 file, or the same file as a Tier 2 object. */
  source: HydrateSource;
  /**
   * The frame to load, from the file's validated index (src/format/tier1-file.ts readTier1Meta, or
   * src/tier2/remote-meta.ts fetchTier1Meta for an object).
   */
  entry: FrameIndexEntry;
  sab: SharedArrayBuffer;
  /**
   * Absolute byte offset in `sab` where the frame's raw bytes go: the start of a run of its own,
   * HYDRATING (no reader, no other writer) until the task settles; the main thread publishes it
   * (CLEAN, a range of the segment) only after the task resolved.
   */
  targetOffset: number;
  /**
   * Frames that follow `entry` in the same file, in file order and contiguous (each starts where
   * the one before ends), each into a run of its own: read with the same request as `entry` (one
   * ranged GET, or one positional read, of the span from `entry` to the last one's end), then each
   * decompressed and length- and CRC-checked on its own. Absent or empty: `entry` alone. The read
   * path sends them for a scan's read-ahead in a segment only Tier 2 holds, where a request costs
   * far more than its bytes (docs/decisions.md, "A follower's scan reads ahead in coalesced GETs").
   */
  following?: HydrateFrame[];
  /** Int32 word index that gets Atomics.add(1) + Atomics.notify once the bytes are in place. */
  progressIndex: number;
  /** The zstd implementation to decompress with (`tier1.codec`, resolved at open); any reads any file. */
  codec: ZstdImplementation;
}

export interface HydrateResult {
  /** Raw bytes written, every frame of the task together. */
  rawBytes: number;
}

/**
 * One chunk of a raw segment to load into an arena run (the `loadChunk` export of
 * workers/hydrate.ts; docs/tier0-windows.md, stage 3). The worker walks frames from a known record
 * boundary (`from`, record `fromRecord`) in steps of at most `capacity` bytes, each step ending
 * on a frame boundary, until the step holding record `record`; that step stays in the run. Every
 * frame it walks is CRC-checked. Only bytes below `limit` are read: the data length of a sealed
 * segment, or what the flush worker has written of an open one (whole frames, no footer yet).
 * Caller obligations: the target run is HYDRATING (no reader, no other writer) until the task
 * settles; the main thread publishes it (CLEAN, a range of the segment) only after the task
 * resolved with a chunk, never on a rejection.
 */
export interface ChunkLoadTask {
  /** The raw segment file (src/format/segment.ts). */
  path: string;
  /** Data offset of a known record boundary at or below the record. */
  from: number;
  /** Index (0-based in the segment) of the record that starts at `from`. */
  fromRecord: number;
  /** Index of the record the chunk must hold. */
  record: number;
  /** Data bytes that may be read (whole frames up to there). */
  limit: number;
  /** Bytes of the run: the most a chunk may hold. */
  capacity: number;
  sab: SharedArrayBuffer;
  /** Absolute byte offset in `sab` of the run's data. */
  targetOffset: number;
  /**
   * Set on the loads of a sealed segment recovery trusted from the manifest catalog without opening
   * its file (lazy footers, docs/read-path.md) until one succeeds: before reading any frame the
   * worker checks the file against it (length, header, footer: src/format/sealed-check.ts) and
   * rejects with AOF_ERR_CORRUPT (`details.footerCheck`) when they disagree. Absent or null: no check.
   */
  sealed?: RecordedSegment | null;
}

/**
 * What a chunk load found: the chunk now in the run (records [first, endRecord) in data bytes
 * [start, end)) and the boundaries it walked over on the way (flat [offset, record, ...]), or,
 * when the frame starting the chunk is larger than the run, how many bytes it needs
 * (`needBytes`, with `start` and `first` naming that frame; nothing usable is in the run).
 */
export interface ChunkLoadResult {
  start: number;
  first: number;
  end: number;
  endRecord: number;
  needBytes: number;
  learned: number[];
}

/**
 * The hydrate pool's warm-up (`warm` export of workers/hydrate.ts), run once by `AofManager.open`
 * when the root holds data to read: it starts a thread and, with `codec`, loads that zstd.
 */
export interface WarmTask {
  /** The zstd implementation to load (Tier 1 on: compressed frames may be read), or null for none. */
  codec: ZstdImplementation | null;
}
