/**
 * The live-tail workload both sides of the Redis Streams peer run, so that only the store differs:
 * 100 B records written at a fixed rate, each carrying the time it was appended, and a consumer
 * that checks each record as it arrives and records how long it took.
 *
 * - Records: {@link RECORD_BYTES} bytes, a fresh Buffer each (as a service building a message would
 *   have): bytes 0-7 the append time (`process.hrtime` in ns, float64 LE, taken just before the
 *   append call), bytes 8-15 the record's sequence number (float64 LE, from 0 per side), the rest
 *   a fixed pattern.
 * - Pacing: native-free-bench/pacing.ts `pacedWrites`, the pacer native-free-bench/live-tail.ts
 *   uses too, so the figures line up: `setImmediate` turns, each writing the records due since the
 *   window began at the window's rate ({@link TARGET_RATE}, 100,000/s: 1-3 per turn), a few dozen
 *   at most when a turn was late. A side whose writes cost more than the pace allows falls behind:
 *   its window lasts longer than asked, its rate (records / wall time) shows by how much, and its
 *   latency is mostly queueing.
 * - Latency: the consumer's `process.hrtime` when its loop body sees the record, minus the time in
 *   the record. In the writer's process (aof2 follow, Redis) that is one clock; the read-only
 *   consumer runs in a child process (tail-follower.ts), and `process.hrtime` reads
 *   CLOCK_MONOTONIC on Linux, one clock for every process of the machine (docs/decisions.md, "The
 *   cross-process tail latency is timed on CLOCK_MONOTONIC"), which each run checks
 *   (follower-process.ts). A consumer on the writer's event loop sees a turn's records after the
 *   turn's writes return.
 */
import { patternPayload, sameBytes } from '../native-free-bench/fixtures.js';
import { LatencyHistogram, measured, nowNs, verification, type Measurement, type Verification } from '../native-free-bench/shared.js';

export const RECORD_BYTES = 100;
/** Records per second of issue 15's live-tail target. */
export const TARGET_RATE = 100_000;
/** One payload in this many is compared byte for byte after the stamp (all are checked for order). */
const SAMPLE_EVERY = 1000;
const STAMP_BYTES = 16;

/** Scratch for moving the two float64s in and out of a payload without allocating. */
const scratch = new Float64Array(2);
const scratchBytes = new Uint8Array(scratch.buffer);

/** What a consumer checks its records against: how many were made, and what their bytes are. */
export interface ExpectedRecords {
  /** Records made so far (a consumer has caught up once it has seen as many). */
  readonly made: number;
  /** True when `payload` is a record of this side apart from its stamp. */
  matches(payload: Uint8Array): boolean;
}

/** Makes the stamped records of one side, numbered from 0. */
export class StampedRecords implements ExpectedRecords {
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
  readonly #records: ExpectedRecords;
  /** Latencies go here while a timed window runs; null during warm-up. */
  tally: TailTally | null = null;
  delivered = 0;
  /** Records whose sequence number was the one expected next. */
  inOrder = 0;
  sampled = 0;
  matched = 0;
  #nextSeq = 0;
  #waiting: { target: number; resolve: () => void } | null = null;

  constructor(records: ExpectedRecords) {
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

/** One store under the workload: a writer and a consumer of its own, fed window by window. */
export interface TailSide {
  readonly name: string;
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
