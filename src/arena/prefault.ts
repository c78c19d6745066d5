/**
 * Faulting the arena's pages in ahead of the writer.
 *
 * A fresh SharedArrayBuffer is reserved, not backed: the first write to each 4 KiB page takes a
 * page fault, and on these VMs a fault costs 2.5-12 µs (the host backs the page too). A writer
 * that meets fresh pages copies 1 KiB records at a fifth of the speed it reaches on pages already
 * touched. So other threads touch them first: one byte per page, zero, in the order the arena
 * hands slots out (src/arena/arena.ts takes the lowest FREE slot first), chunk by chunk:
 *
 * - the main thread, inside `AofManager.open()`, while it waits for the flush worker to start;
 * - the flush worker, from then on, between its passes, until every chunk has been claimed.
 *
 * Both claim chunks from one cursor (`G_PREFAULT_NEXT`, `Atomics.add`), so they never do the same
 * chunk twice and can run at once. A chunk is only written while its slot is FREE, under the
 * slot's PREFAULT claim (race note in src/arena/layout.ts); a slot that is in use was or is being
 * faulted in by its own writer, so its chunks are skipped. Zero is the right value to write: a
 * FREE slot's bytes mean nothing (a new segment or a load overwrites them, frame padding included),
 * and a never-used page is zero already.
 *
 * Trade-off: the arena's memory is committed (RSS) soon after open rather than as the writer first
 * reaches it. `tier0.prefault: 'off'` keeps the old behaviour (docs/decisions.md).
 */
import {
  G_PREFAULT_DONE,
  G_PREFAULT_NEXT,
  S_PREFAULT,
  S_STATE,
  SlotState,
  slotDataOffset,
  slotWord,
} from './layout.js';

/**
 * Bytes faulted in per claim. The main thread waits for at most one chunk when it takes a slot a
 * faulter is in, and the flush worker looks for new work between chunks: 8 pages keep both waits
 * near 20-100 µs, while the claim (three atomics) stays small next to 8 faults.
 */
export const PREFAULT_CHUNK_BYTES = 32 * 1024;
/** The OS page: one write per page is enough to fault it in. */
export const OS_PAGE_BYTES = 4096;

/** What a faulter needs to know of the arena (the flush worker has no Arena object). */
export interface PrefaultGeometry {
  slotCount: number;
  segmentBytes: number;
  /** Frame-bitmap words per slot: they size the control region, hence where slot data starts. */
  frameWords: number;
}

/** Chunks of one slot (the last may be short). */
export function chunksPerSlot(segmentBytes: number): number {
  return Math.ceil(segmentBytes / PREFAULT_CHUNK_BYTES);
}

/** Chunks of the whole arena: the cursor's end. */
export function prefaultChunks(g: PrefaultGeometry): number {
  return g.slotCount * chunksPerSlot(g.segmentBytes);
}

/** Slot and byte range (within the slot's data) of chunk `chunk`: slot by slot, in slot order. */
export function chunkRange(segmentBytes: number, chunk: number): { slot: number; start: number; end: number } {
  const per = chunksPerSlot(segmentBytes);
  const slot = Math.floor(chunk / per);
  const start = (chunk - slot * per) * PREFAULT_CHUNK_BYTES;
  return { slot, start, end: Math.min(start + PREFAULT_CHUNK_BYTES, segmentBytes) };
}

/**
 * Claims the next chunk and faults it in if its slot is FREE. Returns false once every chunk has
 * been claimed (by this thread or another): the caller is done for good.
 *
 * Race note: claim (Atomics.add on S_PREFAULT) → load S_STATE → plain writes only if FREE →
 * release (Atomics.sub) → notify, against the main thread's store S_STATE → load S_PREFAULT in
 * {@link waitForPrefault}. Nothing between the claim and its release can throw or block.
 */
export function prefaultNext(ctrl: Int32Array, u8: Uint8Array, g: PrefaultGeometry): boolean {
  const total = prefaultChunks(g);
  // Load first: once done, repeated calls do not keep bumping the cursor.
  if (Atomics.load(ctrl, G_PREFAULT_NEXT) >= total) return false;
  const chunk = Atomics.add(ctrl, G_PREFAULT_NEXT, 1);
  if (chunk >= total) return false;
  const { slot, start, end } = chunkRange(g.segmentBytes, chunk);
  const claim = slotWord(slot, S_PREFAULT);
  Atomics.add(ctrl, claim, 1);
  if (Atomics.load(ctrl, slotWord(slot, S_STATE)) === SlotState.FREE) {
    const base = slotDataOffset(g.slotCount, g.segmentBytes, g.frameWords, slot);
    for (let off = base + start; off < base + end; off += OS_PAGE_BYTES) u8[off] = 0;
  }
  Atomics.sub(ctrl, claim, 1);
  Atomics.notify(ctrl, claim);
  Atomics.add(ctrl, G_PREFAULT_DONE, 1);
  return true;
}

/** Bytes of slot data the faulters have passed over (faulted in, or skipped: slot in use), and the total. */
export function prefaultProgress(ctrl: Int32Array, g: PrefaultGeometry): { doneBytes: number; totalBytes: number } {
  const total = prefaultChunks(g);
  const done = Math.min(Atomics.load(ctrl, G_PREFAULT_DONE), total);
  const totalBytes = g.slotCount * g.segmentBytes;
  // Chunks are equal but for each slot's last: count whole slots exactly, the rest in chunks.
  const per = chunksPerSlot(g.segmentBytes);
  const slots = Math.floor(done / per);
  const doneBytes = slots * g.segmentBytes + Math.min((done - slots * per) * PREFAULT_CHUNK_BYTES, g.segmentBytes);
  return { doneBytes: Math.min(doneBytes, totalBytes), totalBytes };
}

/** True once every chunk has been claimed and finished. */
export function prefaultDone(ctrl: Int32Array, g: PrefaultGeometry): boolean {
  return Atomics.load(ctrl, G_PREFAULT_DONE) >= prefaultChunks(g);
}

/**
 * Main thread, right after it stored the new state of a slot it took FREE: waits until no faulter
 * is writing into the slot (at most the rest of one chunk), so no zero lands on a byte it writes.
 * Slots taken out of CLEAN need no wait: a faulter writes only into a slot it saw FREE.
 */
export function waitForPrefault(ctrl: Int32Array, slot: number): void {
  const claim = slotWord(slot, S_PREFAULT);
  for (let held = Atomics.load(ctrl, claim); held !== 0; held = Atomics.load(ctrl, claim)) {
    // A claim covers eight plain stores; the timeout only guards against a missed notify.
    Atomics.wait(ctrl, claim, held, 1);
  }
}
