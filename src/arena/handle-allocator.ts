/**
 * Hands out small integer handles in [0, capacity): the entries of the shared segment table
 * (src/arena/segment-table.ts). Pure bookkeeping, no shared memory, so it is unit-tested alone.
 *
 * Freed handles are reused before new ones (last freed, first reused), so the handles in use stay
 * below the high-water mark of handles open at once: the table's pages above it are never touched
 * and never become resident. O(1) per call.
 */
import { AofError, ErrorCode } from '../errors.js';

export class HandleAllocator {
  readonly capacity: number;
  /** Handles below this have been handed out at least once. */
  #next = 0;
  readonly #free: number[] = [];
  readonly #inUse: Uint8Array;
  #size = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw AofError.invalidArgument(`handle capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#inUse = new Uint8Array(capacity);
  }

  /** Handles in use. */
  get size(): number {
    return this.#size;
  }

  /** One past the highest handle ever handed out: every handle in use is below it. */
  get highWater(): number {
    return this.#next;
  }

  /** A free handle, or -1 when all `capacity` are in use. */
  alloc(): number {
    let handle: number;
    if (this.#free.length > 0) handle = this.#free.pop()!;
    else if (this.#next < this.capacity) handle = this.#next++;
    else return -1;
    this.#inUse[handle] = 1;
    this.#size++;
    return handle;
  }

  /**
   * Gives `handle` back.
   * @throws AOF_ERR_INTERNAL when it is not in use (a double free is a bug, never data)
   */
  free(handle: number): void {
    if (!this.inUse(handle)) throw new AofError(ErrorCode.INTERNAL, `handle ${handle} is not in use`, { details: { handle } });
    this.#inUse[handle] = 0;
    this.#size--;
    this.#free.push(handle);
  }

  inUse(handle: number): boolean {
    return Number.isInteger(handle) && handle >= 0 && handle < this.#next && this.#inUse[handle] === 1;
  }
}
