/**
 * Messages between the main thread and the flush worker. Frequent signals (new frames, progress)
 * travel through control words in shared memory (src/arena/layout.ts); these messages carry only
 * the rare events that need data: a segment opened, resumed (the tail a clean close left open),
 * attached to a slot again, or sealed while it has no slot; shutdown; failures.
 *
 * `handle` is the segment's entry in the shared segment table (src/arena/segment-table.ts): the
 * worker keys its per-segment state (fd, running CRC, counts) by it.
 */
import type { MessagePort } from 'node:worker_threads';
import type { SerializedAofError } from '../src/errors.js';
import type { FsyncPolicy } from '../src/config.js';

export interface FlushWorkerData {
  sab: SharedArrayBuffer;
  /** Pages of the arena (each has its slot words; a run is named by its first page). */
  slotCount: number;
  pageBytes: number;
  segmentBytes: number;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  /** How long a ring may wait for more appends before the write (0: none; see ResolvedConfig). */
  writeDelayMs: number;
  /** The write delay while a read-only process follows (`G_FOLLOWED` set; src/follower-presence.ts). */
  followedWriteDelayMs: number;
  /** Most segment files open at once (`tier0.maxOpenFiles`): the fds are an LRU cache. */
  maxOpenFiles: number;
  /** Fault the arena's pages in between passes (src/arena/prefault.ts). */
  prefault: boolean;
  port: MessagePort;
}

/** Main → worker. */
export type FlushCommand =
  /** Create the segment's file and attach the segment to `slot` (a new segment is always in a slot). */
  | { type: 'open'; handle: number; slot: number; path: string; baseId: number; createdAt: number }
  /**
   * The stream's last segment, which a clean close (or recovery) left with a footer but never
   * recorded as sealed, is continued: the worker takes it as a parked segment with no slot, its
   * file closed (opened when first needed) and its state the footer's. The footer at
   * `HEADER + dataBytes` is cut off before the first byte is written past the data (docs/formats.md,
   * "Closing and continuing a segment").
   */
  | { type: 'resume'; handle: number; path: string; baseId: number; createdAt: number; state: ResumedSegmentState }
  /** A parked segment detached from its slot takes a slot again (ACTIVE, WRITE_LEN = what was written). */
  | { type: 'attach'; handle: number; slot: number }
  /** Seal a parked segment that has no slot attached: footer, fsync, close; its entry then SEALED. */
  | { type: 'seal'; handle: number }
  | { type: 'shutdown' };

/** What a resumed segment's footer says: the worker continues its counts, running CRC and timestamps from it. */
export interface ResumedSegmentState {
  count: number;
  dataBytes: number;
  dataCrc: number;
  minTimestamp: number;
  maxTimestamp: number;
}

/** Worker → main. `slot` is the failed segment's slot, -1 when it had none (or the worker failed). */
export type FlushEvent = { type: 'failed'; slot: number; error: SerializedAofError } | { type: 'stopped' };
