/**
 * The main thread's side of the shared segment table (src/arena/layout.ts): which entries are in
 * use, and typed reads of the words the flush worker writes. An entry ("handle") belongs to one
 * segment from the moment the log opens it until its footer is durable and Tier 1's sealing
 * watcher has read the SEALED state; `durableId` and the read path read the entry meanwhile,
 * whether or not the segment has an arena slot (a parked segment may have none).
 *
 * Race notes: see layout.ts. `alloc` stores OPEN and zero lengths before the handle is sent to the
 * worker (which only ever writes an entry after its `open` command), and `free` is called only
 * after the worker stored SEALED, its last write to the entry.
 */
import { HandleAllocator } from './handle-allocator.js';
import { MAX_OPEN_SEGMENTS, SegState, T_DURABLE_COUNT, T_DURABLE_LEN, T_FLUSHED_LEN, T_STATE, segWord } from './layout.js';

export class SegmentTable {
  readonly #ctrl: Int32Array;
  readonly #handles: HandleAllocator;
  /** Handles whose seal was asked for and whose entry may still be OPEN (see sealsPending). */
  readonly #sealing = new Set<number>();

  /** @param capacity entries to hand out (MAX_OPEN_SEGMENTS, the table's size; tests use fewer) */
  constructor(ctrl: Int32Array, capacity: number = MAX_OPEN_SEGMENTS) {
    this.#ctrl = ctrl;
    this.#handles = new HandleAllocator(Math.min(capacity, MAX_OPEN_SEGMENTS));
  }

  /** Entries in use. */
  get size(): number {
    return this.#handles.size;
  }

  /**
   * Entries in use whose seal was not asked for: the segments being written (active, parked or
   * not), one per stream that writes. The window-size rule divides the window budget by it.
   */
  get writing(): number {
    return this.#handles.size - this.#sealing.size;
  }

  /**
   * A fresh entry for a segment about to be opened, its words reset (STATE OPEN, lengths 0), or -1
   * when every entry is in use (the caller reports WouldBlock `admission`).
   */
  alloc(): number {
    const handle = this.#handles.alloc();
    if (handle < 0) return -1;
    const ctrl = this.#ctrl;
    Atomics.store(ctrl, segWord(handle, T_FLUSHED_LEN), 0);
    Atomics.store(ctrl, segWord(handle, T_DURABLE_LEN), 0);
    Atomics.store(ctrl, segWord(handle, T_DURABLE_COUNT), 0);
    Atomics.store(ctrl, segWord(handle, T_STATE), SegState.OPEN);
    return handle;
  }

  /**
   * A fresh entry for a segment resumed at open (its file holds `dataBytes` of `count` records, all
   * durable): OPEN, and the written and durable lengths the worker will continue from, stored
   * before the `resume` command is sent. -1 when every entry is in use.
   */
  allocResumed(dataBytes: number, count: number): number {
    const handle = this.alloc();
    if (handle < 0) return -1;
    const ctrl = this.#ctrl;
    Atomics.store(ctrl, segWord(handle, T_FLUSHED_LEN), dataBytes);
    Atomics.store(ctrl, segWord(handle, T_DURABLE_LEN), dataBytes);
    Atomics.store(ctrl, segWord(handle, T_DURABLE_COUNT), count);
    return handle;
  }

  /**
   * Gives a SEALED entry back: nobody reads its words any more.
   * @throws AOF_ERR_INTERNAL when the handle is not in use
   */
  free(handle: number): void {
    this.#handles.free(handle);
    this.#sealing.delete(handle);
    Atomics.store(this.#ctrl, segWord(handle, T_STATE), SegState.UNUSED);
  }

  state(handle: number): number {
    return Atomics.load(this.#ctrl, segWord(handle, T_STATE));
  }

  /** Bytes of frames the flusher has written to the segment's file. */
  flushedLen(handle: number): number {
    return Atomics.load(this.#ctrl, segWord(handle, T_FLUSHED_LEN));
  }

  /** Frames fsynced (what durableId reads). */
  durableCount(handle: number): number {
    return Atomics.load(this.#ctrl, segWord(handle, T_DURABLE_COUNT));
  }

  /** The log asked for the segment's seal (attached or not): counted by {@link sealsPending} until SEALED. */
  markSealing(handle: number): void {
    this.#sealing.add(handle);
  }

  /** Seals asked for whose footer is not durable yet (close and settle wait for 0); -1 if the flusher failed one. */
  sealsPending(): number {
    let pending = 0;
    for (const handle of this.#sealing) {
      const state = this.state(handle);
      if (state === SegState.FAILED) return -1;
      if (state === SegState.OPEN) pending++;
    }
    return pending;
  }

  /**
   * Open segments with bytes written but not fsynced (a flush() or drain waits for 0); -1 when the
   * flusher failed one. Walks the handles in use, below the high-water mark: not for a hot path.
   */
  unsynced(): number {
    const ctrl = this.#ctrl;
    let pending = 0;
    for (let handle = 0; handle < this.#handles.highWater; handle++) {
      if (!this.#handles.inUse(handle)) continue;
      const state = Atomics.load(ctrl, segWord(handle, T_STATE));
      if (state === SegState.FAILED) return -1;
      if (state === SegState.OPEN && Atomics.load(ctrl, segWord(handle, T_DURABLE_LEN)) < Atomics.load(ctrl, segWord(handle, T_FLUSHED_LEN))) pending++;
    }
    return pending;
  }
}
