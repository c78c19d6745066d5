/**
 * The one place that declares the shared-memory layout (thread-stream's `indexes.js` habit).
 *
 * One SharedArrayBuffer per manager:
 * ```
 * byte 0                      control region: Int32 words (GLOBAL_WORDS, then SLOT_WORDS per slot),
 *                             rounded up to CONTROL_ALIGN
 * byte controlBytes           slot 0 data (segmentBytes), slot 1 data, ...
 * ```
 * Slot data is the segment's data region byte for byte (format/record.ts frames), so the flusher
 * writes it to the file with one positional write.
 *
 * Ownership and ordering (race notes):
 * - The main thread writes frames, then `Atomics.store(WRITE_LEN)`; the flusher `Atomics.load`s
 *   WRITE_LEN before reading frames, so it never sees a half-written frame.
 * - Doorbell (Dekker style, all Atomics are sequentially consistent): after publishing, the main
 *   thread loads FLUSHER_IDLE and rings (bump WORK_EPOCH + notify) only if it is SLEEPING. The
 *   flusher stores SLEEPING, then re-checks every WRITE_LEN before it sleeps on WORK_EPOCH. Either
 *   the main thread sees SLEEPING and rings, or the flusher's re-check sees the new WRITE_LEN.
 * - Write delay (src/tier0/flusher.ts, workers/flush.ts): after a pass that wrote a little, the
 *   flusher stores DELAYING and lingers up to writeDelayMs on WORK_EPOCH before its next pass;
 *   publishes then do not ring (they ring only SLEEPING), so the frames of that delay share one
 *   pwrite. Urgent work (flush(), a seal, a new segment, shutdown, drains) bumps WAKE_URGENT, then
 *   WORK_EPOCH, then notifies unless the flusher is BUSY. The flusher stores DELAYING, reads
 *   WORK_EPOCH, then re-checks WAKE_URGENT before it waits: either it sees the bump and cuts the
 *   linger, or the bump of WORK_EPOCH comes after its read, so the wait returns at once or is
 *   notified (the main thread loads FLUSHER_IDLE after its bumps and sees DELAYING).
 * - Prefault (src/arena/prefault.ts): a thread faulting in pages of a slot adds 1 to the slot's
 *   PREFAULT word, then loads STATE, writes zeros only if it was FREE, and subtracts 1. The main
 *   thread, taking a FREE slot, stores the new STATE, then loads PREFAULT and waits while it is
 *   not 0. Either the faulter sees the new STATE and writes nothing, or the main thread sees its
 *   claim and waits for the chunk (its plain writes then happen before the main thread's).
 * - The flusher stores FLUSHED_LEN/DURABLE_LEN/DURABLE_COUNT, then bumps PROGRESS_EPOCH and notifies;
 *   the main thread reads them with Atomics.load, so a durable count is never ahead of the fsync.
 * - STATE moves FREE → ACTIVE (main) → SEALING (main, after the final WRITE_LEN store) → CLEAN
 *   (flusher, after footer + fsync). Only the main thread moves a slot out of CLEAN (eviction, reuse,
 *   hydration), and only when PINS is 0.
 */

/**
 * Global control words. Each sits on its own 64-byte cache line, so the main thread's doorbell
 * and the flusher's progress counter never false-share.
 */
export const CACHE_LINE_WORDS = 16;
export const G_WORK_EPOCH = 0; // main → flusher: bumped when there is new work and the flusher may sleep
export const G_FLUSHER_IDLE = 1 * CACHE_LINE_WORDS; // flusher → main: FlusherIdle (SLEEPING: a publish must ring)
export const G_PROGRESS_EPOCH = 2 * CACHE_LINE_WORDS; // flusher → main: bumped after every pass that moved a length or state
export const G_SYNC_REQUEST = 3 * CACHE_LINE_WORDS; // main → flusher: bumped by flush(); the flusher fsyncs everything written
/**
 * main → flusher: bumped (before WORK_EPOCH) by every ring that must not wait for the write delay.
 * Shares the SYNC_REQUEST line: both are written by the main thread only, and only off the hot path.
 */
export const G_WAKE_URGENT = G_SYNC_REQUEST + 1;
export const G_FLUSHER_STATE = 4 * CACHE_LINE_WORDS; // flusher: FLUSHER_RUNNING, FLUSHER_STOPPED, FLUSHER_FAILED
/**
 * Prefault cursor and progress (src/arena/prefault.ts), on the FLUSHER_STATE line: written by the
 * flush worker (and by the main thread inside `open()`, before any slot can be taken), never read
 * on the hot path. NEXT is the next chunk to claim (Atomics.add), DONE counts chunks finished.
 */
