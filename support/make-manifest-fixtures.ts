/**
 * Writes the golden manifest fixtures. Run by hand, never by the test suite:
 *
 *   npm run build && node dist/support/make-manifest-fixtures.js
 *
 * Same rules as make-fixtures.ts (segments): the files are FROZEN once committed. snapshot-v2.snap
 * and manifest-v1-frame-index.mlog joined later; the version 1 files no longer come out byte for
 * byte (SEALED gained maxTimeSec after they were frozen): after a run, restore them with
 * `git checkout test/fixtures/manifest-v1.mlog test/fixtures/snapshot-v1.snap`;
 * test/unit/manifest/golden.test.ts pins their SHA-256 and decodes them on every run. A new format
 * version gets new files (manifest-v2.mlog...) next to these. Output is deterministic: fixed
 * timestamps, the format functions only (no ManifestLog, no clock).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { CHUNK_HEADER_BYTES, encodeChunkHeaderInto, encodeManifestRecordInto, manifestRecordLength } from '../src/format/manifest.js';
import { encodeSnapshot } from '../src/format/snapshot.js';
import {
  GOLDEN_CHUNK_CREATED_AT,
  GOLDEN_CHUNK_SEQ,
  GOLDEN_MANIFEST_FILE,
  GOLDEN_RECORDS,
  GOLDEN_SNAPSHOT_CREATED_AT,
  GOLDEN_SNAPSHOT_FILE,
  GOLDEN_SNAPSHOT_SEQ,
  GOLDEN_SNAPSHOT_STREAMS,
  GOLDEN_TAIL,
  TORN_PARTIAL_BYTES,
  WATERMARK_RECORDS,
  GOLDEN_V2_SNAPSHOT_STREAMS,
  GOLDEN_FRAME_INDEX_CHUNK_SEQ,
  GOLDEN_V2_SNAPSHOT_SEQ,
  GOLDEN_V2_SNAPSHOT_CREATED_AT,
  GOLDEN_FRAME_INDEX_RECORDS,
  GOLDEN_FRAME_INDEX_CHUNK_CREATED_AT,
  GOLDEN_V2_SNAPSHOT_FILE,
  GOLDEN_FRAME_INDEX_CHUNK_FILE,
} from './golden-manifest-content.js';
import { FIXTURES_DIR } from './paths.js';

const all = [...GOLDEN_RECORDS, ...GOLDEN_TAIL];
let total = CHUNK_HEADER_BYTES;
for (const r of all) total += manifestRecordLength(r);
const whole = new Uint8Array(total);
let off = CHUNK_HEADER_BYTES;
let watermarkOffset = -1;
GOLDEN_RECORDS.forEach((r, i) => {
  if (i === WATERMARK_RECORDS) watermarkOffset = off - CHUNK_HEADER_BYTES;
  off = encodeManifestRecordInto(whole, off, r);
});
const committedEnd = off;
for (const r of GOLDEN_TAIL) off = encodeManifestRecordInto(whole, off, r);
encodeChunkHeaderInto(whole, 0, {
  committedBytes: committedEnd - CHUNK_HEADER_BYTES,
  chunkSeq: GOLDEN_CHUNK_SEQ,
  recordCount: GOLDEN_RECORDS.length,
  chunkCrc: crc32(whole.subarray(CHUNK_HEADER_BYTES, committedEnd)),
  createdAt: GOLDEN_CHUNK_CREATED_AT,
});
// Cut inside the last tail record: the torn write.
const lastTail = manifestRecordLength(GOLDEN_TAIL[GOLDEN_TAIL.length - 1]!);
const chunk = whole.subarray(0, total - lastTail + TORN_PARTIAL_BYTES);

const snapshot = encodeSnapshot(GOLDEN_SNAPSHOT_STREAMS, {
  watermarkChunk: GOLDEN_CHUNK_SEQ,
  watermarkOffset,
  snapshotSeq: GOLDEN_SNAPSHOT_SEQ,
  createdAt: GOLDEN_SNAPSHOT_CREATED_AT,
});

// Version 2 of the snapshot (recorded frame indexes) and a chunk with a FRAME_INDEX record.
const v2Snapshot = encodeSnapshot(GOLDEN_V2_SNAPSHOT_STREAMS, {
  watermarkChunk: GOLDEN_FRAME_INDEX_CHUNK_SEQ,
  watermarkOffset: 0,
  snapshotSeq: GOLDEN_V2_SNAPSHOT_SEQ,
  createdAt: GOLDEN_V2_SNAPSHOT_CREATED_AT,
});
let v2Total = CHUNK_HEADER_BYTES;
for (const r of GOLDEN_FRAME_INDEX_RECORDS) v2Total += manifestRecordLength(r);
const v2Chunk = new Uint8Array(v2Total);
let v2Off = CHUNK_HEADER_BYTES;
for (const r of GOLDEN_FRAME_INDEX_RECORDS) v2Off = encodeManifestRecordInto(v2Chunk, v2Off, r);
encodeChunkHeaderInto(v2Chunk, 0, {
  committedBytes: v2Total - CHUNK_HEADER_BYTES,
  chunkSeq: GOLDEN_FRAME_INDEX_CHUNK_SEQ,
  recordCount: GOLDEN_FRAME_INDEX_RECORDS.length,
  chunkCrc: crc32(v2Chunk.subarray(CHUNK_HEADER_BYTES)),
  createdAt: GOLDEN_FRAME_INDEX_CHUNK_CREATED_AT,
});

for (const [name, bytes] of [
  [GOLDEN_MANIFEST_FILE, chunk],
  [GOLDEN_SNAPSHOT_FILE, snapshot],
  [GOLDEN_V2_SNAPSHOT_FILE, v2Snapshot],
  [GOLDEN_FRAME_INDEX_CHUNK_FILE, v2Chunk],
] as const) {
  const path = join(FIXTURES_DIR, name);
  writeFileSync(path, bytes);
  process.stdout.write(`wrote ${path} (${bytes.length} bytes)\n`);
}
process.stdout.write(`committed ${committedEnd - CHUNK_HEADER_BYTES} bytes, watermark offset ${watermarkOffset}\n`);
