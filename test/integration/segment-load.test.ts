/**
 * startChunkLoad (src/read/segment-load.ts) on a real sealed segment file and a real arena, with
 * the worker's load function (workers/hydrate.ts loadChunkInto) run in this thread: chunks of
 * whole records, published only together with CLEAN, boundaries learned for the next load,
 * records larger than a chunk, corruption, a segment compressed while it loaded, and the lazy
 * footer check of a segment recovery trusted from the catalog.
 *
 * Regression kept from the whole-segment load: the segment's range (then its slot) was set inside
 * the read, before the run's state moved from HYDRATING to CLEAN. Code that trusts a range's run
 * state could observe a HYDRATING run. The range is published together with CLEAN.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { Arena } from '../../src/arena/arena.js';
import { SlotState } from '../../src/arena/layout.js';
import { AofManager } from '../../src/index.js';
import { startChunkLoad, type ChunkLoaded, type ChunkLoader } from '../../src/read/segment-load.js';
import { ErrorCode } from '../../src/errors.js';
import { loadChunkInto } from '../../workers/hydrate.js';
import { segmentPath, streamDir, tier1Path } from '../../src/format/root-layout.js';
import { Segment, SegmentEventType, SegmentTier } from '../../src/tier0/segment.js';
import type { ChunkLoadTask } from '../../workers/tier1-protocol.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';
import { Deadline } from '../../support/engine.js';
import { RECORD_PAYLOAD_OFFSET, frameLength } from '../../src/format/record.js';
import { SEGMENT_HEADER_BYTES, tryDecodeFooter } from '../../src/format/segment.js';

const SEGMENT_BYTES = 64 * 1024;
const CHUNK = 4096;

/** The pool's task, in this thread: one event-loop turn later, as a worker's answer would come. */
const inThread: ChunkLoader = async (task) => {
  await new Promise<void>((resolve) => setImmediate(resolve));
  return loadChunkInto(task);
};

/** Writes one sealed raw segment of records with the given payload sizes; returns its path and data size. */
async function sealedSegment(root: string, sizes: number[]): Promise<{ path: string; t1: string; dataBytes: number }> {
  const manager = await AofManager.open({ root, tier0: { arenaBytes: 4 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES }, tier1: { enabled: false } });
  const log = await manager.openStream('s');
  sizes.forEach((size, id) => log.appendSync(payloadFor(id, size)));
  await manager.close();
  const dir = streamDir(root, 's');
  return { path: segmentPath(dir, 0), t1: tier1Path(dir, 0), dataBytes: sizes.reduce((sum, size) => sum + frameLength(size), 0) };
}

/** Starts a load of record `index` and waits for it to settle. */
function loadOnce(arena: Arena, seg: Segment, index: number, load: ChunkLoader = inThread, chunk = CHUNK): Promise<ChunkLoaded> {
  return new Promise<ChunkLoaded>((resolve) => assert.equal(startChunkLoad(arena, seg, index, chunk, load, resolve), true));
}

/** The payload of record `index` read from the range holding it. */
function payloadAt(arena: Arena, seg: Segment, index: number, size: number): Uint8Array {
  const range = seg.rangeFor(index);
  assert.ok(range !== null, `record ${index} is in a resident range`);
  // Every record here has `size` payload bytes: offsets are a multiple of the frame.
  const at = arena.base(range.slot) + (index - range.first) * frameLength(size) + RECORD_PAYLOAD_OFFSET;
  return arena.u8.subarray(at, at + size);
}

