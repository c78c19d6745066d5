/**
 * What both threads of the worker-readers suite run (native-free-bench/worker-readers.ts): the
 * record layout, the clocked scan, the follow loop, and the messages between the suite and its
 * worker (worker-readers-worker.ts). The main thread's baseline and the worker's subject call the
 * same functions on the same public API (`AofLog`, `AofReader`), so the two sides differ only in
 * the thread and in the reader engine behind that API.
 *
 * Record layout, `size` bytes:
 * ```
 * bytes 0..7   the append time, nowNs() as a float64 (follow records; 0 in scan records)
 * bytes 8..11  the record's id, u32 little-endian
 * bytes 12..   byte i = i & 0xff
 * ```
 * The per-record check is cheap on purpose (it runs inside the clocked loop on both sides): the
 * id in the id, the length, and the last byte.
 */
import type { AofLog, AofReader } from '../src/index.js';
import { LatencyHistogram, nowNs } from './shared.js';

/** Records per timed batch of a scan: one clock reading per this many `nextSync()` calls (a power of 2). */
export const SCAN_BATCH = 1024;

/** A `size`-byte record payload for `id`, stamped `stamp` (see the layout above). */
export class RecordWriter {
  readonly payload: Uint8Array;
  readonly #stamp: Float64Array;
  readonly #id: DataView;

  constructor(size: number) {
    this.payload = new Uint8Array(size);
    for (let i = 12; i < size; i++) this.payload[i] = i & 0xff;
    this.#stamp = new Float64Array(this.payload.buffer, 0, 1);
    this.#id = new DataView(this.payload.buffer);
  }

  /** Sets the id and stamp; returns the payload (the same bytes each time: append copies them). */
  set(id: number, stamp: number): Uint8Array {
    this.#stamp[0] = stamp;
    this.#id.setUint32(8, id >>> 0, true);
    return this.payload;
  }
}

/** True when `payload` is record `id`'s: its length, its id bytes and its last byte. */
export function recordOk(payload: Uint8Array, id: number, size: number): boolean {
  if (payload.length !== size) return false;
  const u32 = (payload[8]! | (payload[9]! << 8) | (payload[10]! << 16) | (payload[11]! << 24)) >>> 0;
  return u32 === id >>> 0 && payload[size - 1] === ((size - 1) & 0xff);
}

/** Reads the float64 stamp of a payload (a view into the arena: 8-aligned, but not its own buffer) without allocating. */
export class StampReader {
  readonly #f64 = new Float64Array(1);
  readonly #u8 = new Uint8Array(this.#f64.buffer);

  read(payload: Uint8Array): number {
    for (let i = 0; i < 8; i++) this.#u8[i] = payload[i]!;
    return this.#f64[0]!;
  }
}

/** One scan's figures. */
export interface ScanFigures {
  /** openReader, `nextSync()` to null, close, in ns. */
  ns: number;
  records: number;
  /** Records whose id was the next expected one and whose bytes passed {@link recordOk}. */
  good: number;
  /** Sum of the payload lengths. */
  bytes: number;
}

/**
 * One clocked scan of `log` from id 0 with `nextSync()` over views (copy: false, the default) to
 * the tail (null): per record the id against the next expected one, {@link recordOk}, and the
 * payload length summed. Every {@link SCAN_BATCH} records the batch's mean goes into `histogram`.
 * The stream must be resident: a WouldBlock (a load started) is thrown, not waited out, since this
 * measures reading the arena.
 */
export function timedScan(log: AofLog, size: number, histogram: LatencyHistogram): ScanFigures {
  const t0 = nowNs();
  const reader: AofReader = log.openReader({ from: 0 });
  let id = 0;
  let good = 0;
  let bytes = 0;
  let batchAt = t0;
  try {
    for (let record = reader.nextSync(); record !== null; record = reader.nextSync()) {
      const payload = record.payload;
      bytes += payload.length;
      if (record.id === id && recordOk(payload, id, size)) good++;
      id++;
      if ((id & (SCAN_BATCH - 1)) === 0) {
        const now = nowNs();
        histogram.recordMany((now - batchAt) / SCAN_BATCH, SCAN_BATCH);
        batchAt = now;
      }
    }
  } finally {
    reader.close();
  }
  const end = nowNs();
  const rest = id & (SCAN_BATCH - 1);
  if (rest > 0) histogram.recordMany((end - batchAt) / rest, rest);
  return { ns: end - t0, records: id, good, bytes };
}

