/**
 * What the golden manifest fixtures (test/fixtures/manifest-v1.mlog, snapshot-v1.snap) contain.
 * Shared by the generator (make-manifest-fixtures.ts) and the golden test; the test also pins the
 * files' SHA-256 and the decoded values as literals, so editing this file cannot silently change
 * what "v1" means.
 *
 * The two files belong together: the snapshot's watermark points into the chunk after its first
 * WATERMARK_RECORDS records, so opening a directory holding both replays only the rest.
 */
import { ManifestRecordType, type ManifestRecord } from '../src/format/manifest.js';
import { FLAG_TIER1_EVICTED, FLAG_UPLOADED, SegmentState, type CatalogEntry } from '../src/format/snapshot.js';

/** File names (in test/fixtures) and header fields of the golden manifest chunk and snapshot. */
export const GOLDEN_MANIFEST_FILE = 'manifest-v1.mlog';
export const GOLDEN_SNAPSHOT_FILE = 'snapshot-v1.snap';
export const GOLDEN_CHUNK_SEQ = 7;
export const GOLDEN_CHUNK_CREATED_AT = 1_700_000_000_000;
export const GOLDEN_SNAPSHOT_SEQ = 3;
export const GOLDEN_SNAPSHOT_CREATED_AT = 1_700_000_100_000;
/** Records of the chunk the snapshot already covers. */
export const WATERMARK_RECORDS = 4;

const T = ManifestRecordType;

/** Committed records: every record type at least once, names of several lengths (padding 0..7). */
export const GOLDEN_RECORDS: readonly ManifestRecord[] = [
  { type: T.SEALED, stream: 'orders', baseId: 0, fields: { recordCount: 4096, dataBytes: 1_048_512, dataCrc: 0xdeadbeef, maxTimeSec: 0 } },
  { type: T.SEALED, stream: 'orders', baseId: 4096, fields: { recordCount: 3000, dataBytes: 1_040_000, dataCrc: 0x01234567, maxTimeSec: 0 } },
  { type: T.COMPRESSION_STARTED, stream: 'orders', baseId: 0, fields: { attempt: 1 } },
  { type: T.COMPRESSION_DONE, stream: 'orders', baseId: 0, fields: { compressedBytes: 262_144, frameCount: 4 } },
  // --- the snapshot's watermark is here ---
  { type: T.SEALED, stream: 'payments.eu', baseId: 0, fields: { recordCount: 12, dataBytes: 4096, dataCrc: 0x89abcdef, maxTimeSec: 0 } },
  { type: T.COMPRESSION_FAILED, stream: 'payments.eu', baseId: 0, fields: { attempts: 3 } },
  { type: T.UPLOADED, stream: 'orders', baseId: 0, fields: { objectBytes: 262_208 } },
  { type: T.EVICTED, stream: 'orders', baseId: 0, fields: {} },
  { type: T.HYDRATED, stream: 'orders', baseId: 0, fields: {} },
  { type: T.NEEDS_RECOVERY, stream: 'orders', baseId: 4096, fields: {} },
  { type: T.SEALED, stream: 'a', baseId: 9_007_199_254_740_991, fields: { recordCount: 1, dataBytes: 16, dataCrc: 0, maxTimeSec: 0 } },
  { type: T.DELETED, stream: 'a', baseId: 9_007_199_254_740_991, fields: {} },
  { type: T.SNAPSHOT, stream: '', baseId: 0, fields: { snapshotSeq: 3 } },
  { type: T.EVICTED, stream: 'orders', baseId: 0, fields: {} },
];

/**
 * Torn tail after the committed records (a crash between writing a batch and its header): one
 * whole record, then the first TORN_PARTIAL_BYTES bytes of another.
 */
export const GOLDEN_TAIL: readonly ManifestRecord[] = [
  { type: T.SEALED, stream: 'orders', baseId: 7096, fields: { recordCount: 10, dataBytes: 800, dataCrc: 0x55aa55aa, maxTimeSec: 0 } },
  { type: T.COMPRESSION_STARTED, stream: 'orders', baseId: 4096, fields: { attempt: 1 } },
];
/** Bytes of the second GOLDEN_TAIL record that made it to disk before the (simulated) crash. */
export const TORN_PARTIAL_BYTES = 20;

