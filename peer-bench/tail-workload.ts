/**
 * The live-tail workload both sides of the Redis Streams peer run, so that only the store differs:
 * 100 B records written at a fixed rate, each carrying the time it was appended, and a consumer
 * that checks each record as it arrives and records how long it took.
 *
 * - Records: {@link RECORD_BYTES} bytes, a fresh Buffer each (as a service building a message would
 *   have): bytes 0-7 the append time (`process.hrtime` in ns, float64 LE, taken just before the
 *   append call), bytes 8-15 the record's sequence number (float64 LE, from 0 per side), the rest
 *   a fixed pattern.
 * - Pacing: native-free-bench/live-tail.ts's scheme (aof2 follow against a polling loop), so the
 *   figures line up: `setImmediate` turns, each writing the records due since the window began at
 *   the window's rate ({@link TARGET_RATE}, 100,000/s: 1-3 per turn), at most
 *   {@link MAX_PER_TURN} when a turn was late, so the writer catches up in small batches rather than
 *   one burst, and the consumer's I/O gets its turn in between. A write that returns a promise
 *   (aof2's WouldBlock path) is awaited before the next turn. A side whose writes cost more than
 *   the pace allows falls behind: its window lasts longer than asked, its rate (records / wall
 *   time) shows by how much, and its latency is mostly queueing.
 * - Latency: the consumer's `process.hrtime` when its loop body sees the record, minus the time in
 *   the record. Same process, same clock, so no clock skew; the consumer runs on the writer's
 *   event loop (both sides), so a turn's records are seen after the turn's writes return.
 */
import { patternPayload, sameBytes } from '../native-free-bench/fixtures.js';
import { LatencyHistogram, measured, nowNs, verification, type Measurement, type Verification } from '../native-free-bench/shared.js';

export const RECORD_BYTES = 100;
/** Records per second of issue 15's live-tail target. */
export const TARGET_RATE = 100_000;
/** Most records one turn writes when it is late (live-tail.ts's limit). */
const MAX_PER_TURN = 32;
/** One payload in this many is compared byte for byte after the stamp (all are checked for order). */
const SAMPLE_EVERY = 1000;
const STAMP_BYTES = 16;

/** Scratch for moving the two float64s in and out of a payload without allocating. */
const scratch = new Float64Array(2);
const scratchBytes = new Uint8Array(scratch.buffer);

/** Makes the stamped records of one side, numbered from 0. */
export class StampedRecords {
  readonly #pattern = patternPayload(RECORD_BYTES, 15);
  #next = 0;

  /** Records made so far. */
  get made(): number {
    return this.#next;
  }

