/**
 * The tail a read-only manager reads beside a live writer (src/read-only/stream-tail.ts), on
 * segment files built byte by byte: only whole, CRC-valid frames count; a frame being written,
 * zeros or a footer end what is visible without being called damage; files must continue each
 * other; a file read incrementally grows, a backlog of several reads in one scan, and each scan
 * hands on the frames it added (when one read brought them); a file cut below what was shown, and a
 * writer's larger segments, are coded errors. Each test runs with synchronous reads (the default on
 * a local file system: a backlog past the first 256 KiB reads its rest through the pool) and with
 * reads through the libuv pool (src/read-only/tail-reads.ts).
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AofError, ErrorCode } from '../../../src/errors.js';
import { encodeFrame, frameLength } from '../../../src/format/record.js';
import { segmentPath } from '../../../src/format/root-layout.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, encodeFooterInto, encodeHeaderInto } from '../../../src/format/segment.js';
import { StreamTail, newScanScratch } from '../../../src/read-only/stream-tail.js';
import { payloadFor, tempRoot } from '../../../support/tmp.js';

const MODES = [
  ['sync reads', true],
  ['pool reads', false],
] as const;
const SEGMENT_BYTES = 64 * 1024;
const SIZE = 40;
const FRAME = frameLength(SIZE);

function header(baseId: number, durableBytes = 0, segmentBytes = SEGMENT_BYTES): Uint8Array {
  const out = new Uint8Array(SEGMENT_HEADER_BYTES);
  encodeHeaderInto(out, 0, { segmentBytes, baseId, createdAt: 1, ...(durableBytes > 0 && { durableBytes }) });
  return out;
}

/** Frames of records [from, from + count). */
function frames(from: number, count: number): Uint8Array {
  const out = new Uint8Array(count * FRAME);
  for (let i = 0; i < count; i++) encodeFrame(out, i * FRAME, payloadFor(from + i, SIZE), 1000 + i);
  return out;
}

function stream(): { dir: string; cleanup: () => void } {
  const { root, cleanup } = tempRoot('aof2-tail-');
  const dir = join(root, 'streams', 's');
  mkdirSync(dir, { recursive: true });
  return { dir, cleanup };
}

for (const [mode, sync] of MODES) test(`${mode}: whole valid frames count; a frame being written is not visible yet, then is`, async (t) => {
  const { dir, cleanup } = stream();
  t.after(cleanup);
  const path = segmentPath(dir, 0);
  const ten = frames(0, 10);
  writeFileSync(path, header(0, 3 * FRAME));
  appendFileSync(path, ten.subarray(0, 7 * FRAME + 5)); // the 8th frame cut short
  const tail = new StreamTail(dir, SEGMENT_BYTES, newScanScratch(SEGMENT_BYTES), sync);
  t.after(() => tail.close());
  assert.deepEqual(await tail.scan(0), [
    { baseId: 0, path, count: 7, dataBytes: 7 * FRAME, durableBytes: 3 * FRAME, fresh: { start: 0, first: 0, end: 7, bytes: ten.subarray(0, 7 * FRAME) } },
  ]);
  appendFileSync(path, ten.subarray(7 * FRAME + 5));
  writeFileSync(path, header(0, 10 * FRAME), { flag: 'r+' }); // the writer's header rewrite after its fsync
  const [grown] = await tail.scan(0, false);
  assert.deepEqual([grown!.count, grown!.dataBytes, grown!.durableBytes], [10, 10 * FRAME, 10 * FRAME]);
  assert.deepEqual(grown!.fresh, { start: 7 * FRAME, first: 7, end: 10, bytes: ten.subarray(7 * FRAME) }, 'the frames this scan added, checked');
  assert.equal(tail.scannedBytes, 10 * FRAME, 'each byte was checked once');
  assert.equal((await tail.scan(0, false))[0]!.fresh, null, 'nothing new: nothing fresh');
});

