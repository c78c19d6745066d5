/**
 * The Tier 0 arena: one SharedArrayBuffer cut into segment slots, plus the main thread's
 * bookkeeping of which segment occupies which slot, and the segment table (segment-table.ts) in
 * the same buffer. Slots are a cache: a CLEAN slot (every byte written to its file: a sealed
 * segment, or a parked active one) is evicted least-recently-used when another segment needs
 * room, unless a reader pins it. A slot Tier 1 holds for the compressor (see {@link Arena.hold}) is
 * evicted last.
 */
import { endianness } from 'node:os';
import { AofError, ErrorCode } from '../errors.js';
import { SegmentTable } from './segment-table.js';
import {
  S_FLUSHED_LEN,
  S_PINS,
  S_STATE,
  S_WRITE_LEN,
  SlotState,
  controlBytes,
  frameBitmapWord,
  frameWords,
  slotDataOffset,
  slotWord,
} from './layout.js';
import { waitForPrefault } from './prefault.js';

/**
 * What occupies a slot: a segment (src/tier0/segment.ts), told when the arena takes the slot away
 * so that its own transition table records it. An interface, so the arena knows nothing above it.
 */
export interface SlotOwner {
  /** The arena took `slot` from this owner (evicted for another owner, or released). */
  slotReleased(slot: number): void;
}

export class Arena {
  readonly sab: SharedArrayBuffer;
  readonly ctrl: Int32Array;
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly slotCount: number;
  readonly segmentBytes: number;
  /** The segment table: the flusher's per-segment words, whether or not the segment has a slot. */
  readonly segments: SegmentTable;
  /** Int32 words of frame-residency bitmap per slot (see layout.ts). */
  readonly frameWords: number;
  /** Segment occupying each slot (null when FREE). Main thread only. */
  readonly #owners: (SlotOwner | null)[];
  /** Logical clock for LRU: bumped when a slot is (re)used or read. */
  #clock = 0;
  readonly #lastUsed: Float64Array;
  /** When each slot was held for the compressor (a hold-clock tick), 0 when not held. Main thread only. */
  readonly #heldAt: Float64Array;
  #holdClock = 0;

  constructor(slotCount: number, segmentBytes: number, frameBytes: number) {
    // Typed-array views use the platform byte order; every format is little-endian.
    if (endianness() !== 'LE') {
      throw new AofError(ErrorCode.UNSUPPORTED_PLATFORM, 'aof2 needs a little-endian CPU');
    }
    this.slotCount = slotCount;
    this.segmentBytes = segmentBytes;
    this.frameWords = frameWords(segmentBytes, frameBytes);
    this.sab = new SharedArrayBuffer(controlBytes(slotCount, this.frameWords) + slotCount * segmentBytes);
    this.ctrl = new Int32Array(this.sab);
    this.u8 = new Uint8Array(this.sab);
    this.u32 = new Uint32Array(this.sab);
    this.f64 = new Float64Array(this.sab);
    this.segments = new SegmentTable(this.ctrl);
    this.#owners = new Array<SlotOwner | null>(slotCount).fill(null);
    this.#lastUsed = new Float64Array(slotCount);
    this.#heldAt = new Float64Array(slotCount);
  }

  /** Byte offset of a slot's data in the SAB. */
  base(slot: number): number {
    return slotDataOffset(this.slotCount, this.segmentBytes, this.frameWords, slot);
  }

  /** Control-word index and bit of frame `frame`'s residency in `slot`. */
  frameBit(slot: number, frame: number): { index: number; bit: number } {
    return { index: frameBitmapWord(this.slotCount, this.frameWords, slot, frame), bit: frame & 31 };
  }

  /** True once Tier 1 frame `frame` has been decompressed into `slot`. */
  frameResident(slot: number, frame: number): boolean {
    const word = Atomics.load(this.ctrl, frameBitmapWord(this.slotCount, this.frameWords, slot, frame));
    return (word & (1 << (frame & 31))) !== 0;
  }

  state(slot: number): number {
    return Atomics.load(this.ctrl, slotWord(slot, S_STATE));
  }

  setState(slot: number, state: number): void {
    Atomics.store(this.ctrl, slotWord(slot, S_STATE), state);
  }

  /**
   * Moves `slot` from `expected` to `next` unless another thread moved it first (RETIRING, which
   * the flusher leaves on its own: layout.ts race notes). Returns the state found: `expected`
   * when the exchange happened.
   */
  exchangeState(slot: number, expected: number, next: number): number {
    return Atomics.compareExchange(this.ctrl, slotWord(slot, S_STATE), expected, next);
  }

  /** Sets a word of a slot the flusher is not attached to (a slot coming back as ACTIVE). */
  setWord(slot: number, word: number, value: number): void {
    Atomics.store(this.ctrl, slotWord(slot, word), value);
  }

