/**
 * The workload shared by the crash child (support/crash-child.ts) and the parent test that
 * kills it (test/integration/crash.test.ts): both sides must derive the same payload for an id
 * without exchanging the bytes, so the parent can verify records nobody told it about.
 */
import type { AofManagerOptions } from '../src/index.js';
import { payloadFor } from './tmp.js';

/** Streams the crash child writes, interleaved, so slots are shared and sealed under pressure. */
export const CRASH_STREAMS = ['crash-a', 'crash-b'] as const;

/**
 * 8 slots of 64 KiB: a few hundred records fill a segment, so every round rolls over, seals,
 * evicts CLEAN slots and reuses them (reading back hydrates evicted segments).
 */
export const CRASH_TIER0 = { arenaBytes: 8 * 64 * 1024, segmentBytes: 64 * 1024 } as const;

/**
 * The crash child's `park` mode (test/integration/crash-park.test.ts): twelve streams over four
 * slots, so the warm-up alone parks eight active segments and, from then on, nearly every append
 * parks another stream's segment, retires its slot and loads its own written prefix back: a kill
 * lands on parked segments with unsynced, retiring, evicted and reloading slots.
 */
export const CRASH_PARK_STREAMS = Array.from({ length: 12 }, (_, i) => `park-${String(i).padStart(2, '0')}`);
export const CRASH_PARK_TIER0 = { arenaBytes: 4 * 16 * 1024, segmentBytes: 16 * 1024 } as const;

/**
 * The crash child's `many` mode (test/integration/crash-1k-tiers.test.ts, chaos scenario
 * `sigkill-1k`): 1,000 streams written round-robin over an arena of 64 pages of 8 KiB, so nearly
 * every append parks another stream's write window; 16 KiB segments written through two windows,
 * sealed by size (every ~80 records, or at once by the ~10 KB record every stream writes at id 5)
 * and by every graceful close, compressed into 4 KiB frames and uploaded to a local-directory
 * Tier 2, with a Tier 1 budget of 64 segments so uploaded files are evicted all along.
 */
export const CRASH_MANY_STREAMS = Array.from({ length: 1000 }, (_, i) => `many-${String(i).padStart(4, '0')}`);
export const CRASH_MANY_TIER0 = { arenaBytes: 32 * 16 * 1024, segmentBytes: 16 * 1024 } as const;
export const CRASH_MANY_TIER1 = { maxBytes: 64 * 16 * 1024, frameBytes: 4096, compressionLevel: 1 } as const;

/**
 * The `many` engine on `root` with the fs Tier 2 in `storeDir`: the crash child and the verifying
 * session open it alike (fsync is the child's choice per round; reads do not depend on it).
 */
export function crashManyOptions(root: string, storeDir: string, fsync: 'always' | 'interval' = 'always'): AofManagerOptions {
  return { root, tier0: CRASH_MANY_TIER0, tier1: CRASH_MANY_TIER1, tier2: { kind: 'fs', root: storeDir }, fsync, fsyncIntervalMs: 20 };
}

/** The streams a crash child of `mode` writes (the parent sizes its bookkeeping by them). */
export function crashStreams(mode: string): readonly string[] {
  return mode === 'park' ? CRASH_PARK_STREAMS : mode === 'many' ? CRASH_MANY_STREAMS : CRASH_STREAMS;
}

/**
 * Tier 1 options of the crash child's `tier1` mode: 16 KiB zstd frames, so a 64 KiB segment is
 * four frames and a reader hydrates frame by frame.
 */
export const CRASH_TIER1 = { frameBytes: 16 * 1024 } as const;

/**
 * The crash child's `tier2` mode (test/integration/crash-tier2.test.ts): everything small, so that
 * within a few hundred milliseconds of appends every Tier 2 transition happens many times over.
 * 16 KiB segments seal every ~80 records; 4 KiB frames make a Tier 2 read fetch a quarter segment;
 * a Tier 1 budget of 4 segments (shared by both streams; payloads are incompressible, so a .t1 is
 * about a raw segment) forces an eviction after nearly every upload; retention keeps about 6
 * segments per stream and runs every 25 ms, so EXPIRED records and object deletes interleave with
 * uploads and evictions.
 */
export const CRASH_T2_TIER0 = { arenaBytes: 8 * 16 * 1024, segmentBytes: 16 * 1024 } as const;
/** Tier 1 of the CRASH_T2 engine: a budget of four segments, small frames, fast compression. */
export const CRASH_T2_TIER1 = { maxBytes: 4 * 16 * 1024, frameBytes: 4096, compressionLevel: 1 } as const;
/** Retention of the CRASH_T2 engine: six segments' worth, checked every 25 ms. */
export const CRASH_T2_RETENTION = { maxBytes: 6 * 16 * 1024, checkIntervalMs: 25 } as const;

/**
 * The CRASH_T2_* engine as a verifying session opens it (the fs Tier 2 in `storeDir`): `retention`
 * false keeps no policy, so only the crash child ever moves a stream's first id; true is the
 * child's byte policy without its timer (applied by explicit `enforceRetention()` calls only).
 */
export function crashT2VerifyOptions(root: string, storeDir: string, retention: boolean): AofManagerOptions {
  return {
    root,
    tier0: CRASH_T2_TIER0,
    tier1: CRASH_T2_TIER1,
    tier2: { kind: 'fs', root: storeDir },
    fsync: 'always',
    retention: retention ? { maxBytes: CRASH_T2_RETENTION.maxBytes, checkIntervalMs: 3_600_000 } : { checkIntervalMs: 3_600_000 },
  };
}

/**
 * Payload size of record `id` of stream index `stream`: mostly small and odd-sized (the padding
 * rule), some empty, a few large enough to leave a segment part-full at rollover.
 */
export function crashPayloadSize(stream: number, id: number): number {
  const h = (Math.imul(id + 1, 2654435761) ^ Math.imul(stream + 1, 40503)) >>> 0;
  if (id % 17 === 0) return 0;
  if (id % 61 === 1) return 1 + (h % 7); // 1..7: shorter than one alignment unit
  if (id % 211 === 5) return 9_000 + (h % 3_001); // large: rollover with a part-full segment
  return h % 401; // 0..400, odd and even
}

/** The bytes of record `id` of stream index `stream` (distinct per stream, to catch mix-ups). */
export function crashPayload(stream: number, id: number): Uint8Array {
  return payloadFor(id + stream * 1_000_003, crashPayloadSize(stream, id));
}


/**
 * Payload of record `id` of stream `stream` in the `many` mode: one record in three is 5-12 KB,
 * the rest crashPayload's sizes. A stream gets only a few records per round among 1,000, so large
 * ones are what roll its 16 KiB segment over (seal, compress, upload) while the child runs.
 */
export function crashManyPayload(stream: number, id: number): Uint8Array {
  if (id % 3 !== 2) return crashPayload(stream, id);
  const h = (Math.imul(id + 7, 2654435761) ^ Math.imul(stream + 3, 40503)) >>> 0;
  return payloadFor(id + stream * 1_000_003, 5_000 + (h % 7_001));
}
