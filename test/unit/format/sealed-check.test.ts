/**
 * The rule a sealed raw segment file is held to when it is first touched after recovery trusted it
 * from the catalog (src/format/sealed-check.ts `checkSealedFile`): one case per way a file can
 * disagree with what was recorded of it, each an AOF_ERR_CORRUPT naming the problem in
 * `details.footerCheck`, and a header from a newer aof2 reported as incompatible, not as damage.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode } from '../../../src/errors.js';
import { sealEnvelope } from '../../../src/format/envelope.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, encodeFooterInto, encodeHeaderInto } from '../../../src/format/segment.js';
import { checkSealedFile, type RecordedSegment } from '../../../src/format/sealed-check.js';

const RECORDED: RecordedSegment = { baseId: 40, recordCount: 5, dataBytes: 600, dataCrc: 0x1234_5678 };
const SIZE = SEGMENT_HEADER_BYTES + RECORDED.dataBytes + SEGMENT_FOOTER_BYTES;

function head(baseId = RECORDED.baseId): Uint8Array {
  const bytes = new Uint8Array(SEGMENT_HEADER_BYTES);
  encodeHeaderInto(bytes, 0, { segmentBytes: 4096, baseId, createdAt: 1 });
  return bytes;
}

function foot(changes: Partial<RecordedSegment> = {}): Uint8Array {
  const bytes = new Uint8Array(SEGMENT_FOOTER_BYTES);
  encodeFooterInto(bytes, 0, { ...RECORDED, ...changes, minTimestamp: 1, maxTimestamp: 2, sealedAt: 3 });
  return bytes;
}

function problemOf(size: number, h: Uint8Array, f: Uint8Array): string | null {
  const err = checkSealedFile('streams/s/x.seg', size, h, f, RECORDED);
  if (err === null) return null;
  assert.equal(err.code, ErrorCode.CORRUPT);
  assert.equal(err.details?.['path'], 'streams/s/x.seg');
  assert.deepEqual(err.details?.['recorded'], RECORDED);
  assert.match(err.message, /recorded as sealed \(ids 40\.\.44, 600 data bytes\)/);
  return err.details?.['footerCheck'] as string;
}

describe('checkSealedFile', () => {
  test('a file that agrees with the record: null', () => {
    assert.equal(problemOf(SIZE, head(), foot()), null);
  });

  test('each way to disagree is named', () => {
    const damagedHead = head();
    damagedHead[20] = damagedHead[20]! ^ 1;
    const damagedFoot = foot();
    damagedFoot[30] = damagedFoot[30]! ^ 1;
    const cases: [string, number, Uint8Array, Uint8Array, string][] = [
      ['damaged header', SIZE, damagedHead, foot(), 'header'],
      ['shorter than a header', 10, new Uint8Array(10), new Uint8Array(10), 'header'],
      ['header of another segment', SIZE, head(41), foot(), 'base-id'],
      ['damaged footer', SIZE, head(), damagedFoot, 'footer'],
      ['truncated: no footer where the length ends', SIZE - 100, head(), new Uint8Array(SEGMENT_FOOTER_BYTES), 'footer'],
      ['extended: the footer is not at the end', SIZE + 8, head(), foot(), 'footer'],
      ['footer of another segment', SIZE, head(), foot({ baseId: 41 }), 'footer'],
      ['a valid shorter file', SIZE - 120, head(), foot({ recordCount: 4, dataBytes: 480 }), 'fewer-records'],
      ['more records than recorded', SIZE, head(), foot({ recordCount: 6 }), 'mismatch'],
      ['another data CRC', SIZE, head(), foot({ dataCrc: 1 }), 'mismatch'],
    ];
    for (const [what, size, h, f, problem] of cases) assert.equal(problemOf(size, h, f), problem, what);
  });

  test('a header written by a newer aof2 is AOF_ERR_INCOMPATIBLE, not damage', () => {
    const newer = head();
    new DataView(newer.buffer).setUint16(8, 99, true); // the envelope's version
    sealEnvelope(newer, 0);
    const err = checkSealedFile('x.seg', SIZE, newer, foot(), RECORDED);
    assert.equal(err?.code, ErrorCode.INCOMPATIBLE);
    assert.equal(err.details?.['path'], 'x.seg');
  });
});
