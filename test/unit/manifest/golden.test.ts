/**
 * Golden manifest fixtures (support/make-manifest-fixtures.ts, frozen), decoded on every run.
 * Every number here is a literal on purpose: if a change to the format code makes these files read
 * differently, this fails, because users have such files on disk.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CHUNK_HEADER_BYTES, decodeChunkHeader, decodeManifestRecord } from '../../../src/format/manifest.js';
import { FLAG_TIER1_EVICTED, FLAG_UPLOADED, SegmentState, decodeSnapshot } from '../../../src/format/snapshot.js';
import { ManifestLog } from '../../../src/manifest/manifest-log.js';
import { expandRecordedIndex } from '../../../src/format/recorded-index.js';
import {
  GOLDEN_FRAME_INDEX_CHUNK_FILE,
  GOLDEN_FRAME_INDEX_CHUNK_SEQ,
  GOLDEN_FRAME_INDEX_RECORDS,
  GOLDEN_V2_INDEX_5,
  GOLDEN_V2_SNAPSHOT_FILE,
  GOLDEN_V2_SNAPSHOT_SEQ,
  GOLDEN_V2_SNAPSHOT_STREAMS,
  GOLDEN_CHUNK_SEQ,
  GOLDEN_MANIFEST_FILE,
  GOLDEN_RECORDS,
  GOLDEN_SNAPSHOT_FILE,
  GOLDEN_SNAPSHOT_SEQ,
  GOLDEN_SNAPSHOT_STREAMS,
} from '../../../support/golden-manifest-content.js';
import { FIXTURES_DIR } from '../../../support/paths.js';
import { tempRoot } from '../../../support/tmp.js';
import { chunkFileName, snapshotFileName } from '../../../src/format/root-layout.js';

function fixture(name: string): Uint8Array {
  const buf = readFileSync(join(FIXTURES_DIR, name));
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Pinned when the version 2 files were generated (support/make-manifest-fixtures.ts). */
const SNAPSHOT_V2_BYTES = 192;
const SNAPSHOT_V2_SHA256 = 'd3a4dcce9b210f0cd8fdeedd8f4b5426f2d978aeec2da35e604200b9897933d2';
const FRAME_INDEX_CHUNK_BYTES = 216;
const FRAME_INDEX_CHUNK_SHA256 = 'a23ae672c47f2ebd3079d04638b9dfce3997340d52006a38348ca451a25fbe6a';

/** The catalog both replays must produce for the segments the chunk's records touch. */
const ORDERS_AFTER_REPLAY = [
  {
    baseId: 0,
    recordCount: 4096,
    dataBytes: 1_048_512,
    dataCrc: 0xdeadbeef,
    state: SegmentState.TIER1,
    flags: FLAG_UPLOADED | FLAG_TIER1_EVICTED,
    attempts: 0,
    compressedBytes: 262_144,
    frameCount: 4,
    objectBytes: 262_208,
    maxTimeSec: 0,
  },
  {
    baseId: 4096,
    recordCount: 3000,
    dataBytes: 1_040_000,
    dataCrc: 0x01234567,
    state: SegmentState.NEEDS_RECOVERY,
    flags: 0,
    attempts: 0,
    compressedBytes: 0,
    frameCount: 0,
    objectBytes: 0,
    maxTimeSec: 0,
  },
];
const PAYMENTS_AFTER_REPLAY = [
  {
    baseId: 0,
    recordCount: 12,
    dataBytes: 4096,
    dataCrc: 0x89abcdef,
    state: SegmentState.COMPRESSION_FAILED,
    flags: 0,
    attempts: 3,
    compressedBytes: 0,
    frameCount: 0,
    objectBytes: 0,
    maxTimeSec: 0,
  },
];

