/**
 * The one place that declares the shared-memory layout (thread-stream's `indexes.js` habit).
 *
 * One SharedArrayBuffer per manager:
 * ```
 * byte 0                      control region: Int32 words (GLOBAL_WORDS, then the segment table:
 *                             SEG_WORDS per entry, then SLOT_WORDS per slot), rounded up to
 *                             CONTROL_ALIGN
 * byte controlBytes           slot 0 data (segmentBytes), slot 1 data, ...
 * ```
 * Slot data is the data region of the segment attached to the slot, byte for byte (format/record.ts
 * frames): slot byte i is segment data byte i, so the flusher writes it with positional writes.
 *
 * Two tables, because a segment outlives its slot (docs/tier0-windows.md, stage 1): the **segment
 * table** holds what the flush worker knows about each segment it has open (written, durable,
 * sealed), the **slot words** what the main thread and the worker share about one slot's bytes.
 * A parked segment gives its slot up (RETIRING → CLEAN → evicted) before its bytes are fsynced;
 * its durable count stays in the segment table, so `durableId` never loses it.
 *
 * Ownership and ordering (race notes):
 * - The main thread writes frames, then `Atomics.store(WRITE_LEN)`; the flusher `Atomics.load`s
 *   WRITE_LEN before reading frames, so it never sees a half-written frame.
 * - Doorbell (Dekker style, all Atomics are sequentially consistent): after publishing, the main
 *   thread loads FLUSHER_IDLE and rings (bump WORK_EPOCH + notify) only if it is SLEEPING. The
 *   flusher stores SLEEPING, then re-checks every attached slot before it sleeps on WORK_EPOCH.
 *   Either the main thread sees SLEEPING and rings, or the flusher's re-check sees the new WRITE_LEN.
 * - Write delay (src/tier0/flusher.ts, workers/flush.ts): after a pass that wrote a little, the
 *   flusher stores DELAYING and lingers up to writeDelayMs on WORK_EPOCH before its next pass;
 *   publishes then do not ring (they ring only SLEEPING), so the frames of that delay share one
 *   pwrite. Urgent work (flush(), a seal, a park, a command, shutdown, drains) bumps WAKE_URGENT,
 *   then WORK_EPOCH, then notifies unless the flusher is BUSY. The flusher stores DELAYING, reads
 *   WORK_EPOCH, then re-checks WAKE_URGENT before it waits: either it sees the bump and cuts the
 *   linger, or the bump of WORK_EPOCH comes after its read, so the wait returns at once or is
 *   notified (the main thread loads FLUSHER_IDLE after its bumps and sees DELAYING).
 * - Prefault (src/arena/prefault.ts), per page: a thread faulting in a page adds 1 to the page's
 *   PREFAULT word, then loads its PAGE_USED, writes zeros only if it was 0, and subtracts 1. The
 *   main thread, taking a run, stores PAGE_USED = 1 for every page of it, then loads each page's
 *   PREFAULT and waits while it is not 0. Either the faulter sees PAGE_USED and writes nothing, or
 *   the main thread sees its claim and waits for it (its plain writes then happen before the main
 *   thread's). Only a run's first page has a STATE word: the interior pages of a run are marked by
 *   PAGE_USED alone, which is why faulters do not look at STATE.
 * - The flusher stores a segment's T_FLUSHED_LEN/T_DURABLE_LEN/T_DURABLE_COUNT (and the slot's
 *   S_FLUSHED_LEN), then bumps PROGRESS_EPOCH and notifies; the main thread reads them with
 *   Atomics.load, so a durable count is never ahead of the fsync.
 * - Slot STATE moves FREE → ACTIVE (main) → SEALING (main, after the final WRITE_LEN store) → CLEAN
 *   (flusher, after footer + fsync, and after T_STATE = SEALED), or ACTIVE → RETIRING (main, after
 *   the final WRITE_LEN store: the segment is parked) → CLEAN (flusher, once every published byte is
 *   written; no footer, no fsync needed: durability lives in the segment table).
 * - RETIRING is the one state both threads move out of, so both use compareExchange: the main
 *   thread takes a parked slot straight back (RETIRING → ACTIVE: the flusher never detached it) or
 *   seals it (RETIRING → SEALING); the flusher detaches it (RETIRING → CLEAN) only if its exchange
 *   wins. Whoever loses sees the other's state: a main thread that finds CLEAN knows the flusher
 *   has detached the segment and re-attaches it with a command (or seals it with one).
 * - Only the main thread moves a slot out of CLEAN (eviction, reuse, hydration, taking a parked
 *   segment's slot back as ACTIVE), and it evicts only when PINS is 0. The flusher never touches a
 *   slot it is not attached to, and attaches only on the main thread's command.
 * - Segment table entries: the main thread allocates an entry (handle) and stores T_STATE = OPEN
 *   and zero lengths before it sends the `open` command; from then on only the flusher writes the
 *   entry (lengths, then SEALED or FAILED). The main thread frees the entry once it read SEALED
 *   (src/tier1/tier1.ts, the sealing watcher), and the flusher never touches it again, so an entry
 *   is never written by both threads at once.
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
/**
 * main → flusher: 1 while a read-only process follows a stream of this root (src/follower-presence.ts),
 * else 0: the flusher's write delay is then `followedWriteDelayMs`. Same line and writer as above.
 */
