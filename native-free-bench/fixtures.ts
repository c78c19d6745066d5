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
import type { JsonEvents } from './events.js';
import { BatchMeter, nowNs, verification, type TiersSetting, type Verification } from './shared.js';

/** A fresh directory under the OS temp dir; `cleanup` removes it (idempotent). */
export function tempRoot(label: string): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), `aof2-bench-${label}-`));
  return {
    root,
    cleanup: () => {
      rmSync(root, { recursive: true, force: true });
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

/**
 * One engine configuration a suite can run its case under. native-free-bench runs every suite with
 * {@link TIERS_OFF} only (no codec may load there); native-codec-bench runs the same suites with
 * both, so each case reports its figure twice in one run and the report gives the cost of the
 * tiers (docs/decisions.md, "The defaults twins run in native-codec-bench").
 */
export interface TierVariant {
  setting: TiersSetting;
  /** Appended to the case name when a suite runs more than one variant. */
  label: string;
  /** Spread into the manager options (and those of the verifying reopen). */
  options: Pick<AofManagerOptions, 'tier1' | 'tier2'>;
}

/** Tier 1 off (and with it Tier 2): the configuration every native-free-bench figure is measured at. */
export const TIERS_OFF: TierVariant = { setting: 'off', label: 'tiers off', options: { tier1: TIER1_OFF } };

/**
 * What a user gets without tier options: zstd Tier 1 and no Tier 2 (sealed segments compressed
 * in place; a close leaves each stream's tail open). Loads the zstd addon: native-codec-bench only.
 */
export const DEFAULTS: TierVariant = { setting: 'defaults', label: 'defaults', options: {} };

/** The case name for `variant`: unchanged when the suite runs one variant, `<label>, <variant>` otherwise. */
export function variantCase(label: string, variant: TierVariant, variants: readonly TierVariant[]): string {
  return variants.length > 1 ? `${label}, ${variant.label}` : label;
}

/** Polls `done` every `everyMs` until it returns true. @throws Error after `timeoutMs` */
export async function waitFor(done: () => boolean, what: string, timeoutMs: number, everyMs = 2): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Longest a quiesce may take: compressing and uploading a full 256 MiB arena takes seconds, not minutes. */
const QUIESCE_TIMEOUT_MS = 5 * 60_000;

/**
 * Untimed, between rounds: every log flushed and the manager's background queues (flush,
 * compression, upload) empty, so the next round's side, whichever it is, does not share the CPU
 * with work another side left behind. What a side's own background work costs during its own
 * round stays in its figure. Reads only the public `stats()`.
 */
export async function quiesce(manager: AofManager, logs: readonly AofLog[]): Promise<void> {
  await Promise.all(logs.map((log) => log.flush()));
  await waitFor(
    () => {
      const q = manager.stats().queues;
      return q.flush === 0 && q.compress === 0 && q.upload === 0;
    },
    'the flush, compression and upload queues to drain',
    QUIESCE_TIMEOUT_MS,
  );
}

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

/** Control words per region of {@link RegionCopyLoop}: one 64-byte line, as the engine's slot words. */
const REGION_WORDS = 16;

/**
 * The ceiling of the many-streams case (issue #12): {@link SabCopyLoop}'s framed copy, round-robin
 * over `regions` regions of one SharedArrayBuffer laid out as the engine's write windows are: a
 * control region with one 64-byte line per region (the engine's slot words), word 0 the region's
 * published length, then the data, `capacity / regions` bytes per region (8-aligned), so the
 * footprint is the engine's arena whatever the number of streams. An append reads the region's
 * length, writes the frame (length, CRC word, timestamp, payload, as SabCopyLoop), publishes the
 * new length with `Atomics.store`, and wraps to the region's start when it is full. No ids, no
 * objects per stream, no flusher, no rollover: what is left is the cost of touching another
 * stream's cache lines and pages on every call, which no engine design removes. With one region it
 * is SabCopyLoop over the same bytes: the ratio between the two is the memory hierarchy's share of
 * the many-streams gap.
 */
export class RegionCopyLoop {
  readonly regions: number;
  readonly regionBytes: number;
  readonly #ctrl: Int32Array;
  readonly #u8: Uint8Array;
  readonly #u32: Uint32Array;
  readonly #f64: Float64Array;
  readonly #data: number;
  /** Frames since each region's last wrap (what verify() should find); off the hot lines, read only by verify(). */
  readonly #sinceWrap: Int32Array;
  wraps = 0;
  total = 0;

  constructor(regions: number, capacity: number) {
    this.regions = regions;
    this.regionBytes = Math.floor(capacity / regions / 8) * 8;
    // Data starts page-aligned, as the arena's pages do.
    this.#data = Math.ceil((regions * REGION_WORDS * 4) / 4096) * 4096;
    const sab = new SharedArrayBuffer(this.#data + regions * this.regionBytes);
    this.#ctrl = new Int32Array(sab, 0, regions * REGION_WORDS);
    this.#u8 = new Uint8Array(sab);
    this.#u32 = new Uint32Array(sab);
    this.#f64 = new Float64Array(sab);
    this.#sinceWrap = new Int32Array(regions);
  }

  /** Appends one frame to `region`; returns the number of appends so far. */
  append(region: number, payload: Uint8Array): number {
    const length = payload.length;
    const frame = frameLength(length);
    const word = region * REGION_WORDS;
    let off = this.#ctrl[word]!;
    if (off + frame > this.regionBytes) {
      off = 0;
      this.#sinceWrap[region] = 0;
      this.wraps++;
    }
    const at = this.#data + region * this.regionBytes + off;
    this.#u32[at >>> 2] = length;
    this.#u32[(at >>> 2) + 1] = 0;
    this.#f64[(at >>> 3) + 1] = Date.now();
    this.#u8.set(payload, at + RECORD_PAYLOAD_OFFSET);
    Atomics.store(this.#ctrl, word, off + frame);
    this.#sinceWrap[region]!++;
    return this.total++;
  }

  /** Walks every region's frames since its last wrap; counts those whose length and bytes match. */
  verify(payload: Uint8Array): Verification {
    let expected = 0;
    let found = 0;
    for (let region = 0; region < this.regions; region++) {
      expected += this.#sinceWrap[region]!;
      const end = Atomics.load(this.#ctrl, region * REGION_WORDS);
      const start = this.#data + region * this.regionBytes;
      for (let off = 0; off < end; ) {
        const at = start + off;
        const length = framePayloadLengthAt(this.#u32, at);
        const bytes = this.#u8.subarray(at + RECORD_PAYLOAD_OFFSET, at + RECORD_PAYLOAD_OFFSET + length);
        if (length === payload.length && frameTimestampAt(this.#f64, at) > 0 && sameBytes(bytes, payload)) found++;
        off += frameLength(length);
      }
    }
    return verification(
      'baseline',
      expected,
      found,
      `walked the frames published in each of the ${this.regions} regions since its last wrap (${this.total} appends, ${this.wraps} wraps)`,
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

/**
 * WouldBlock counts by kind (from `manager.stats().wouldBlock`) as text: `admission 3, rollover 12`,
 * or `none`. Iterates whatever kinds the engine reports, so a kind added later shows up unasked.
 */
export function wouldBlockText(counts: Readonly<Record<string, number>>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind} ${n}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** The same counts as `extra` fields of a Measurement: `wouldBlock.<kind>`. */
export function wouldBlockExtra(counts: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([kind, n]) => [`wouldBlock.${kind}`, n]));
}

/** `stats().wouldBlock` minus an earlier snapshot of it: the WouldBlocks of one phase. */
export function wouldBlockSince(now: Readonly<Record<string, number>>, before: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(now).map(([kind, n]) => [kind, n - (before[kind] ?? 0)]));
}

/**
 * Checks a closed stream of JsonEvents: reopens the root, compares the recovered nextId, then reads
 * `sample` seeded random records (a point read each: it may hydrate from Tier 1 or Tier 2) and the
 * last `sample` records back, ids and bytes.
 */
export async function verifyEvents(options: AofManagerOptions, stream: string, expected: number, events: JsonEvents, sample = 200): Promise<Verification[]> {
  const manager = await AofManager.open(options);
  try {
    const log = await manager.openStream(stream);
    const out = [verification('subject', expected, log.nextId, 'reopened the root; nextId recovered')];
    const n = Math.min(sample, log.nextId);
    const rand = seededRandom(expected);
    let matched = 0;
    for (let i = 0; i < n; i++) {
      const id = Math.floor(rand() * log.nextId);
      const reader = log.openReader({ from: id });
      try {
        const rec = await reader.next();
        if (rec !== null && rec.id === id && events.matches(id, rec.payload)) matched++;
      } finally {
        reader.close();
      }
    }
    let id = log.nextId - n;
    for await (const rec of log.read({ from: id })) {
      if (rec.id === id && events.matches(id, rec.payload)) matched++;
      id++;
    }
    out.push(verification('subject', 2 * n, matched, `read ${n} random records and the last ${n} back (ids and bytes)`));
    return out;
  } finally {
    await manager.close();
  }
}
