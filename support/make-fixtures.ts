/**
 * Writes the golden segment fixtures. Run by hand, never by the test suite:
 *
 *   npm run build && node dist/support/make-fixtures.js
 *
 * Fixtures are FROZEN once committed: test/unit/format/golden.test.ts pins their SHA-256 and
 * decodes them on every run, so that a format change which cannot read files written by an older
 * release fails the suite. Do not regenerate an existing version's fixture to make a failing golden
 * test pass; a new format version gets new fixture files (segment-v2*.seg) next to the old ones.
 * The only legitimate reason to rerun this for v1 is a lost file, and then the bytes must come out
 * identical (they are deterministic: fixed timestamps, the format functions, no engine, no clock).
 *
 * Written with the format functions (support/frames.ts), not through the engine, so the files
 * do not depend on the flush worker's behaviour.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SEGMENT_HEADER_BYTES } from '../src/format/segment.js';
import { buildSegment } from './frames.js';
import { GOLDEN_SEGMENT_BYTES, SEALED, UNSEALED } from './golden-content.js';
import { FIXTURES_DIR } from './paths.js';

const sealed = buildSegment({
  baseId: SEALED.baseId,
  segmentBytes: GOLDEN_SEGMENT_BYTES,
  createdAt: SEALED.createdAt,
  records: SEALED.records,
  sealedAt: SEALED.sealedAt,
});

// Build the tail with the torn frame complete, then cut the file inside that frame.
const whole = buildSegment({
  baseId: UNSEALED.baseId,
  segmentBytes: GOLDEN_SEGMENT_BYTES,
  createdAt: UNSEALED.createdAt,
  records: [...UNSEALED.records, UNSEALED.torn],
});
const intact = buildSegment({ baseId: UNSEALED.baseId, segmentBytes: GOLDEN_SEGMENT_BYTES, createdAt: UNSEALED.createdAt, records: UNSEALED.records });
const unsealed = whole.subarray(0, intact.length + UNSEALED.tornWrittenBytes);
if (intact.length < SEGMENT_HEADER_BYTES || unsealed.length >= whole.length) throw new Error('torn frame must be cut inside the frame');

for (const [name, bytes] of [
  [SEALED.file, sealed],
  [UNSEALED.file, unsealed],
] as const) {
  const path = join(FIXTURES_DIR, name);
  writeFileSync(path, bytes);
  process.stdout.write(`wrote ${path} (${bytes.length} bytes)\n`);
}