export const G_FOLLOWED = G_SYNC_REQUEST + 2;
export const G_FLUSHER_STATE = 4 * CACHE_LINE_WORDS; // flusher: FLUSHER_RUNNING, FLUSHER_STOPPED, FLUSHER_FAILED
/**
 * Prefault cursor and progress (src/arena/prefault.ts), on the FLUSHER_STATE line: written by the
 * flush worker (and by the main thread inside `open()`, before any slot can be taken), never read
 * on the hot path. NEXT is the next chunk to claim (Atomics.add), DONE counts chunks finished.
 */
export const G_PREFAULT_NEXT = G_FLUSHER_STATE + 1;
export const G_PREFAULT_DONE = G_FLUSHER_STATE + 2;
/**
 * Segment files the flush worker has open now, and how many times it reopened one its open-file
 * budget (`tier0.maxOpenFiles`) had closed (wraps at 2^32: read it unsigned). Written by the flush
 * worker only, read by stats() and the metrics: same line, same writer, never on the hot path.
 */
export const G_OPEN_SEGMENT_FILES = G_FLUSHER_STATE + 3;
export const G_SEGMENT_FILE_REOPENS = G_FLUSHER_STATE + 4;
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
 * The segment table, right after the global words: MAX_OPEN_SEGMENTS entries of SEG_WORDS Int32
 * words, one per segment the flush worker has open (active, parked or being sealed). The main
 * thread hands entries out as handles (src/arena/segment-table.ts) and frees one once its segment
 * is sealed and durable. 65,536 entries: issue 12 asks for 10,000 writing streams, each with one
 * open segment plus the ones sealing (held until Tier 1's sealing watcher sees them SEALED), so
 * this is 6.5 times that. They cost 1 MiB of address space (16 bytes each), of which only the pages
 * below the high-water mark become resident (freed handles are reused before new ones:
 * src/arena/handle-allocator.ts).
 * Past it a new segment cannot open: the append gets WouldBlock `admission` until a segment seals.
 */
export const SEG_TABLE_WORD = GLOBAL_WORDS;
export const MAX_OPEN_SEGMENTS = 65_536;
export const SEG_WORDS = 4;
export const T_STATE = 0; // flusher (main stores OPEN at allocation): SegState
export const T_FLUSHED_LEN = 1; // flusher: bytes of frames written to the segment file (not necessarily fsynced)
export const T_DURABLE_LEN = 2; // flusher: bytes fsynced
export const T_DURABLE_COUNT = 3; // flusher: frames fsynced

/** Segment table entry states. 0 is an unused entry (a zeroed SAB is all unused). */
export const SegState = {
  UNUSED: 0,
  /**
   * The flusher has the segment open (active, parked, or being sealed); its fd may be closed by the
   * open-file budget (`tier0.maxOpenFiles`) and reopened when next written, fsynced or sealed.
   */
  OPEN: 1,
  /** Footer written and fsynced, file closed: the entry's counts are final. */
  SEALED: 2,
  FAILED: -1,
} as const;

/** Index of word `word` of segment table entry `handle` in the Int32 control view. */
export function segWord(handle: number, word: number): number {
  return SEG_TABLE_WORD + handle * SEG_WORDS + word;
}

/** First word of the slot words, after the segment table. */
export const SLOT_TABLE_WORD = SEG_TABLE_WORD + MAX_OPEN_SEGMENTS * SEG_WORDS;

/**
 * Per-slot control words, at SLOT_TABLE_WORD + slot * SLOT_WORDS. One cache line per slot: the
 * flusher's stores for one slot do not disturb the main thread's WRITE_LEN of its neighbour.
 * The slot's lengths count from the start of the segment's data (a slot mirrors its segment).
 */
export const S_STATE = 0;
export const S_WRITE_LEN = 1; // bytes of frames published by the main thread
export const S_FLUSHED_LEN = 2; // bytes of this slot the flusher has written to the segment file
export const S_PINS = 3; // readers (and workers) holding this slot
/**
 * Segment data offset of the run's first byte (main thread, before the run is handed to the
 * flusher; stage 2 windows): run byte i is segment data byte START + i. 0 for loads (mirrors).
 */
export const S_START = 4;
/**
 * Window chain (main → flusher): 1 + the run that continues this window's segment, stored before
 * this run goes RETIRING on a window rollover; 0 when none (a park). The flusher writes the run
 * out, then attaches the next one: a segment's windows are written in START order.
 */
export const S_NEXT = 5;
export const S_PREFAULT = 6; // faulters writing zeros into this page right now (see the prefault race note)
/** 1 while the page belongs to a run the arena handed out (main thread, every page of the run): faulters skip it. */
export const S_PAGE_USED = 7;
export const SLOT_WORDS = CACHE_LINE_WORDS;

/**
 * Page size of the arena (stage 2): runs of 2^order pages come from a buddy allocator
 * (src/arena/buddy-allocator.ts). 8 KiB (two OS pages) keeps 10,000 one-page windows within the
 * default 128 MiB arena (80 MiB); segments smaller than that get 4 KiB pages (MIN_SEGMENT_BYTES).
 */
export const PAGE_BYTES = 8192;

/** Page size for segments of `segmentBytes`. */
export function pageBytesFor(segmentBytes: number): number {
  return segmentBytes >= PAGE_BYTES ? PAGE_BYTES : 4096;
}

/** Slot states. Negative values are failures (the thread-stream sentinel habit). */
export const SlotState = {
  FREE: 0,
  ACTIVE: 1,
  SEALING: 2,
  CLEAN: 3,
  HYDRATING: 4,
  /** A parked segment's slot: the flusher writes what is published, then detaches it (CLEAN). */
  RETIRING: 5,
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

export function controlBytes(slotCount: number): number {
  const raw = (SLOT_TABLE_WORD + slotCount * SLOT_WORDS) * 4;
  return Math.ceil(raw / CONTROL_ALIGN) * CONTROL_ALIGN;
}

/** Index of word `word` of slot `slot` in the Int32 control view. */
export function slotWord(slot: number, word: number): number {
  return SLOT_TABLE_WORD + slot * SLOT_WORDS + word;
}

/**
 * Byte offset of a run's data in the SharedArrayBuffer. Since stage 2 a "slot" is a run, named by
 * its first page: `slotCount` is the number of pages (each has its slot words), `segmentBytes`
 * the page size.
 */
export function slotDataOffset(slotCount: number, segmentBytes: number, slot: number): number {
  return controlBytes(slotCount) + slot * segmentBytes;
}