test('a chunk load brings back the chunk holding the record, whole records only, published with CLEAN; later loads start at learned boundaries', async (t) => {
  const { root, cleanup } = tempRoot('aof2-chunk-load-');
  t.after(cleanup);
  const n = 200;
  const size = 100; // 120-byte frames: an 8 KiB run holds 68 of them
  const { path, t1, dataBytes } = await sealedSegment(root, new Array<number>(n).fill(size));
  const arena = new Arena(4, SEGMENT_BYTES);
  const seg = new Segment(0, path, t1, n, dataBytes, true);
  // A chunk fills its run: readChunkBytes rounded up to whole pages (8 KiB here).
  const perChunk = Math.floor(Math.max(CHUNK, arena.pageBytes) / frameLength(size));

  // A point read far into the segment: the worker walks from (0, 0) to the chunk holding it.
  let done: ChunkLoaded | null = null;
  assert.equal(startChunkLoad(arena, seg, 100, CHUNK, inThread, (l) => (done = l)), true);
  const d = new Deadline('the chunk load to settle', 30_000);
  while (done === null) {
    d.check();
    for (const r of seg.ranges) assert.equal(arena.state(r.slot), SlotState.CLEAN, 'a range is never published before its run is CLEAN');
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  assert.equal(seg.error, null);
  assert.equal(seg.ranges.length, 1);
  const r = seg.ranges[0]!;
  assert.ok(r.first <= 100 && 100 < r.endRecord, `the chunk [${r.first}, ${r.endRecord}) holds record 100`);
  assert.equal(r.first % perChunk, 0, 'chunks tile the segment from a known boundary');
  assert.equal(r.endRecord - r.first, perChunk, 'whole records, as many as fit the chunk');
  assert.equal(r.end - r.start, perChunk * frameLength(size));
  assert.equal(r.start, r.first * frameLength(size));
  assert.deepEqual((done as ChunkLoaded | null)?.bytes, r.end - r.start);
  assert.ok(sameBytes(payloadAt(arena, seg, 100, size), payloadFor(100, size)));
  // The chunk's end is now a known boundary: a load past it starts there.
  assert.deepEqual(seg.boundaryIndex.floor(r.endRecord + 5), [r.end, r.endRecord]);

  // A load below it ends where the loaded chunk begins (chunks tile).
  await loadOnce(arena, seg, 30);
  assert.equal(seg.ranges.length, 2);
  const r2 = seg.rangeFor(30)!;
  assert.deepEqual([r2.first, r2.endRecord], [0, r.first], 'the chunk below ends where the next one starts');
  assert.ok(sameBytes(payloadAt(arena, seg, 30, size), payloadFor(30, size)));
  // The last chunk ends at the segment's end.
  await loadOnce(arena, seg, n - 1);
  const last = seg.rangeFor(n - 1)!;
  assert.deepEqual([last.end, last.endRecord], [dataBytes, n]);
});

test('a record larger than a chunk: the first try reports the size it needs, the next one loads it in a run that large', async (t) => {
  const { root, cleanup } = tempRoot('aof2-chunk-load-');
  t.after(cleanup);
  const sizes = [100, 100, 9000, 100, 100];
  const { path, t1, dataBytes } = await sealedSegment(root, sizes);
  const arena = new Arena(4, SEGMENT_BYTES);
  const seg = new Segment(0, path, t1, sizes.length, dataBytes, true);
  const first = await loadOnce(arena, seg, 2);
  assert.deepEqual([first.bytes, seg.ranges.length, seg.error], [0, 0, null], 'nothing published, no failure');
  assert.equal(arena.occupancy().hydrating, 0, 'the small run went back');
  await loadOnce(arena, seg, 2);
  const range = seg.rangeFor(2);
  assert.ok(range !== null && range.first <= 2 && range.endRecord > 2);
  const at = arena.base(range.slot) + (range.first === 2 ? 0 : 2 * frameLength(100)) + RECORD_PAYLOAD_OFFSET;
  assert.ok(sameBytes(arena.u8.subarray(at, at + 9000), payloadFor(2, 9000)));
});

test('an arena fragmented into one-page windows: a chunk load takes a smaller run instead of waiting for a block of a chunk', async (t) => {
  const { root, cleanup } = tempRoot('aof2-chunk-load-');
  t.after(cleanup);
  const n = 200;
  const size = 100;
  const { path, t1, dataBytes } = await sealedSegment(root, new Array<number>(n).fill(size));
  const arena = new Arena(2, SEGMENT_BYTES); // 16 pages of 8 KiB
  const windows = { slotReleased: (): void => undefined };
  const pages: number[] = [];
  for (let i = 0; i < arena.pages; i++) pages.push(arena.acquire(windows, SlotState.ACTIVE, arena.pageBytes));
  // Every other page free again: 8 free pages, no two of them adjacent, the rest ACTIVE (never evicted).
  for (const page of pages) if (page % 2 === 1) arena.release(page);
  const seg = new Segment(0, path, t1, n, dataBytes, true);
  const loaded = await loadOnce(arena, seg, 150, inThread, 4 * arena.pageBytes);
  assert.equal(seg.error, null);
  const range = seg.rangeFor(150);
  assert.ok(range !== null && loaded.bytes > 0 && loaded.bytes <= arena.pageBytes, `a one-page chunk (${loaded.bytes} bytes)`);
  assert.ok(sameBytes(payloadAt(arena, seg, 150, size), payloadFor(150, size)));
});

test('a chunk whose frame fails its CRC is AOF_ERR_CORRUPT with the file offset; its run is released; other chunks still load', async (t) => {
  const { root, cleanup } = tempRoot('aof2-chunk-load-');
  t.after(cleanup);
  const n = 200;
  const size = 100;
  const { path, t1, dataBytes } = await sealedSegment(root, new Array<number>(n).fill(size));
  // Flip one payload byte of record 150 on disk.
  const bytes = readFileSync(path);
  const bad = SEGMENT_HEADER_BYTES + 150 * frameLength(size) + RECORD_PAYLOAD_OFFSET;
  bytes[bad] = bytes[bad]! ^ 0xff;
  writeFileSync(path, bytes);

  const arena = new Arena(4, SEGMENT_BYTES);
  const seg = new Segment(0, path, t1, n, dataBytes, true);
  await loadOnce(arena, seg, 150);
  assert.equal(seg.ranges.length, 0, 'a damaged chunk is never published');
  assert.equal(arena.occupancy().hydrating, 0, 'the run went back');
  assert.equal(seg.error?.code, ErrorCode.CORRUPT);
  assert.equal(seg.error.details?.['path'], path);
  assert.equal(seg.error.details?.['offset'], SEGMENT_HEADER_BYTES + 150 * frameLength(size));
  // Records before the damage still load (the walk to record 150 learned their boundaries).
  await loadOnce(arena, seg, 10);
  assert.equal(seg.error, null);
  assert.ok(sameBytes(payloadAt(arena, seg, 10, size), payloadFor(10, size)));
});

test('a chunk load whose file was removed because the segment was compressed meanwhile is no failure: the reader retries on the new tier', async (t) => {
  const { root, cleanup } = tempRoot('aof2-chunk-load-');
  t.after(cleanup);
  const dir = streamDir(root, 's');
  const arena = new Arena(4, SEGMENT_BYTES);
  const seg = new Segment(0, segmentPath(dir, 0), tier1Path(dir, 0), 1, frameLength(100), true);
  // Tier 1 finished between the load's start and the worker's open: tier moved on, file gone.
  const compressedMeanwhile: ChunkLoader = async (task) => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    seg.apply({ type: SegmentEventType.COMPRESSION_DONE, frameIndex: [], compressedBytes: 64, frameCount: 1 });
    return loadChunkInto(task); // ENOENT: the raw file is not there
  };
  await loadOnce(arena, seg, 0, compressedMeanwhile);
  assert.equal(seg.error, null, 'not recorded as a failure of the segment');
  assert.equal(seg.ranges.length, 0);
  assert.equal(arena.occupancy().hydrating, 0, 'the run went back');

  // A segment that is still raw when its file is missing is a real failure.
  const still = new Segment(0, segmentPath(dir, 0), tier1Path(dir, 0), 1, frameLength(100), true);
  await loadOnce(arena, still, 0);
  assert.equal(still.error?.code, ErrorCode.IO);
});

