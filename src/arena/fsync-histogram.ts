/**
 * The fsync latency histogram in shared memory (layout: G_FSYNC_HIST in layout.ts). The flush
 * worker records every data fsync it makes (fdatasync of frames, and of a footer when sealing);
 * the main thread reads the counters at scrape time. BigInt64 counters never wrap, so nobody has
 * to scrape on a schedule to keep the figures exact.
 */
import type { HistogramSnapshot } from '../metrics/latency-histogram.js';
import { FSYNC_BUCKET_BOUNDS, FSYNC_SUM_INDEX, G_FSYNC_HIST } from './layout.js';

/** The histogram's BigInt64 view over the arena's SharedArrayBuffer (worker and main thread alike). */
export function fsyncHistogramView(sab: SharedArrayBuffer): BigInt64Array {
  return new BigInt64Array(sab, G_FSYNC_HIST * 4, FSYNC_SUM_INDEX + 1);
}

/** Flush worker: records one fsync that took `ns` nanoseconds. */
export function recordFsync(view: BigInt64Array, ns: number): void {
  const seconds = ns / 1e9;
  let i = 0;
  while (i < FSYNC_BUCKET_BOUNDS.length && seconds > FSYNC_BUCKET_BOUNDS[i]!) i++;
  Atomics.add(view, i, 1n);
  Atomics.add(view, FSYNC_SUM_INDEX, BigInt(Math.round(ns)));
}

/** Main thread: the histogram as plain numbers. */
export function readFsyncHistogram(view: BigInt64Array): HistogramSnapshot {
  const counts: number[] = [];
  let count = 0;
  for (let i = 0; i <= FSYNC_BUCKET_BOUNDS.length; i++) {
    const n = Number(Atomics.load(view, i));
    counts.push(n);
    count += n;
  }
  return { bounds: FSYNC_BUCKET_BOUNDS, counts, count, sum: Number(Atomics.load(view, FSYNC_SUM_INDEX)) / 1e9 };
}