for (const [mode, sync] of MODES) test(`${mode}: a backlog larger than one read is read whole in one scan, not handed on as fresh frames (chunk loads read it); the next small growth is`, async (t) => {
  const { dir, cleanup } = stream();
  t.after(cleanup);
  const segmentBytes = 2 * 1024 * 1024;
  const path = segmentPath(dir, 0);
  const count = Math.ceil((1.2 * 1024 * 1024) / FRAME); // more than a piece (1 MiB) too
  writeFileSync(path, header(0, 0, segmentBytes));
  appendFileSync(path, frames(0, count));
  // A scratch smaller than the backlog (newScanScratch sizes it for a whole segment: below).
  const tail = new StreamTail(dir, segmentBytes, new Uint8Array(64 * 1024), sync);
  t.after(() => tail.close());
  const [backlog] = await tail.scan(0);
  assert.deepEqual([backlog!.count, backlog!.fresh], [count, null]);
  appendFileSync(path, frames(count, 3));
  const [grown] = await tail.scan(0, false);
  assert.deepEqual(grown!.fresh, { start: count * FRAME, first: count, end: count + 3, bytes: frames(count, 3) });
  // A scratch of a segment's size: the same backlog in one read, handed on whole.
  const whole = new StreamTail(dir, segmentBytes, newScanScratch(segmentBytes), sync);
  t.after(() => whole.close());
  const [all] = await whole.scan(0);
  assert.deepEqual([all!.count, all!.fresh?.end, all!.fresh?.bytes.length], [count + 3, count + 3, (count + 3) * FRAME]);
});

for (const [mode, sync] of MODES) test(`${mode}: a header being rewritten (read half old, half new) does not stop the frames once a good one was read`, async (t) => {
  const { dir, cleanup } = stream();
  t.after(cleanup);
  const path = segmentPath(dir, 0);
  const six = frames(0, 6);
  writeFileSync(path, header(0).map((b, i) => (i === 20 ? b ^ 1 : b))); // a first header not whole yet
  appendFileSync(path, six.subarray(0, 2 * FRAME));
  const tail = new StreamTail(dir, SEGMENT_BYTES, newScanScratch(SEGMENT_BYTES), sync);
  t.after(() => tail.close());
  assert.deepEqual(await tail.scan(0), [], 'no good header yet: nothing is visible');
  writeFileSync(path, header(0, 2 * FRAME), { flag: 'r+' });
  assert.equal((await tail.scan(0, false))[0]!.count, 2);
  writeFileSync(path, header(0).map((b, i) => (i === 40 ? b ^ 1 : b)), { flag: 'r+' }); // a rewrite caught half way
  appendFileSync(path, six.subarray(2 * FRAME));
  const [file] = await tail.scan(0, false);
  assert.deepEqual([file!.count, file!.durableBytes], [6, 2 * FRAME], 'the frames go on; the durable length seen last stays');
});

for (const [mode, sync] of MODES) test(`${mode}: settle: a file the manifest now records is read once more for its last frames, then let go`, async (t) => {
  const { dir, cleanup } = stream();
  t.after(cleanup);
  const path = segmentPath(dir, 0);
  const eight = frames(0, 8);
  writeFileSync(path, header(0));
  appendFileSync(path, eight.subarray(0, 5 * FRAME));
  const tail = new StreamTail(dir, SEGMENT_BYTES, newScanScratch(SEGMENT_BYTES), sync);
  t.after(() => tail.close());
  assert.equal((await tail.scan(0))[0]!.count, 5);
  assert.deepEqual(await tail.settle(0), [], 'files at or past fromId stay');
  appendFileSync(path, eight.subarray(5 * FRAME)); // the writer's last frames, then its footer
  const footer = new Uint8Array(SEGMENT_FOOTER_BYTES);
  encodeFooterInto(footer, 0, { recordCount: 8, baseId: 0, dataBytes: 8 * FRAME, dataCrc: 0, minTimestamp: 0, maxTimestamp: 0, sealedAt: 0 });
  appendFileSync(path, footer);
  const settled = await tail.settle(8);
  assert.deepEqual(
    settled.map((f) => [f.baseId, f.count, f.fresh]),
    [[0, 8, { start: 5 * FRAME, first: 5, end: 8, bytes: eight.subarray(5 * FRAME) }]],
  );
  assert.deepEqual(await tail.settle(8), [], 'let go: nothing more to settle');
  assert.deepEqual(await tail.scan(8), []);
});