describe('golden manifest chunk v1', () => {
  const file = fixture(GOLDEN_MANIFEST_FILE);

  test('is the committed file (fixtures are frozen; see make-manifest-fixtures.ts)', () => {
    assert.equal(file.length, 620);
    assert.equal(sha256(file), '0952f7d4b68386e55d69fe2bfd1b8be528065faf38d6b4002e096c949bc710a2');
  });

  test('header decodes to the values it was written with', () => {
    assert.deepEqual(decodeChunkHeader(file), {
      committedBytes: 496,
      chunkSeq: 7,
      recordCount: 14,
      chunkCrc: 0xac54adf2,
      createdAt: 1_700_000_000_000,
    });
    // magic "AOF2MAN\0", version 1, header length 64, committed 496 (0x1f0), little-endian.
    assert.equal(Buffer.from(file.subarray(0, 16)).toString('hex'), '414f46324d414e00' + '0100' + '4000' + 'f0010000');
  });

  test('the committed area decodes to exactly the 14 records, each at its offset', () => {
    // Computed by hand: pad8(12 + 2 + nameLength + 8 + 4 * fields) per record.
    const offsets = [0, 40, 80, 112, 152, 200, 240, 272, 304, 336, 368, 408, 432, 464];
    let off = CHUNK_HEADER_BYTES;
    for (let i = 0; i < 14; i++) {
      assert.equal(off - CHUNK_HEADER_BYTES, offsets[i], `record ${i} offset`);
      const r = decodeManifestRecord(file, off, CHUNK_HEADER_BYTES + 496);
      assert.ok(r.ok, `record ${i}: ${JSON.stringify(r)}`);
      assert.deepEqual(r.record, GOLDEN_RECORDS[i]);
      off = r.next;
    }
    assert.equal(off, CHUNK_HEADER_BYTES + 496);
    // Spot checks against literals, independent of the content module.
    const first = decodeManifestRecord(file, CHUNK_HEADER_BYTES, file.length);
    assert.ok(first.ok);
    assert.deepEqual(first.record, { type: 1, stream: 'orders', baseId: 0, fields: { recordCount: 4096, dataBytes: 1_048_512, dataCrc: 0xdeadbeef, maxTimeSec: 0 } });
    const big = decodeManifestRecord(file, CHUNK_HEADER_BYTES + 368, file.length);
    assert.ok(big.ok && big.record.baseId === Number.MAX_SAFE_INTEGER && big.record.stream === 'a');
  });

  test('past the committed length: one whole uncommitted record, then a torn one', () => {
    const tail = decodeManifestRecord(file, CHUNK_HEADER_BYTES + 496, file.length);
    assert.ok(tail.ok);
    assert.equal(tail.record.baseId, 7096);
    const torn = decodeManifestRecord(file, tail.next, file.length);
    assert.deepEqual(torn, { ok: false, reason: 'truncated', next: 620 });
  });
});

describe('golden snapshot v1', () => {
  const file = fixture(GOLDEN_SNAPSHOT_FILE);

  test('is the committed file', () => {
    assert.equal(file.length, 216);
    assert.equal(sha256(file), 'f8a6d312b13b3f2806d981ba7d753df3b23814ef58e7e73fa39ec89eacdb4f86');
  });

  test('decodes to its header and streams', () => {
    const snap = decodeSnapshot(file);
    assert.deepEqual(snap.header, {
      bodyBytes: 152,
      watermarkChunk: 7,
      watermarkOffset: 152,
      streamCount: 2,
      segmentCount: 3,
      bodyCrc: snap.header.bodyCrc,
      createdAt: 1_700_000_100_000,
      snapshotSeq: 3,
    });
    assert.deepEqual([...snap.streams.keys()], ['metrics', 'orders']);
    assert.deepEqual(snap.streams, GOLDEN_SNAPSHOT_STREAMS);
    assert.equal(snap.streams.get('metrics')![0]!.flags, 3);
    assert.equal(Buffer.from(file.subarray(0, 12)).toString('hex'), '414f4632534e5000' + '0100' + '4000');
  });
});

describe('golden files through ManifestLog', () => {
  test('chunk alone: replays all 14 records and trims the 60-byte torn tail', async (t) => {
    const { root, cleanup } = tempRoot();
    t.after(cleanup);
    const path = join(root, chunkFileName(GOLDEN_CHUNK_SEQ));
    copyFileSync(join(FIXTURES_DIR, GOLDEN_MANIFEST_FILE), path);
    // Chunk 7 without a snapshot: chunks 0..6 are missing, which replay reports as corruption.
    const { manifest, catalog, report } = await ManifestLog.open({ dir: root });
    t.after(() => manifest.close());
    assert.equal(report.recordsReplayed, 14);
    assert.equal(report.journalLagBytes, 60);
    assert.equal(report.trimmedChunks, 1);
    assert.equal(report.corruptionEvents, 1);
    assert.equal(statSync(path).size, 64 + 496);
    assert.deepEqual(catalog.streams(), ['orders', 'payments.eu']);
    assert.deepEqual(catalog.entries('orders'), ORDERS_AFTER_REPLAY);
    assert.deepEqual(catalog.entries('payments.eu'), PAYMENTS_AFTER_REPLAY);
  });

  test('snapshot + chunk: starts at the watermark, replays 10 records, keeps the snapshot-only stream', async (t) => {
    const { root, cleanup } = tempRoot();
    t.after(cleanup);
    copyFileSync(join(FIXTURES_DIR, GOLDEN_MANIFEST_FILE), join(root, chunkFileName(GOLDEN_CHUNK_SEQ)));
    copyFileSync(join(FIXTURES_DIR, GOLDEN_SNAPSHOT_FILE), join(root, snapshotFileName(GOLDEN_SNAPSHOT_SEQ)));
    const { manifest, catalog, report } = await ManifestLog.open({ dir: root });
    t.after(() => manifest.close());
    assert.deepEqual({ ...report, chunkLagSeconds: 0 }, {
      snapshotSeq: 3,
      chunkCount: 1,
      recordsReplayed: 10,
      journalLagBytes: 60,
      chunkLagSeconds: 0,
      corruptionEvents: 0,
      unknownRecords: 0,
      orphanRecords: 0,
      trimmedChunks: 1,
      tempFilesRemoved: 0,
    });
    assert.deepEqual(catalog.streams(), ['metrics', 'orders', 'payments.eu']);
    assert.deepEqual(catalog.entries('metrics'), GOLDEN_SNAPSHOT_STREAMS.get('metrics'));
    assert.deepEqual(catalog.entries('orders'), ORDERS_AFTER_REPLAY);
    assert.deepEqual(catalog.entries('payments.eu'), PAYMENTS_AFTER_REPLAY);
    // Appends continue in a fresh chunk (8), never behind the trimmed tail.
    await manifest.append([{ type: 1, stream: 'orders', baseId: 7096, fields: { recordCount: 1, dataBytes: 24, dataCrc: 5, maxTimeSec: 0 } }]);
    assert.equal(manifest.stats().chunkSeq, 8);
  });
});