test('lazy footers: the first load of a segment trusted from the catalog checks its file first, once; a file that disagrees is AOF_ERR_CORRUPT (details.footerCheck), nothing published', async (t) => {
  const { root, cleanup } = tempRoot('aof2-chunk-load-');
  t.after(cleanup);
  const n = 50;
  const size = 100;
  const { path, t1, dataBytes } = await sealedSegment(root, new Array<number>(n).fill(size));
  const footer = tryDecodeFooter(new Uint8Array(readFileSync(path)), SEGMENT_HEADER_BYTES + dataBytes)!;
  assert.equal(footer.recordCount, n);
  // What recovery builds from a catalog entry: count, size and CRC as recorded, file never opened.
  const fromCatalog = (dataCrc = footer.dataCrc): Segment =>
    Segment.restored(0, path, t1, { count: n, dataBytes, tier: SegmentTier.RAW, dataCrc, maxTimestamp: 0, compressedBytes: 0, frameCount: 0, frameIndex: null, uploaded: false, footerUnchecked: true });
  const arena = new Arena(4, SEGMENT_BYTES);
  const tasks: ChunkLoadTask[] = [];
  const recording: ChunkLoader = (task) => {
    tasks.push(task);
    return inThread(task);
  };

  const seg = fromCatalog();
  assert.equal(seg.footerUnchecked, true);
  const first = await loadOnce(arena, seg, 10, recording);
  assert.equal(first.footer, 'checked');
  assert.deepEqual(tasks[0]!.sealed, { baseId: 0, recordCount: n, dataBytes, dataCrc: footer.dataCrc });
  assert.equal(seg.error, null);
  assert.equal(seg.footerUnchecked, false);
  assert.ok(sameBytes(payloadAt(arena, seg, 10, size), payloadFor(10, size)));
  const again = await loadOnce(arena, seg, n - 1, recording);
  assert.equal(again.footer, null, 'checked once per segment');
  assert.equal(tasks[1]!.sealed, null);

  // The catalog recorded another data CRC: the file does not agree with it.
  const mismatched = fromCatalog((footer.dataCrc ^ 1) >>> 0);
  const bad = await loadOnce(arena, mismatched, 10);
  assert.equal(bad.footer, 'bad');
  assert.equal(mismatched.error?.code, ErrorCode.CORRUPT);
  assert.equal(mismatched.error.details?.['footerCheck'], 'mismatch');
  assert.equal(mismatched.error.details?.['path'], path);
  assert.equal(mismatched.ranges.length, 0, 'nothing published');
  assert.equal(mismatched.footerUnchecked, true);
  assert.equal(arena.occupancy().hydrating, 0, 'the run went back');

  // The footer cut off (a truncated file): never read as records, whatever the frames hold.
  truncateSync(path, SEGMENT_HEADER_BYTES + dataBytes);
  const truncated = fromCatalog();
  assert.equal((await loadOnce(arena, truncated, 10)).footer, 'bad');
  assert.equal(truncated.error?.code, ErrorCode.CORRUPT);
  assert.equal(truncated.error.details?.['footerCheck'], 'footer');
  assert.match(truncated.error.message, /recorded as sealed \(ids 0\.\.49, \d+ data bytes\) but its footer is missing or damaged/);
});
