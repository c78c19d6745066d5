/**
 * What the suites run against: temp roots, deterministic payloads, the bare SharedArrayBuffer copy
 * loop that is the append baseline, the WouldBlock-aware `appendSync` batch, and the check that a
 * stream really holds what was appended (reopen → recovered nextId, then read the tail back).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AofManager, WouldBlockError, type AofLog, type AofManagerOptions } from '../src/index.js';
import { RECORD_PAYLOAD_OFFSET, frameLength, framePayloadLengthAt, frameTimestampAt } from '../src/format/record.js';
import { seededRandom } from '../src/seeded-random.js';
import { BatchMeter, nowNs, verification, type Verification } from './shared.js';

/** A fresh directory under the OS temp dir; `cleanup` removes it and its default Tier 2 sibling (idempotent). */
export function tempRoot(label: string): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), `aof2-bench-${label}-`));
  return {
    root,
    cleanup: () => {
      rmSync(root, { recursive: true, force: true });
      rmSync(`${root}-tier2`, { recursive: true, force: true });
    },
  };
}

/**
 * `size` deterministic pseudo-random bytes from the project's one seeded generator, so read-back
 * can compare bytes. Built once per suite, never per append.
 */
export function patternPayload(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  const rand = seededRandom(seed);
  for (let i = 0; i < size; i++) out[i] = (rand() * 256) >>> 0;
  return out;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Tier 1 options of every manager these suites open (the verifying reopen included): compression
 * off. The suites measure the append path alone, and compression would load the zstd addon in a
 * worker thread and take one of the two cores from the path under test. Tier 1 has its own suite,
 * native-codec-bench/.
 */
export const TIER1_OFF = { enabled: false } as const;

// -------------------------------------------------------------------------------------------------
// Baseline: the least an append into shared memory can cost

/** Control words before the data: word 0 is the published length. */
const RING_CONTROL_BYTES = 64;

/**
 * The baseline of the append suites: a framed copy loop into a SharedArrayBuffer ring. Per record
 * it writes a u32 length and an f64 timestamp (Date.now(), as the engine does), `Uint8Array.set`s
 * the payload at an 8-aligned offset and publishes the new length with `Atomics.store` — the
 * engine's hot path minus everything that makes it a log (ids, segments, the flusher's doorbell,
 * rollover, admission). When the ring is full it wraps to 0.
 */
export class SabCopyLoop {
  readonly capacity: number;
  readonly #ctrl: Int32Array;
  readonly #u8: Uint8Array;
  readonly #u32: Uint32Array;
  readonly #f64: Float64Array;
  #off = 0;
  /** Frames since the last wrap (what verify() should find). */
  sinceWrap = 0;
  wraps = 0;
  total = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    const sab = new SharedArrayBuffer(RING_CONTROL_BYTES + capacity);
    this.#ctrl = new Int32Array(sab, 0, RING_CONTROL_BYTES / 4);
    this.#u8 = new Uint8Array(sab);
    this.#u32 = new Uint32Array(sab);
    this.#f64 = new Float64Array(sab);
  }

  append(payload: Uint8Array): number {
    const length = payload.length;
    const frame = frameLength(length);
    if (this.#off + frame > this.capacity) {
      this.#off = 0;
      this.sinceWrap = 0;
      this.wraps++;
    }
    // Deliberately not encodeFrameInto (src/format/record.ts): this is the ceiling, the same frame
    // shape without the padding zeroing the engine must do for a reused slot, and it stays as it was
    // measured in docs/performance.md so the recorded ratios keep their meaning.
    const at = RING_CONTROL_BYTES + this.#off;
    this.#u32[at >>> 2] = length;
    this.#u32[(at >>> 2) + 1] = 0;
    this.#f64[(at >>> 3) + 1] = Date.now();
    this.#u8.set(payload, at + RECORD_PAYLOAD_OFFSET);
    this.#off += frame;
    Atomics.store(this.#ctrl, 0, this.#off);
    this.sinceWrap++;
    return this.total++;
  }

  /** Walks the frames published since the last wrap; counts those whose length and bytes match. */
  verify(payload: Uint8Array): Verification {
    const end = Atomics.load(this.#ctrl, 0);
    let off = 0;
    let found = 0;
    while (off < end) {
      const at = RING_CONTROL_BYTES + off;
      const length = framePayloadLengthAt(this.#u32, at);
      const ts = frameTimestampAt(this.#f64, at);
      const bytes = this.#u8.subarray(at + RECORD_PAYLOAD_OFFSET, at + RECORD_PAYLOAD_OFFSET + length);
      if (length === payload.length && ts > 0 && sameBytes(bytes, payload)) found++;
      off += frameLength(length);
    }
    return verification(
      'baseline',
      this.sinceWrap,
      found,
      `walked the frames published in the ring since its last wrap (${this.total} appends, ${this.wraps} wraps)`,
    );
  }
}

/** A batch of `size` baseline appends, timed as one. */
export function ringBatch(ring: SabCopyLoop, payload: Uint8Array, size: number, meter: BatchMeter): number {
  const t0 = nowNs();
  for (let i = 0; i < size; i++) ring.append(payload);
  const ns = nowNs() - t0;
  meter.batch(ns, size);
  return ns;
}

// -------------------------------------------------------------------------------------------------
// Engine

/**
 * `appendSync` up to `n` times in a tight loop; returns how many succeeded before a WouldBlock.
 * The try/catch sits outside the loop: the loop body is exactly the caller's hot path.
 */
export function appendSyncLoop(log: AofLog, payload: Uint8Array, n: number): number {
  let i = 0;
  try {
    for (; i < n; i++) log.appendSync(payload);
  } catch (err) {
    if (!(err instanceof WouldBlockError)) throw err;
  }
  return i;
}

/**
 * A batch of `size` `appendSync` calls. Each uninterrupted run of calls is timed as one batch; a
 * WouldBlock (arena full, the flusher behind) is waited out by `await log.append()` outside the
 * hot-path time and counted as a stall.
 */
export async function appendSyncBatch(log: AofLog, payload: Uint8Array, size: number, meter: BatchMeter): Promise<number> {
  let done = 0;
  let hot = 0;
  while (done < size) {
    const t0 = nowNs();
    const k = appendSyncLoop(log, payload, size - done);
    const ns = nowNs() - t0;
    meter.batch(ns, k);
    hot += ns;
    done += k;
    if (done < size) {
      const s0 = nowNs();
      await log.append(payload);
      meter.stall(nowNs() - s0);
      done++;
    }
  }
  return hot;
}

/**
 * Appends (unrecorded) until `bytes` of frames went through the stream, so every page of an arena
 * of that size has been touched once. The OS commits SharedArrayBuffer pages on first write, and a
 * first-touch page fault costs more than the copy itself (measured here: ~0.7-1.1 µs per 1 KiB
 * frame on fresh memory vs ~0.1 µs warm), so without this a short run measures the kernel zeroing
 * pages instead of the append path. The arena takes FREE slots before reusing CLEAN ones, so one
 * arena's worth of bytes plus a segment touches every slot.
 */
export async function touchArena(log: AofLog, payload: Uint8Array, bytes: number, meter: BatchMeter): Promise<void> {
  const frame = frameLength(payload.length);
  const records = Math.ceil(bytes / frame);
  const wasRecording = meter.recording;
  meter.recording = false;
  for (let done = 0; done < records; done += 10_000) await appendSyncBatch(log, payload, Math.min(10_000, records - done), meter);
  meter.recording = wasRecording;
}

/** Touches every page of the ring once (the baseline's counterpart of touchArena). */
export function touchRing(ring: SabCopyLoop, payload: Uint8Array, meter: BatchMeter): void {
  const wasRecording = meter.recording;
  meter.recording = false;
  while (ring.wraps === 0) ringBatch(ring, payload, 10_000, meter);
  meter.recording = wasRecording;
}

/** How many tail records verifyStream reads back byte for byte. */
const READ_BACK = 1000;

/**
 * Checks that a closed stream holds `expected` records: reopens the root (recovery trusts sealed
 * footers and scans the tail), compares the recovered nextId, then reads the last records back
 * from disk and compares ids, lengths and bytes. The manager that wrote must be closed first.
 */
export async function verifyStream(
  options: AofManagerOptions,
  stream: string,
  expected: number,
  payload: Uint8Array,
): Promise<Verification[]> {
  const manager = await AofManager.open(options);
  try {
    const log = await manager.openStream(stream);
    const out = [verification('subject', expected, log.nextId, 'reopened the root; nextId recovered from the segment files')];
    const tail = Math.min(READ_BACK, log.nextId);
    let matched = 0;
    let id = log.nextId - tail;
    for await (const rec of log.read({ from: id })) {
      if (rec.id === id && sameBytes(rec.payload, payload)) matched++;
      id++;
    }
    out.push(verification('subject', tail, matched, `read the last ${tail} records back from disk (ids and bytes)`));
    return out;
  } finally {
    await manager.close();
  }
}