/**
 * `nowNs()` (process.hrtime: CLOCK_MONOTONIC, one clock for every thread of the process) read
 * through `performance.now()`, which costs less per call and allocates no BigInt: at 1M records/s
 * the follow loop reads the clock once per record. `performance.now()` counts from the thread's own
 * origin, so the offset is measured once per thread, from the closest of a few bracketing readings
 * (within about 50 ns).
 */
export class SharedClock {
  readonly #offsetNs: number;

  constructor() {
    let gap = Infinity;
    let offset = 0;
    for (let i = 0; i < 16; i++) {
      const before = nowNs();
      const ms = performance.now();
      const after = nowNs();
      if (after - before < gap) {
        gap = after - before;
        offset = (before + after) / 2 - ms * 1e6;
      }
    }
    this.#offsetNs = offset;
  }

  nowNs(): number {
    return performance.now() * 1e6 + this.#offsetNs;
  }
}

/** One follow window's figures. */
export interface FollowFigures {
  /** Records read (stops at `count`, or earlier when stopped). */
  records: number;
  good: number;
  /** nowNs() when the last record was read (0: none). */
  lastReadAt: number;
  /** True when stopped (its deadline passed) before `count` records. */
  stopped: boolean;
}

/**
 * `log.follow({ from, copy: false })` until `count` records were read: per record, now less its
 * stamp (ns) and the same checks as the scan. `ready` is called once the follow waits for its
 * first record (everything allocated, the first step pending): the writer starts then. The
 * latencies go into a preallocated array inside the loop and into `histogram` after it (one value
 * per record): an HDR record costs ~150 ns, a sixth of the per-record budget at 1M records/s, which
 * the measurement should not take from the follower. `signal` stops it early (the follow rejects
 * with an AbortError; the figures say how far it got).
 */
export async function timedFollow(
  log: AofLog,
  from: number,
  count: number,
  size: number,
  histogram: LatencyHistogram,
  signal: AbortSignal,
  ready: () => void,
): Promise<FollowFigures> {
  const clock = new SharedClock();
  const stamps = new StampReader();
  const lags = new Float64Array(count);
  const end = from + count;
  let next = from;
  let good = 0;
  let lastReadAt = 0;
  let stopped = false;
  const follow = log.follow({ from, copy: false, signal });
  try {
    let step = follow.next();
    ready();
    for (let result = await step; !result.done; result = await step) {
      const now = clock.nowNs();
      const record = result.value;
      const payload = record.payload;
      lags[next - from] = now - stamps.read(payload);
      if (record.id === next && recordOk(payload, next, size)) good++;
      lastReadAt = now;
      if (++next === end) break;
      step = follow.next(); // after the checks: the payload is a view valid until the next step
    }
  } catch (err) {
    if (!signal.aborted) throw err;
    stopped = true;
  } finally {
    await follow.return?.();
  }
  for (let i = 0; i < next - from; i++) histogram.record(lags[i]!);
  return { records: next - from, good, lastReadAt, stopped };
}

/** What the suite asks its worker. */
export type ToWorker =
  | { kind: 'scan'; stream: string; size: number }
  | { kind: 'follow'; stream: string; from: number; count: number; size: number }
  | { kind: 'stop' }
  | { kind: 'close' };

/** What the worker answers (`error`: a request failed; `histogram`: LatencyHistogram.encode()). */
export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'scanned'; figures: ScanFigures; histogram: string }
  | { kind: 'following' }
  | { kind: 'followed'; figures: FollowFigures; histogram: string }
  | { kind: 'closed' }
  | { kind: 'error'; error: string };
