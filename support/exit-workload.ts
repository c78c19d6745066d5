/**
 * The workload of support/exit-child.ts, shared with the parent that checks it
 * (test/integration/exit-without-close.test.ts).
 */
import { payloadFor } from './tmp.js';

/** The streams the exit child appends to, interleaved. */
export const EXIT_STREAMS = ['orders', 'audit'] as const;
/** Records per stream: about 210 KiB each, so several sealed segments and one active tail. */
export const EXIT_RECORDS = 1000;
/**
 * 64 KiB segments in a 16-slot arena: every segment of both streams fits at once, so no append
 * ever waits for a slot (the child's appendSync never throws WouldBlock), and some segments are
 * still sealing when the child ends.
 */
export const EXIT_TIER0 = { segmentBytes: 64 * 1024, arenaBytes: 16 * 64 * 1024 } as const;
/**
 * The repro: every record of a stream in one segment, appended with appendSync only.
 * Nothing else then keeps the event loop alive (no seal to record, no append() waiting to be
 * durable under 'always'), so without an exit drain the process ends before the flush worker
 * has written anything.
 */
export const EXIT_TIER0_ONE_SEGMENT = { segmentBytes: 1024 * 1024, arenaBytes: 4 * 1024 * 1024 } as const;
/**
 * Tier 1 off (and so Tier 2): compressing the sealed segments would keep the child's event loop
 * busy for a few hundred ms after its last append, long enough for the flush worker to write
 * everything by chance, which would hide a missing exit drain.
 */
export const EXIT_TIER1 = { enabled: false } as const;

/** Record `id` of stream `stream`: 1..400 bytes (odd sizes included), distinct per stream and id. */
export function exitPayload(stream: number, id: number): Uint8Array {
  return payloadFor(stream * 1_000_003 + id, 1 + ((id * 131 + stream * 17) % 400));
}