  /** The next record, stamped now. */
  next(): Buffer {
    const out = Buffer.allocUnsafe(RECORD_BYTES);
    out.set(this.#pattern);
    scratch[1] = this.#next++;
    scratch[0] = nowNs();
    for (let i = 0; i < STAMP_BYTES; i++) out[i] = scratchBytes[i]!;
    return out;
  }

  /** True when `payload` is a record of this side apart from its stamp. */
  matches(payload: Uint8Array): boolean {
    return sameBytes(payload.subarray(STAMP_BYTES), this.#pattern.subarray(STAMP_BYTES));
  }
}

/** The timed windows of one side: records seen, their wall time, their latencies. */
export class TailTally {
  readonly histogram = new LatencyHistogram('record, append to consumer');
  records = 0;
  ns = 0;
  windows = 0;

  measurement(name: string, extra: Record<string, number> = {}): Measurement {
    return measured(name, this.records, this.ns, this.histogram.count, this.histogram, { windows: this.windows, ...extra });
  }
}

/**
 * What one side's consumer saw, over every window (warm-up included): each record once, in order,
 * the sampled ones intact. Also how a window waits for its consumer to catch up.
 */
export class Delivery {
  readonly #records: StampedRecords;
  /** Latencies go here while a timed window runs; null during warm-up. */
  tally: TailTally | null = null;
  delivered = 0;
  /** Records whose sequence number was the one expected next. */
  inOrder = 0;
  sampled = 0;
  matched = 0;
  #nextSeq = 0;
  #waiting: { target: number; resolve: () => void } | null = null;

  constructor(records: StampedRecords) {
    this.#records = records;
  }

  /** The consumer saw `payload` (call first thing, before anything else is done with it). */
  seen(payload: Uint8Array): void {
    const now = nowNs();
    for (let i = 0; i < STAMP_BYTES; i++) scratchBytes[i] = payload[i]!;
    this.tally?.histogram.record(now - scratch[0]!);
    const seq = scratch[1]!;
    if (seq === this.#nextSeq) this.inOrder++;
    this.#nextSeq = seq + 1;
    if (seq % SAMPLE_EVERY === 0) {
      this.sampled++;
      if (this.#records.matches(payload)) this.matched++;
    }
    this.delivered++;
    if (this.#waiting !== null && this.delivered >= this.#waiting.target) {
      this.#waiting.resolve();
      this.#waiting = null;
    }
  }

  /**
   * Resolves once the consumer has seen every record made so far; rejects after `timeoutMs`, or
   * when `consumer` (the consumer's loop) ends or fails first.
   */
  async caughtUp(consumer: Promise<void>, timeoutMs: number): Promise<void> {
    const target = this.#records.made;
    if (this.delivered >= target) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => {
          this.#waiting = { target, resolve };
        }),
        consumer.then(() => {
          throw new Error(`the consumer stopped after ${this.delivered} of ${target} records`);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the consumer saw ${this.delivered} of ${target} records within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      this.#waiting = null;
    }
  }

  /** The checks on what the consumer saw, as `what` (subject or baseline) of a comparison. */
  verifications(what: 'subject' | 'baseline', via: string): Verification[] {
    const made = this.#records.made;
    return [
      verification(what, made, this.delivered, `${via} delivered as many records as were appended`),
      verification(what, this.delivered, this.inOrder, 'each one the next in sequence (no gap, repeat or reordering)'),
      verification(what, this.sampled, this.matched, `compared every ${SAMPLE_EVERY.toLocaleString('en-US')}th payload byte for byte`),
    ];
  }
}

/**
 * Runs `write(n)` on `setImmediate` turns until `ms` worth of records at `rate`/s are written, `n`
 * being the records owed since the start (at most {@link MAX_PER_TURN}); resolves with the
 * window's wall time in ns, which exceeds `ms` when the writes cannot keep the pace.
 */
export function pacedWrites(ms: number, rate: number, write: (n: number) => void | Promise<void>): Promise<number> {
  return new Promise((resolve, reject) => {
    const total = Math.round((rate * ms) / 1000);
    const t0 = nowNs();
    let done = 0;
    const next = (n: number): void => {
      done += n;
      if (done >= total) resolve(nowNs() - t0);
      else setImmediate(turn);
    };
    const turn = (): void => {
      const n = Math.max(0, Math.min(MAX_PER_TURN, Math.min(total, Math.floor(((nowNs() - t0) * rate) / 1e9)) - done));
      let written: void | Promise<void>;
      try {
        written = n > 0 ? write(n) : undefined;
      } catch (err) {
        reject(err as Error);
        return;
      }
      if (written === undefined) next(n);
      else written.then(() => next(n), reject);
    };
    setImmediate(turn);
  });
}

/** One store under the workload: a writer and a consumer of its own, fed window by window. */
export interface TailSide {
  readonly name: string;
  readonly delivery: Delivery;
  /**
   * One window of `ms` paced at `rate` records/s: starts the consumer, writes, waits until the
   * consumer has seen every record, stops the consumer. Adds to `tally` (latencies, records, wall
   * time) when given; null is a warm-up window.
   */
  window(ms: number, rate: number, tally: TailTally | null): Promise<void>;
  /** Checks of what was delivered and stored over every window (warm-up included). */
  verifications(what: 'subject' | 'baseline'): Verification[];
  close(): Promise<void>;
}

/** How long a window waits for its consumer to see the last record before failing the run. */
export const CATCH_UP_TIMEOUT_MS = 60_000;

/** Adds a finished window to `tally`: `records` seen over `ns` of wall time. */
export function countWindow(tally: TailTally | null, records: number, ns: number): void {
  if (tally === null) return;
  tally.records += records;
  tally.ns += ns;
  tally.windows++;
}
