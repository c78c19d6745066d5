/**
 * Golden fixtures: segment files written by format v1 (support/make-fixtures.ts, frozen),
 * decoded on every run. Every number below is a literal on purpose: if a change to the format code
 * makes these files read differently, this test fails, because users have such files on disk.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { decodeFrame, frameLength, frameOffsetOf, scanFrames } from '../../../src/format/record.js';
import {
  SEGMENT_FOOTER_BYTES,
  SEGMENT_HEADER_BYTES,
  decodeHeader,
  tryDecodeFooter,
} from '../../../src/format/segment.js';
import { SEALED, UNSEALED } from '../../../support/golden-content.js';
import { FIXTURES_DIR } from '../../../support/paths.js';
import { sameBytes } from '../../../support/tmp.js';

function fixture(name: string): Uint8Array {
  const buf = readFileSync(join(FIXTURES_DIR, name));
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Decodes record `i` of a data region with the format's own decoder (test/unit/format/record.test.ts pins its byte offsets by hand). */
function recordAt(data: Uint8Array, i: number): { timestamp: number; payload: Uint8Array } {
  const { timestamp, payload } = decodeFrame(data, frameOffsetOf(data, 0, data.length, i));
  return { timestamp, payload };
}

describe('golden segment v1, sealed', () => {
  const file = fixture(SEALED.file);

  test('is the committed file (fixtures are frozen; see make-fixtures.ts)', () => {
    assert.equal(file.length, 592);
    assert.equal(sha256(file), '2e817e3d53bf600a70bc6a5548497b677382c407b79189ebc550a55750f397c1');
  });

  test('header decodes to the values it was written with', () => {
    assert.deepEqual(decodeHeader(file), { segmentBytes: 4096, baseId: 1000, createdAt: 1_700_000_000_000 });
    // Raw bytes too: magic, version 1, header length 64, little-endian.
    assert.equal(Buffer.from(file.subarray(0, 16)).toString('hex'), '414f463253454700' + '0100' + '4000' + '00100000');
  });

  test('footer decodes and matches the data region', () => {
    const footer = tryDecodeFooter(file, file.length - SEGMENT_FOOTER_BYTES);
    assert.deepEqual(footer, {
      recordCount: 7,
      baseId: 1000,
      dataBytes: 464,
      dataCrc: 0x62f5369c,
      minTimestamp: 1_700_000_000_001,
      maxTimestamp: 1_700_000_000_030,
      sealedAt: 1_700_000_060_000,
    });
    assert.equal(SEGMENT_HEADER_BYTES + 464 + SEGMENT_FOOTER_BYTES, file.length);
    const data = file.subarray(SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES + 464);
    assert.equal(crc32(data), 0x62f5369c);
  });

  test('scans as exactly 7 valid frames, and every record decodes to its payload and timestamp', () => {
    const data = file.subarray(SEGMENT_HEADER_BYTES, file.length - SEGMENT_FOOTER_BYTES);
    assert.deepEqual(scanFrames(data, 0, data.length), {
      count: 7,
      validBytes: 464,
      minTimestamp: 1_700_000_000_001,
      maxTimestamp: 1_700_000_000_030,
      stopReason: null,
    });
    const lengths = [0, 1, 11, 20, 8, 256, 37];
    const timestamps = [1, 2, 3, 10, 5, 20, 30].map((d) => 1_700_000_000_000 + d);
    let expectedOff = 0;
    for (let i = 0; i < 7; i++) {
      const rec = recordAt(data, i);
      assert.equal(frameOffsetOf(data, 0, data.length, i), expectedOff, `record ${i} offset`);
      assert.equal(rec.payload.length, lengths[i], `record ${i} length`);
      assert.equal(rec.timestamp, timestamps[i], `record ${i} timestamp`);
      assert.ok(sameBytes(rec.payload, SEALED.records[i]!.payload), `record ${i} payload`);
      expectedOff += frameLength(lengths[i]!);
    }
    assert.equal(new TextDecoder().decode(recordAt(data, 2).payload), 'hello, aof2');
    assert.equal(new TextDecoder().decode(recordAt(data, 6).payload), 'last record of the golden segment ✓');
    assert.equal(recordAt(data, 5).payload[255], 255);
  });
});

describe('golden segment v1, unsealed with a torn last frame', () => {
  const file = fixture(UNSEALED.file);

  test('is the committed file', () => {
    assert.equal(file.length, 204);
    assert.equal(sha256(file), '3e7e2bc15d8c8edcee3c7d65214c8827739c9b22fa3394fcc30a959d6cb1061c');
  });

  test('has a valid header and no footer', () => {
    assert.deepEqual(decodeHeader(file), { segmentBytes: 4096, baseId: 1007, createdAt: 1_700_000_060_001 });
    assert.equal(tryDecodeFooter(file, file.length - SEGMENT_FOOTER_BYTES), null);
  });

  test('scans as 3 valid frames, stopping at the torn one', () => {
    const data = file.subarray(SEGMENT_HEADER_BYTES);
    const scan = scanFrames(data, 0, data.length);
    assert.deepEqual(scan, {
      count: 3,
      validBytes: 104,
      minTimestamp: 1_700_000_060_002,
      maxTimestamp: 1_700_000_060_004,
      stopReason: 'frame at 104 claims 40 payload bytes, past the end',
    });
    const payloads = [0, 1, 2].map((i) => new TextDecoder().decode(recordAt(data, i).payload));
    assert.deepEqual(payloads, ['tail 0', 'tail record 1', 'tail record number 2, 31 bytes!']);
  });
});
