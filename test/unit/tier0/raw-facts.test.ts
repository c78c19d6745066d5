/**
 * readRawFacts on real files: the footer CRC of an unsealed tail, with and without the running CRC
 * the flush worker records in the segment header (docs/formats.md, segment header bytes 36-43).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { encodeFrame, frameLength, inspectFrames, scanFrames } from '../../../src/format/record.js';
import { SEGMENT_HEADER_BYTES, encodeHeaderInto, type SegmentHeader } from '../../../src/format/segment.js';
import { readRawFacts } from '../../../src/tier0/recovery.js';
import { tempRoot } from '../../../support/tmp.js';

const BASE_ID = 1000;
const RECORDS = 40;

/** An unsealed segment file of RECORDS frames (no footer), with `header`'s durable length and prefix. */
function tailFile(dir: string, header: Partial<SegmentHeader>): { path: string; data: Uint8Array } {
  const frames = Array.from({ length: RECORDS }, (_, i) => new Uint8Array(10 + ((i * 37) % 200)).fill(i + 1));
  const dataBytes = frames.reduce((n, p) => n + frameLength(p.length), 0);
  const file = new Uint8Array(SEGMENT_HEADER_BYTES + dataBytes);
  encodeHeaderInto(file, 0, { segmentBytes: 1 << 20, baseId: BASE_ID, createdAt: 1_700_000_000_000, ...header });
  let off = SEGMENT_HEADER_BYTES;
  for (const [i, payload] of frames.entries()) off = encodeFrame(file, off, payload, 1_700_000_000_000 + i);
  const path = join(dir, 'tail.seg');
  writeFileSync(path, file);
  return { path, data: file.subarray(SEGMENT_HEADER_BYTES) };
}

test('the footer CRC of a tail without a recorded prefix is the CRC of its valid data', async (t) => {
  const { root, cleanup } = tempRoot('aof2-raw-facts-');
  t.after(cleanup);
  const { path, data } = tailFile(root, {});
  const facts = await readRawFacts(path, BASE_ID);
  assert.equal(facts.scan?.count, RECORDS);
  assert.equal(facts.scan?.dataCrc, crc32(data));
});

test("a recorded prefix is continued, not recomputed: only the bytes past it are CRCed", async (t) => {
  const { root, cleanup } = tempRoot('aof2-raw-facts-');
  t.after(cleanup);
  const crcBytes = 1024;
  // The true prefix CRC gives the data's CRC.
  const probe = tailFile(root, {});
  const good = tailFile(root, { durableBytes: crcBytes, prefix: { crcBytes, prefixCrc: crc32(probe.data.subarray(0, crcBytes)) } });
  assert.equal((await readRawFacts(good.path, BASE_ID)).scan?.dataCrc, crc32(good.data));
  // A different prefix CRC shows the bytes below crcBytes were not read for it: the result is that
  // CRC continued over the rest. (Bytes that changed under a valid frame walk, padding, are caught
  // by the compressor's and aof2-admin verify's checks of the file against its footer.)
  const hinted = tailFile(root, { durableBytes: crcBytes, prefix: { crcBytes, prefixCrc: 0x1234_5678 } });
  assert.equal((await readRawFacts(hinted.path, BASE_ID)).scan?.dataCrc, crc32(hinted.data.subarray(crcBytes), 0x1234_5678));
});

test('a recorded prefix longer than the valid data (a tail torn below it) is ignored: the CRC is recomputed', async (t) => {
  const { root, cleanup } = tempRoot('aof2-raw-facts-');
  t.after(cleanup);
  const { path, data } = tailFile(root, { prefix: { crcBytes: 1 << 19, prefixCrc: 0x1234_5678 } });
  const facts = await readRawFacts(path, BASE_ID);
  assert.equal(facts.scan?.validBytes, data.length);
  assert.equal(facts.scan?.dataCrc, crc32(data));
});

/** A tail of `records` frames of 1000-byte payloads (frames straddle the 4 MiB read pieces). */
function bigTail(dir: string, records: number): { path: string; file: Uint8Array; offsets: number[] } {
  const frame = frameLength(1000);
  const file = new Uint8Array(SEGMENT_HEADER_BYTES + records * frame);
  encodeHeaderInto(file, 0, { segmentBytes: 1 << 24, baseId: BASE_ID, createdAt: 1_700_000_000_000 });
  const offsets: number[] = [];
  let off = SEGMENT_HEADER_BYTES;
  for (let i = 0; i < records; i++) {
    offsets.push(off);
    off = encodeFrame(file, off, new Uint8Array(1000).fill(i % 251), 1_700_000_000_000 + ((i * 7919) % records));
  }
  const path = join(dir, 'big.seg');
  writeFileSync(path, file);
  return { path, file, offsets };
}

test('a tail read in pieces walks frames across the piece boundaries: counts, timestamps and CRC as one walk', async (t) => {
  const { root, cleanup } = tempRoot('aof2-raw-facts-');
  t.after(cleanup);
  const records = 9_000; // ~9 MiB: three pieces, frames of 1,016 bytes straddle each boundary
  const { path, file } = bigTail(root, records);
  const data = file.subarray(SEGMENT_HEADER_BYTES);
  const scan = (await readRawFacts(path, BASE_ID)).scan!;
  const whole = scanFrames(data, 0, data.length);
  assert.deepEqual([scan.count, scan.validBytes, scan.minTimestamp, scan.maxTimestamp, scan.tailBytes, scan.damage], [records, data.length, whole.minTimestamp, whole.maxTimestamp, 0, null]);
  assert.equal(scan.dataCrc, crc32(data));
});

test('damage in a later piece, and a torn last frame, are judged by the one rule (inspectFrames) as for a whole read', async (t) => {
  const { root, cleanup } = tempRoot('aof2-raw-facts-');
  t.after(cleanup);
  const records = 9_000;
  const { path, file, offsets } = bigTail(root, records);
  // A payload byte flipped in the second piece, valid frames after it: damage, offsets as inspectFrames gives.
  const victim = offsets[5_000]!;
  file[victim + 100] = file[victim + 100]! ^ 0x40;
  writeFileSync(path, file);
  const data = file.subarray(SEGMENT_HEADER_BYTES);
  const damaged = (await readRawFacts(path, BASE_ID)).scan!;
  const expected = inspectFrames(data, 0, data.length, 0);
  assert.ok(damaged.damage !== null, 'damage found');
  assert.deepEqual(damaged.damage, expected.damage);
  assert.equal(damaged.count, 5_000);
  // Repaired, then cut in the middle of the last frame: a torn tail, every whole frame kept.
  file[victim + 100] = file[victim + 100]! ^ 0x40;
  writeFileSync(path, file.subarray(0, file.length - 500));
  const torn = (await readRawFacts(path, BASE_ID)).scan!;
  assert.deepEqual([torn.count, torn.damage, torn.tailBytes], [records - 1, null, frameLength(1000) - 500]);
});