export const G_PREFAULT_NEXT = G_FLUSHER_STATE + 1;
export const G_PREFAULT_DONE = G_FLUSHER_STATE + 2;
/**
 * fsync latency histogram, written by the flush worker and read by the main thread at scrape time
 * (src/metrics/fsync-histogram.ts): BigInt64 counters (no wrap-around, ever) in their own three cache
 * lines. Layout in 64-bit units from G_FSYNC_HIST: FSYNC_BUCKET_BOUNDS.length + 1 bucket counts
 * (the last is +Inf, not cumulative), then the sum of all durations in nanoseconds.
 * Race note: each counter is bumped with Atomics.add and read with Atomics.load; a scrape may see a
 * bucket bumped before the sum (one fsync's worth of skew), which Prometheus tolerates.
 */
export const G_FSYNC_HIST = 5 * CACHE_LINE_WORDS; // byte offset is a multiple of 8: BigInt64 aligned
/** Upper bounds (seconds) of the fsync histogram's buckets: 50 µs (page cache, NVMe) up to 2.5 s (a sick disk). */
export const FSYNC_BUCKET_BOUNDS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;
/** Index (in 64-bit units from G_FSYNC_HIST) of the nanosecond sum. */
export const FSYNC_SUM_INDEX = FSYNC_BUCKET_BOUNDS.length + 1;
export const GLOBAL_WORDS = 8 * CACHE_LINE_WORDS;

/**
 * Per-slot control words, at GLOBAL_WORDS + slot * SLOT_WORDS. One cache line per slot: the
 * flusher's stores for one slot do not disturb the main thread's WRITE_LEN of its neighbour.
 */
export const S_STATE = 0;
export const S_WRITE_LEN = 1; // bytes of frames published by the main thread
export const S_FLUSHED_LEN = 2; // bytes written to the segment file (not necessarily fsynced)
export const S_DURABLE_LEN = 3; // bytes fsynced
export const S_DURABLE_COUNT = 4; // frames fsynced
export const S_PINS = 5; // readers (and workers) holding this slot
export const S_PREFAULT = 6; // faulters writing zeros into this FREE slot right now (see the prefault race note)
export const SLOT_WORDS = CACHE_LINE_WORDS;

/**
 * Frame residency bitmaps, after the slot words: FRAME_WORDS Int32 words per slot, bit f set once
 * Tier 1 frame f of the slot's segment is decompressed into the slot (by a hydration worker, with
 * Atomics.or, before it bumps PROGRESS_EPOCH). Only meaningful for slots hydrated frame by frame;
 * cleared by the main thread whenever the slot is acquired.
 */
export function frameWords(segmentBytes: number, frameBytes: number): number {
  // Frames close at the first record boundary at or past frameBytes, so a segment has at most
  // floor(segmentBytes / frameBytes) + 1 of them.
  return Math.ceil((Math.floor(segmentBytes / frameBytes) + 1) / 32);
}

export function frameBitmapWord(slotCount: number, wordsPerSlot: number, slot: number, frame: number): number {
  return GLOBAL_WORDS + slotCount * SLOT_WORDS + slot * wordsPerSlot + (frame >>> 5);
}

/** Slot states. Negative values are failures (the thread-stream sentinel habit). */
export const SlotState = {
  FREE: 0,
  ACTIVE: 1,
  SEALING: 2,
  CLEAN: 3,
  HYDRATING: 4,
  FAILED: -1,
} as const;

/** Values of G_FLUSHER_IDLE: what a publish must do to get its frame written. */
export const FlusherIdle = {
  /** In a pass (or prefaulting): it re-checks every WRITE_LEN before it sleeps; no ring needed. */
  BUSY: 0,
  /** Asleep on WORK_EPOCH with nothing pending: a publish rings. */
  SLEEPING: 1,
  /** Lingering after a small write (the write delay): publishes need no ring, urgent work notifies. */
  DELAYING: 2,
} as const;

export const FLUSHER_RUNNING = 1;
export const FLUSHER_STOPPED = 2;
export const FLUSHER_FAILED = -1;

/** Control region is padded to a page so slot data starts page-aligned (and 8-aligned for Float64). */
export const CONTROL_ALIGN = 4096;

export function controlBytes(slotCount: number, wordsPerSlot: number): number {
  const raw = (GLOBAL_WORDS + slotCount * (SLOT_WORDS + wordsPerSlot)) * 4;
  return Math.ceil(raw / CONTROL_ALIGN) * CONTROL_ALIGN;
}

/** Index of word `word` of slot `slot` in the Int32 control view. */
export function slotWord(slot: number, word: number): number {
  return GLOBAL_WORDS + slot * SLOT_WORDS + word;
}

/** Byte offset of slot data in the SharedArrayBuffer. */
export function slotDataOffset(slotCount: number, segmentBytes: number, wordsPerSlot: number, slot: number): number {
  return controlBytes(slotCount, wordsPerSlot) + slot * segmentBytes;
}