describe('golden snapshot v2 and a chunk with a FRAME_INDEX record', () => {
  const snapshot = fixture(GOLDEN_V2_SNAPSHOT_FILE);
  const chunk = fixture(GOLDEN_FRAME_INDEX_CHUNK_FILE);

  test('are the committed files', () => {
    assert.equal(snapshot.length, SNAPSHOT_V2_BYTES);
    assert.equal(sha256(snapshot), SNAPSHOT_V2_SHA256);
    assert.equal(chunk.length, FRAME_INDEX_CHUNK_BYTES);
    assert.equal(sha256(chunk), FRAME_INDEX_CHUNK_SHA256);
  });

  test('the snapshot is version 2, its indexed entry is followed by 16 bytes per frame', () => {
    // magic "AOF2SNP\0", version 2, header length 64.
    assert.equal(Buffer.from(snapshot.subarray(0, 12)).toString('hex'), '414f4632534e5000' + '0200' + '4000');
    // Stream block 'orders': 8-byte block header, name padded to 8, then entry 0 (flags at +21: uploaded | evicted | index).
    assert.equal(snapshot[64 + 16 + 21], 0b111);
    const snap = decodeSnapshot(snapshot);
    assert.deepEqual(snap.streams, GOLDEN_V2_SNAPSHOT_STREAMS);
    const first = snap.streams.get('orders')![0]!;
    // [recordCount, rawBytes, compressedBytes, rawCrc] of frame 1, little-endian, as literals.
    assert.equal(Buffer.from(first.frameIndex!.subarray(16, 32)).toString('hex'), '02000000' + '20000000' + '11000000' + '22222222');
    assert.deepEqual(
      expandRecordedIndex(first.frameIndex!, { frameCount: 2, recordCount: 5, dataBytes: 80, fileBytes: 229 }).map((e) => [e.firstRecord, e.rawOffset, e.fileOffset, e.compressedBytes]),
      [
        [0, 0, 64, 20],
        [3, 48, 84, 17],
      ],
    );
  });

  test('the chunk decodes to its four records, the FRAME_INDEX one with its frames', () => {
    let off = CHUNK_HEADER_BYTES;
    for (const expected of GOLDEN_FRAME_INDEX_RECORDS) {
      const r = decodeManifestRecord(chunk, off, chunk.length);
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.record, expected);
      off = r.next;
    }
    assert.equal(off, chunk.length);
  });

  test('through ManifestLog: both segments come back uploaded, evicted and with an index that describes them', async (t) => {
    const { root, cleanup } = tempRoot();
    t.after(cleanup);
    copyFileSync(join(FIXTURES_DIR, GOLDEN_FRAME_INDEX_CHUNK_FILE), join(root, chunkFileName(GOLDEN_FRAME_INDEX_CHUNK_SEQ)));
    copyFileSync(join(FIXTURES_DIR, GOLDEN_V2_SNAPSHOT_FILE), join(root, snapshotFileName(GOLDEN_V2_SNAPSHOT_SEQ)));
    const { manifest, catalog, report } = await ManifestLog.open({ dir: root, strict: true });
    t.after(() => manifest.close());
    assert.equal(report.recordsReplayed, 4);
    const [zero, five] = catalog.entries('orders');
    assert.deepEqual(zero, GOLDEN_V2_SNAPSHOT_STREAMS.get('orders')![0]);
    assert.deepEqual([five!.state, five!.flags, five!.compressedBytes, five!.frameCount, five!.objectBytes], [SegmentState.TIER1, FLAG_UPLOADED | FLAG_TIER1_EVICTED, 170, 1, 170]);
    assert.deepEqual(five!.frameIndex, GOLDEN_V2_INDEX_5);
    assert.deepEqual(expandRecordedIndex(five!.frameIndex!, { frameCount: 1, recordCount: 2, dataBytes: 40, fileBytes: 170 }), [
      { firstRecord: 0, recordCount: 2, rawOffset: 0, rawBytes: 40, fileOffset: 64, compressedBytes: 10, rawCrc: 0x33333333 },
    ]);
  });
});
