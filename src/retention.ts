/**
 * Retention: which of a stream's oldest segments have expired, by age and by size.
 *
 * A segment expires when its newest record is older than `maxAgeMs`, or while the stream's
 * records (raw bytes of record frames, the same measure whichever tier holds them) exceed
 * `maxBytes`. Only a prefix of the stream ever expires, so ids stay dense: the first readable id
 * moves up to the end of the last expired segment and reading below it is AOF_ERR_OUT_OF_RANGE.
 *
 * Only settled segments expire: sealed, durable, and with no tier work left in flight (uploaded
 * when Tier 2 is on; compressed when only Tier 1 is). Expiring a segment a worker is still
 * compressing or uploading would leave an object behind that nothing records. The first unsettled
 * segment stops the scan; retention simply catches up on a later pass.
 *
 * The decision is pure (this file); the manager applies it: an EXPIRED record is made durable in
 * the manifest first, then local files and Tier 2 objects are removed, idempotently, so a crash in
 * between is finished by the next open (recovery removes files below the floor, the Tier 2 sweep
 * removes objects below it). Nothing about retention lives only in memory.
 */
import type { Segment } from './tier0/segment.js';

/**
 * When sealed segments expire (`retention` in {@link AofManagerOptions}, or per stream in
 * `openStream(name, { retention })`): by age, by size, or both. Without either, nothing expires.
 */
export interface RetentionOptions {
  /** Expire segments whose newest record is older than this many milliseconds. */
  maxAgeMs?: number;
  /** Expire the oldest segments while the stream holds more than this many bytes of records. */
  maxBytes?: number;
}

/**
 * Number of leading segments of `segments` (oldest first; the last may be the active one) that
 * have expired under `policy` at time `now` (ms since epoch). `liveBytes` is the stream's total
 * record bytes, the active segment's included.
 */
export function expiredCount(
  segments: readonly Segment[],
  policy: RetentionOptions,
  now: number,
  liveBytes: number,
  settled: (seg: Segment) => boolean,
): number {
  const maxAge = policy.maxAgeMs ?? Infinity;
  const maxBytes = policy.maxBytes ?? Infinity;
  if (maxAge === Infinity && maxBytes === Infinity) return 0;
  let bytes = liveBytes;
  let n = 0;
  for (const seg of segments) {
    if (!seg.sealed || !settled(seg)) break;
    const tooOld = seg.maxTimestamp > 0 && seg.maxTimestamp < now - maxAge;
    if (!tooOld && bytes <= maxBytes) break;
    bytes -= seg.dataBytes;
    n++;
  }
  return n;
}
