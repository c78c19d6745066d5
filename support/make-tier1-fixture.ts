/**
 * Writes the golden Tier 1 fixture. Run by hand, never by the test suite:
 *
 *   npm run build && node dist/support/make-tier1-fixture.js
 *
 * FROZEN once committed, like the segment fixtures (see make-fixtures.ts): the golden test pins its
 * SHA-256 and decodes it on every run, so a change that cannot read files written by this version
 * fails the suite. A new format version gets a new fixture (tier1-v2.t1) next to this one.
 *
 * Written by the real compress code (workers/compress.ts `compressSegment`, in this thread) from an
 * arena-style SharedArrayBuffer, with a fixed createdAt, so the bytes are deterministic for a given
 * zstd build. (A newer zstd may compress differently; that is fine: the fixture is frozen and what
 * must keep working is decoding it.)
 */
import { join } from 'node:path';
import { loadZstd } from '../src/codec/zstd.js';
import { compressSegment } from '../workers/compress.js';
import { TIER1_GOLDEN } from './golden-tier1-content.js';
import { FIXTURES_DIR } from './paths.js';
import { arenaImage } from './tier1.js';

const img = arenaImage(TIER1_GOLDEN.records, 64);
const path = join(FIXTURES_DIR, TIER1_GOLDEN.file);
const res = await compressSegment(
  {
    source: { kind: 'arena', sab: img.sab, offset: img.offset },
    dataBytes: img.dataBytes,
    recordCount: img.recordCount,
    baseId: TIER1_GOLDEN.baseId,
    dataCrc: img.dataCrc,
    level: TIER1_GOLDEN.level,
    // The frozen file was written by the addon (before zlib's zstd existed here); the golden test
    // reads it with both implementations.
    codec: 'zstd-addon',
    frameTarget: TIER1_GOLDEN.frameTarget,
    targetPath: path,
    createdAt: TIER1_GOLDEN.createdAt,
  },
  loadZstd('zstd-addon'),
);
process.stdout.write(`wrote ${path} (${res.compressedBytes} bytes, ${res.frameCount} frames, ${img.dataBytes} raw bytes)\n`);