  word(slot: number, word: number): number {
    return Atomics.load(this.ctrl, slotWord(slot, word));
  }

  pin(slot: number): void {
    this.ctrl[slotWord(slot, S_PINS)]!++;
    this.touch(slot);
  }

  unpin(slot: number): void {
    this.ctrl[slotWord(slot, S_PINS)]!--;
  }

  touch(slot: number): void {
    this.#lastUsed[slot] = ++this.#clock;
  }

  /**
   * Keeps `owner`'s segment in `slot` for the compressor, at no one's expense: unlike a pin, a
   * hold never makes anyone wait. A held CLEAN slot is evicted only when no other slot is free or
   * evictable, and then the newest hold first (the compressor works oldest first, so it reaches
   * that one last; the segment it is about to read stays). Evicted, the segment is compressed
   * from its raw file, which was written moments ago and is normally in the page cache. The hold
   * ends with {@link unhold} or when the slot changes owner. No-op if `owner` is not in `slot`.
   */
  hold(slot: number, owner: SlotOwner): void {
    if (this.#owners[slot] === owner) this.#heldAt[slot] = ++this.#holdClock;
  }

  /** Ends `owner`'s hold on `slot` (no-op if the slot has changed owner since: that ended it). */
  unhold(slot: number, owner: SlotOwner): void {
    if (this.#owners[slot] === owner) this.#heldAt[slot] = 0;
  }

  /**
   * Claims a slot for `owner`: a FREE one, else the least recently used CLEAN unpinned one that is
   * not held, else the newest held CLEAN unpinned one (whose segment is evicted: its data stays in
   * its file). Returns -1 when every slot is busy.
   */
  acquire(owner: SlotOwner, state: number): number {
    let victim = -1;
    let held = -1;
    let wasFree = false;
    for (let slot = 0; slot < this.slotCount; slot++) {
      const s = this.state(slot);
      if (s === SlotState.FREE) {
        victim = slot;
        wasFree = true;
        break;
      }
      if (s === SlotState.CLEAN && this.ctrl[slotWord(slot, S_PINS)] === 0) {
        if (this.#heldAt[slot]! > 0) {
          if (held < 0 || this.#heldAt[slot]! > this.#heldAt[held]!) held = slot;
        } else if (victim < 0 || this.#lastUsed[slot]! < this.#lastUsed[victim]!) {
          victim = slot;
        }
      }
    }
    if (victim < 0) victim = held;
    if (victim < 0) return -1;
    const previous = this.#owners[victim];
    if (previous != null) previous.slotReleased(victim);
    this.#owners[victim] = owner;
    this.#heldAt[victim] = 0;
    for (const word of [S_WRITE_LEN, S_FLUSHED_LEN]) Atomics.store(this.ctrl, slotWord(victim, word), 0);
    const bitmap = frameBitmapWord(this.slotCount, this.frameWords, victim, 0);
    for (let i = 0; i < this.frameWords; i++) Atomics.store(this.ctrl, bitmap + i, 0);
    this.setState(victim, state);
    // A prefaulter may be writing zeros into a slot it saw FREE: let it finish its chunk first.
    if (wasFree) waitForPrefault(this.ctrl, victim);
    this.touch(victim);
    return victim;
  }

  /** Returns a slot to FREE (a failed hydration, a failed segment). */
  release(slot: number): void {
    const owner = this.#owners[slot];
    if (owner != null) owner.slotReleased(slot);
    this.#owners[slot] = null;
    this.#heldAt[slot] = 0;
    this.setState(slot, SlotState.FREE);
  }

  /** Counts of slots per state, plus the pinned and the held ones (which overlap the states), for stats and tests. */
  occupancy(): Record<'free' | 'active' | 'retiring' | 'sealing' | 'clean' | 'hydrating' | 'failed' | 'pinned' | 'held', number> {
    const out = { free: 0, active: 0, retiring: 0, sealing: 0, clean: 0, hydrating: 0, failed: 0, pinned: 0, held: 0 };
    for (let slot = 0; slot < this.slotCount; slot++) {
      const s = this.state(slot);
      if (s === SlotState.FREE) out.free++;
      else if (s === SlotState.ACTIVE) out.active++;
      else if (s === SlotState.RETIRING) out.retiring++;
      else if (s === SlotState.SEALING) out.sealing++;
      else if (s === SlotState.CLEAN) out.clean++;
      else if (s === SlotState.HYDRATING) out.hydrating++;
      else out.failed++;
      if (this.ctrl[slotWord(slot, S_PINS)]! > 0) out.pinned++;
      if (this.#heldAt[slot]! > 0) out.held++;
    }
    return out;
  }
}
