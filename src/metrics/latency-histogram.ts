/**
 * A fixed-bucket latency histogram kept in preallocated plain fields (main thread only), rendered
 * for prom-client at scrape time by ScrapeHistogram (scrape-histogram.ts). Recording is a short
 * linear scan over ~15 bounds and two additions: no allocation, no prom-client call. Callers
 * sample (admission latency) or record rare events (hydrations), so the scan never sits on the
 * append hot path.
 */

/** A histogram's state as plain numbers (`manager.stats()` and the exporter share it). */
export interface HistogramSnapshot {
  /** Upper bounds in seconds, ascending (the +Inf bucket is implied). */
  bounds: readonly number[];
  /** Observations per bucket, NOT cumulative; length bounds.length + 1 (the last is +Inf). */
  counts: number[];
  count: number;
  /** Sum of all observations, in seconds. */
  sum: number;
}

/** Append admission: a few hundred ns when the record fits, ms when a rollover or a wait is involved. */
export const ADMISSION_BUCKET_BOUNDS = [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 0.025, 0.1, 0.5, 2.5] as const;
/** Hydration of one Tier 1 frame: local file ~ms, Tier 2 range GET ~tens of ms, retries ~s. */
export const HYDRATION_BUCKET_BOUNDS = [1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10] as const;

export class LatencyHistogram {
  readonly bounds: readonly number[];
  readonly #counts: Float64Array;
  #count = 0;
  #sum = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.#counts = new Float64Array(bounds.length + 1);
  }

  /** Records one observation of `seconds`. */
  record(seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.#counts[i]!++;
    this.#count++;
    this.#sum += seconds;
  }

  snapshot(): HistogramSnapshot {
    return { bounds: this.bounds, counts: Array.from(this.#counts), count: this.#count, sum: this.#sum };
  }
}
