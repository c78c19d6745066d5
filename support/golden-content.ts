/**
 * What the golden segment fixtures (test/fixtures/segment-v1*.seg) contain. Shared by the generator
 * (make-fixtures.ts) and the golden test; the test additionally pins every derived number and the
 * files' SHA-256 as literals, so editing this file cannot silently change what "v1" means.
 */
import type { FrameSpec } from './frames.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Format version the fixtures were written with. A new version gets new fixtures; old ones stay. */
export const GOLDEN_VERSION = 1;
/** Segment size (bytes) the golden segment files were written with. */
export const GOLDEN_SEGMENT_BYTES = 4096;

/** Sealed segment: odd and even sizes, empty, binary, multi-byte UTF-8, one out-of-order timestamp. */
export const SEALED = {
  file: 'segment-v1.seg',
  baseId: 1000,
  createdAt: 1_700_000_000_000, // 2023-11-14T22:13:20Z
  sealedAt: 1_700_000_060_000,
  records: [
    { payload: text(''), timestamp: 1_700_000_000_001 },
    { payload: text('a'), timestamp: 1_700_000_000_002 },
    { payload: text('hello, aof2'), timestamp: 1_700_000_000_003 },
    { payload: text('{"order":42,"qty":7}'), timestamp: 1_700_000_000_010 },
    { payload: text('8 bytes!'), timestamp: 1_700_000_000_005 }, // earlier than its predecessor on purpose
    { payload: Uint8Array.from({ length: 256 }, (_, i) => i), timestamp: 1_700_000_000_020 },
    { payload: text('last record of the golden segment ✓'), timestamp: 1_700_000_000_030 },
  ] satisfies FrameSpec[],
} as const;

/**
 * Unsealed tail continuing the sealed segment: three whole frames, then a torn one (a crash mid
 * write): its header claims all 40 payload bytes but only `tornWrittenBytes` of the frame reached the file.
 */
export const UNSEALED = {
  file: 'segment-v1-unsealed.seg',
  baseId: 1007,
  createdAt: 1_700_000_060_001,
  records: [
    { payload: text('tail 0'), timestamp: 1_700_000_060_002 },
    { payload: text('tail record 1'), timestamp: 1_700_000_060_003 },
    { payload: text('tail record number 2, 31 bytes!'), timestamp: 1_700_000_060_004 },
  ] satisfies FrameSpec[],
  torn: { payload: text('this frame was torn by a crash mid-write'), timestamp: 1_700_000_060_005 },
  tornWrittenBytes: 36,
} as const;
