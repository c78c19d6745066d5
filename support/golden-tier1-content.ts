/**
 * What the golden Tier 1 fixture (test/fixtures/tier1-v1.t1) contains. Shared by the generator
 * (make-tier1-fixture.ts) and the golden test; the test also pins the derived numbers and the
 * file's SHA-256 as literals, so editing this file cannot silently change what "v1" means.
 */
import type { FrameSpec } from './frames.js';
import { SEALED } from './golden-content.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The golden segment's seven records, then twenty JSON lines, cut into frames of >= 256 raw bytes. */
export const TIER1_GOLDEN = {
  file: 'tier1-v1.t1',
  baseId: 1000,
  level: 3,
  frameTarget: 256,
  createdAt: 1_700_000_120_000,
  records: [
    ...SEALED.records,
    ...Array.from({ length: 20 }, (_, i) => ({
      payload: text(`{"seq":${i},"event":"${['view', 'click', 'buy'][i % 3]}","user":"user-${(i * 7919) % 1000}","ok":${i % 5 !== 0}}`),
      timestamp: 1_700_000_100_000 + i * 250,
    })),
  ] satisfies FrameSpec[],
} as const;