for (const [mode, sync] of MODES) test(`${mode}: zeros, a bad CRC and a footer end what is visible; nothing after them counts`, async (t) => {
  const { dir, cleanup } = stream();
  t.after(cleanup);
  const path = segmentPath(dir, 0);
  const data = frames(0, 6);
  data.fill(0, 3 * FRAME, 4 * FRAME); // a page not written yet, with whole frames after it
  writeFileSync(path, header(0));
  appendFileSync(path, data);
  const tail = new StreamTail(dir, SEGMENT_BYTES, newScanScratch(SEGMENT_BYTES), sync);
  t.after(() => tail.close());
  assert.equal((await tail.scan(0))[0]!.count, 3);
  const other = segmentPath(dir, 100);
  const bad = frames(100, 4);
  bad[2 * FRAME + 20]! ^= 0xff; // a payload byte of the third frame
  writeFileSync(other, header(100));
  appendFileSync(other, bad);
  const footer = new Uint8Array(SEGMENT_FOOTER_BYTES);
  encodeFooterInto(footer, 0, { recordCount: 2, baseId: 100, dataBytes: 2 * FRAME, dataCrc: 0, minTimestamp: 0, maxTimestamp: 0, sealedAt: 0 });
  const third = new StreamTail(dir, SEGMENT_BYTES, newScanScratch(SEGMENT_BYTES), sync);
  t.after(() => third.close());
  assert.equal((await third.scan(100))[0]!.count, 2);
  const sealed = segmentPath(dir, 200);
  writeFileSync(sealed, header(200));
  appendFileSync(sealed, frames(200, 2));
  appendFileSync(sealed, footer);
  assert.equal((await third.scan(200))[0]!.count, 2, 'a footer is not a frame');
});

for (const [mode, sync] of MODES) test(`${mode}: files must continue each other; a later file shows once the one before reaches its base id`, async (t) => {
  const { dir, cleanup } = stream();
  t.after(cleanup);
  const first = segmentPath(dir, 0);
  const second = segmentPath(dir, 10);
  const ten = frames(0, 10);
  writeFileSync(first, header(0));
  appendFileSync(first, ten.subarray(0, 8 * FRAME)); // its last two frames not written yet
  writeFileSync(second, header(10));
  appendFileSync(second, frames(10, 3)); // the next file already has frames
  const tail = new StreamTail(dir, SEGMENT_BYTES, newScanScratch(SEGMENT_BYTES), sync);
  t.after(() => tail.close());
  assert.deepEqual((await tail.scan(0)).map((f) => [f.baseId, f.count]), [[0, 8]]);
  appendFileSync(first, ten.subarray(8 * FRAME));
  assert.deepEqual((await tail.scan(0)).map((f) => [f.baseId, f.count]), [[0, 10], [10, 3]]);
  assert.deepEqual((await tail.scan(10)).map((f) => [f.baseId, f.count]), [[10, 3]], 'recorded files are let go');
  assert.deepEqual(await tail.scan(13), [], 'nothing past the last file');
});

for (const [mode, sync] of MODES) test(`${mode}: a file cut below what was shown, and segments larger than the reader’s, are coded errors`, async (t) => {
  const { dir, cleanup } = stream();
  t.after(cleanup);
  const path = segmentPath(dir, 0);
  writeFileSync(path, header(0));
  appendFileSync(path, frames(0, 5));
  const tail = new StreamTail(dir, SEGMENT_BYTES, newScanScratch(SEGMENT_BYTES), sync);
  t.after(() => tail.close());
  assert.equal((await tail.scan(0))[0]!.count, 5);
  truncateSync(path, SEGMENT_HEADER_BYTES + 2 * FRAME);
  await assert.rejects(tail.scan(0), (err: unknown) => err instanceof AofError && err.code === ErrorCode.CORRUPT);
  const big = segmentPath(dir, 500);
  writeFileSync(big, header(500, 0, 2 * SEGMENT_BYTES));
  appendFileSync(big, frames(500, 1));
  const other = new StreamTail(dir, SEGMENT_BYTES, newScanScratch(SEGMENT_BYTES), sync);
  t.after(() => other.close());
  await assert.rejects(other.scan(500), (err: unknown) => err instanceof AofError && err.code === ErrorCode.INVALID_ARGUMENT);
});
