/**
 * Counters the engine bumps off the hot path and prom-client reads at scrape time: WouldBlock
 * occurrences per kind and the sampled latency histograms. Owned by the manager, lent to every
 * log, reader and tier through their contexts. Per-stream appended records/bytes live in the log
 * itself (one field increment on the hot path); fsync latency lives in shared memory
 * (src/arena/fsync-histogram.ts) because the flush worker measures it.
 */
import { WouldBlockKind, type WouldBlockKindValue } from '../errors.js';
import { ADMISSION_BUCKET_BOUNDS, HYDRATION_BUCKET_BOUNDS, LatencyHistogram } from './latency-histogram.js';

/** Every WouldBlock kind, in the order of WouldBlockKind. */
export const WOULD_BLOCK_KINDS: readonly WouldBlockKindValue[] = Object.values(WouldBlockKind);

/**
 * Default admission sampling: 1 append in 256 is timed. A sample costs two performance.now()
 * reads, measured at 25 to 115 ns each on the 2-core CI machine (the higher under load); at 1 in 64
 * that was up to 3.6 ns per append against a 80 ns append of 100 B, too close to the 3 % budget.
 * At 1 in 256 it is under 1 ns, and a million appends per second still yield ~4,000 samples.
 */
export const DEFAULT_ADMISSION_SAMPLE_EVERY = 256;

export class EngineCounters {
  /** WouldBlock per kind: sync throws plus async calls that had to wait. Indexed like WOULD_BLOCK_KINDS. */
  readonly wouldBlock = new Float64Array(WOULD_BLOCK_KINDS.length);
  /** Sampled admission latency of appends (appendSync: the call; append(): call to admission). */
  readonly admission = new LatencyHistogram(ADMISSION_BUCKET_BOUNDS);
  /** Tier 1 frame hydrations: request to frame resident, retries included. */
  readonly hydration = new LatencyHistogram(HYDRATION_BUCKET_BOUNDS);
  /** One append in this many is timed; 0 turns the sampling off (the kill switch). */
  readonly sampleEvery: number;

  constructor(sampleEvery: number) {
    this.sampleEvery = sampleEvery;
  }

  /** Counts one WouldBlock of `kind` (a sync throw, or an async call that waits). */
  noteWouldBlock(kind: WouldBlockKindValue): void {
    this.wouldBlock[WOULD_BLOCK_KINDS.indexOf(kind)]!++;
  }

  /** WouldBlock counts as `{ admission: n, rollover: n, ... }`. */
  wouldBlockByKind(): Record<WouldBlockKindValue, number> {
    const out = {} as Record<WouldBlockKindValue, number>;
    WOULD_BLOCK_KINDS.forEach((kind, i) => {
      out[kind] = this.wouldBlock[i]!;
    });
    return out;
  }
}