/** The snapshot: the catalog after the first WATERMARK_RECORDS records, plus a stream only it knows. */
export const GOLDEN_SNAPSHOT_STREAMS: ReadonlyMap<string, readonly CatalogEntry[]> = new Map([
  [
    'metrics',
    [
      {
        baseId: 0,
        recordCount: 70_000,
        dataBytes: 67_108_800,
        dataCrc: 0xcafef00d,
        state: SegmentState.TIER1,
        flags: FLAG_UPLOADED | FLAG_TIER1_EVICTED,
        attempts: 0,
        compressedBytes: 9_000_000,
        frameCount: 256,
        objectBytes: 9_000_064,
        maxTimeSec: 0,
      },
    ],
  ],
  [
    'orders',
    [
      {
        baseId: 0,
        recordCount: 4096,
        dataBytes: 1_048_512,
        dataCrc: 0xdeadbeef,
        state: SegmentState.TIER1,
        flags: 0,
        attempts: 0,
        compressedBytes: 262_144,
        frameCount: 4,
        objectBytes: 0,
        maxTimeSec: 0,
      },
      {
        baseId: 4096,
        recordCount: 3000,
        dataBytes: 1_040_000,
        dataCrc: 0x01234567,
        state: SegmentState.SEALED,
        flags: 0,
        attempts: 0,
        compressedBytes: 0,
        frameCount: 0,
        objectBytes: 0,
        maxTimeSec: 0,
      },
    ],
  ],
]);

/**
 * Snapshot version 2 (recorded frame indexes) and a chunk holding a FRAME_INDEX record, written by
 * the same generator: `snapshot-v2.snap` (sequence 4) covers everything before chunk 9, which
 * `manifest-v1-frame-index.mlog` is (the chunk format is still version 1; FRAME_INDEX is a record
 * type, not a chunk version). Opening both gives two uploaded segments, each with an index that
 * describes it exactly (test/unit/manifest/golden.test.ts expands them).
 */
export const GOLDEN_V2_SNAPSHOT_FILE = 'snapshot-v2.snap';
export const GOLDEN_V2_SNAPSHOT_SEQ = 4;
export const GOLDEN_V2_SNAPSHOT_CREATED_AT = 1_700_000_200_000;
export const GOLDEN_FRAME_INDEX_CHUNK_FILE = 'manifest-v1-frame-index.mlog';
export const GOLDEN_FRAME_INDEX_CHUNK_SEQ = 9;
export const GOLDEN_FRAME_INDEX_CHUNK_CREATED_AT = 1_700_000_300_000;

/** A recorded index (src/format/recorded-index.ts) of [recordCount, rawBytes, compressedBytes, rawCrc] per frame. */
export function goldenRecordedIndex(frames: readonly (readonly [number, number, number, number])[]): Uint8Array {
  const out = new Uint8Array(16 * frames.length);
  const v = new DataView(out.buffer);
  frames.forEach((f, i) => f.forEach((value, k) => v.setUint32(16 * i + 4 * k, value, true)));
  return out;
}

/** Segment 0 of 'orders': 5 records, 80 raw bytes in two frames; file = 64 + (20 + 17) + 2 * 32 + 64 = 229 bytes. */
export const GOLDEN_V2_INDEX_0 = goldenRecordedIndex([
  [3, 48, 20, 0x11111111],
  [2, 32, 17, 0x22222222],
]);
/** Segment 5 of 'orders': 2 records, 40 raw bytes in one frame; file = 64 + 10 + 32 + 64 = 170 bytes. */
export const GOLDEN_V2_INDEX_5 = goldenRecordedIndex([[2, 40, 10, 0x33333333]]);

export const GOLDEN_V2_SNAPSHOT_STREAMS: ReadonlyMap<string, readonly CatalogEntry[]> = new Map([
  [
    'orders',
    [
      {
        baseId: 0,
        recordCount: 5,
        dataBytes: 80,
        dataCrc: 0x0badf00d,
        state: SegmentState.TIER1,
        flags: FLAG_UPLOADED | FLAG_TIER1_EVICTED,
        attempts: 0,
        compressedBytes: 229,
        frameCount: 2,
        objectBytes: 229,
        maxTimeSec: 1_700_000,
        frameIndex: GOLDEN_V2_INDEX_0,
      },
      {
        baseId: 5,
        recordCount: 2,
        dataBytes: 40,
        dataCrc: 0x5eed5eed,
        state: SegmentState.SEALED,
        flags: 0,
        attempts: 0,
        compressedBytes: 0,
        frameCount: 0,
        objectBytes: 0,
        maxTimeSec: 1_700_001,
      },
    ],
  ],
]);

/** Chunk 9: segment 5 compressed, uploaded with its frame index, evicted. */
export const GOLDEN_FRAME_INDEX_RECORDS: readonly ManifestRecord[] = [
  { type: T.COMPRESSION_DONE, stream: 'orders', baseId: 5, fields: { compressedBytes: 170, frameCount: 1 } },
  { type: T.UPLOADED, stream: 'orders', baseId: 5, fields: { objectBytes: 170 } },
  { type: T.FRAME_INDEX, stream: 'orders', baseId: 5, fields: { frameCount: 1 }, frames: GOLDEN_V2_INDEX_5 },
  { type: T.EVICTED, stream: 'orders', baseId: 5, fields: {} },
];
