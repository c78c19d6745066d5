/**
 * Golden fixture: a Tier 1 file written by format v1 (support/make-tier1-fixture.ts, frozen),
 * decoded on every run. The numbers are literals on purpose: if a change to the format or reader
 * makes this file read differently, this fails, because users have such files on disk.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { loadZstd, offeredImplementations } from '../../../src/codec/zstd.js';
import { frameForRecord, decodeTier1Footer, decodeTier1Header, TIER1_FOOTER_BYTES } from '../../../src/format/tier1.js';
import { decodeTier1Image, readFrame, readTier1Meta } from '../../../src/format/tier1-file.js';
import { hydrateFrame } from '../../../workers/hydrate.js';
import { buildFrames } from '../../../support/frames.js';
import { TIER1_GOLDEN } from '../../../support/golden-tier1-content.js';
import { FIXTURES_DIR } from '../../../support/paths.js';
import { sameBytes } from '../../../support/tmp.js';
import { recordInFrame } from '../../../support/tier1.js';

const PATH = join(FIXTURES_DIR, TIER1_GOLDEN.file);

const INDEX = [
  { firstRecord: 0, recordCount: 6, rawOffset: 0, rawBytes: 408, fileOffset: 64, compressedBytes: 400, rawCrc: 4036612196 },
  { firstRecord: 6, recordCount: 4, rawOffset: 408, rawBytes: 272, fileOffset: 464, compressedBytes: 205, rawCrc: 3976887090 },
  { firstRecord: 10, recordCount: 4, rawOffset: 680, rawBytes: 288, fileOffset: 669, compressedBytes: 169, rawCrc: 2558216938 },
  { firstRecord: 14, recordCount: 4, rawOffset: 968, rawBytes: 288, fileOffset: 838, compressedBytes: 171, rawCrc: 401779609 },
  { firstRecord: 18, recordCount: 4, rawOffset: 1256, rawBytes: 288, fileOffset: 1009, compressedBytes: 164, rawCrc: 4085748241 },
  { firstRecord: 22, recordCount: 4, rawOffset: 1544, rawBytes: 288, fileOffset: 1173, compressedBytes: 177, rawCrc: 3079593280 },
  { firstRecord: 26, recordCount: 1, rawOffset: 1832, rawBytes: 72, fileOffset: 1350, compressedBytes: 81, rawCrc: 3377894912 },
];

describe('golden tier 1 v1', () => {
  const buf = readFileSync(PATH);
  const file = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);

  test('is the committed file (fixtures are frozen; see make-tier1-fixture.ts)', () => {
    assert.equal(file.length, 1719);
    assert.equal(createHash('sha256').update(file).digest('hex'), 'cecb79517e86247a6d0296242d15148aeae6764858d8aebc8f729900ac026d01');
  });

  test('header and footer decode to the values they were written with', () => {
    const header = {
      codec: 1,
      level: 3,
      baseId: 1000,
      recordCount: 27,
      dataBytes: 1904,
      dataCrc: 0xeeadda8b,
      frameTarget: 256,
      createdAt: 1_700_000_120_000,
    };
    assert.deepEqual(decodeTier1Header(file), header);
    // Raw bytes: magic, version 1, header length 64, codec 1, level 3, little-endian base id.
    assert.equal(Buffer.from(file.subarray(0, 24)).toString('hex'), '414f463254310000' + '0100' + '4000' + '01' + '03' + '0000' + 'e803000000000000');
    const footer = { frameCount: 7, indexOffset: 1431, indexCrc: 0x56791156, recordCount: 27, baseId: 1000 };
    assert.deepEqual(decodeTier1Footer(file, file.length - TIER1_FOOTER_BYTES), footer);
    assert.equal(1431 + 7 * 32 + 64, file.length);
  });

  test('readTier1Meta and decodeTier1Image agree on the pinned index', async () => {
    const meta = await readTier1Meta(PATH);
    assert.deepEqual(meta.index, INDEX);
    assert.deepEqual(decodeTier1Image(file), meta);
    assert.equal(frameForRecord(meta.index, 0), 0);
    assert.equal(frameForRecord(meta.index, 9), 1);
    assert.equal(frameForRecord(meta.index, 10), 2);
    assert.equal(frameForRecord(meta.index, 26), 6);
  });

  // Written by the addon (support/make-tier1-fixture.ts); read by every implementation this runtime
  // offers: files on disk do not care which zstd wrote them.
  for (const implementation of offeredImplementations()) {
    test(`every frame decompresses to the records it was written from (${implementation})`, async () => {
      const codec = loadZstd(implementation);
      const data = buildFrames(TIER1_GOLDEN.records);
      assert.equal(crc32(data), 0xeeadda8b, 'the content spec still builds the same data region');
      for (const entry of INDEX) {
        const raw = await readFrame(PATH, entry, codec);
        assert.ok(sameBytes(raw, data.subarray(entry.rawOffset, entry.rawOffset + entry.rawBytes)), `frame at ${entry.fileOffset}`);
        for (let r = entry.firstRecord; r < entry.firstRecord + entry.recordCount; r++) {
          const rec = recordInFrame(raw, entry, r);
          assert.ok(sameBytes(rec.payload, TIER1_GOLDEN.records[r]!.payload), `record ${r}`);
          assert.equal(rec.timestamp, TIER1_GOLDEN.records[r]!.timestamp);
        }
      }
      const last = recordInFrame(await readFrame(PATH, INDEX[6]!, codec), INDEX[6]!, 26);
      assert.equal(new TextDecoder().decode(last.payload), '{"seq":19,"event":"click","user":"user-461","ok":true}');
    });

    test(`hydrating the whole fixture through the worker code rebuilds the data region (${implementation})`, async () => {
      const sab = new SharedArrayBuffer(64 + 1904);
      for (const entry of INDEX) {
        await hydrateFrame({ source: { kind: 'file', path: PATH }, entry, sab, targetOffset: 64 + entry.rawOffset, progressIndex: 1, codec: implementation }, loadZstd(implementation));
      }
      assert.ok(sameBytes(new Uint8Array(sab, 64), buildFrames(TIER1_GOLDEN.records)));
      assert.equal(Atomics.load(new Int32Array(sab, 0, 2), 0), 0, 'no residency bits (stage 3: a frame is a run of its own)');
      assert.equal(Atomics.load(new Int32Array(sab, 0, 2), 1), 7);
    });
  }
});
