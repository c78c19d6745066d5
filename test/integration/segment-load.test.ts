/**
 * startSegmentLoad (src/read/segment-load.ts) on a real sealed segment file and a real arena, with
 * the worker's load function (workers/hydrate.ts loadSegmentInto) run in this thread.
 *
 * Regression: the segment's `slot` was set inside the read, before the slot's state moved from
 * HYDRATING to CLEAN (a whole file close later). Code that trusts a segment's slot state — Tier 1's
 * sealing watcher took "not SEALING, not CLEAN" for a failed flush and silently dropped the segment
 * (never recorded, never compressed) — could observe the segment in a HYDRATING slot. The slot is
 * now published together with CLEAN.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena } from '../../src/arena/arena.js';
import { SlotState } from '../../src/arena/layout.js';
import { AofManager } from '../../src/index.js';
import { startSegmentLoad, type SegmentLoader } from '../../src/read/segment-load.js';
import { ErrorCode } from '../../src/errors.js';
import { loadSegmentInto } from '../../workers/hydrate.js';
import { segmentPath, streamDir, tier1Path } from '../../src/format/root-layout.js';
import { Segment, SegmentEventType } from '../../src/tier0/segment.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';
import { Deadline } from '../../support/engine.js';
import { RECORD_PAYLOAD_OFFSET, frameLength } from '../../src/format/record.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { SEGMENT_HEADER_BYTES } from '../../src/format/segment.js';

const SEGMENT_BYTES = 64 * 1024;

/** The pool's task, in this thread: one event-loop turn later, as a worker's answer would come. */
const inThread: SegmentLoader = async (task) => {
  await new Promise<void>((resolve) => setImmediate(resolve));
  loadSegmentInto(task);
};

test('a raw hydration publishes seg.slot only once the slot is CLEAN, with the data in place', async (t) => {
  const { root, cleanup } = tempRoot('aof2-hydrate-unit-');
  t.after(cleanup);
  // A sealed raw segment file written by the engine (Tier 1 off, so it stays raw).
  const n = 50;
  const manager = await AofManager.open({ root, tier0: { arenaBytes: 2 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES }, tier1: { enabled: false } });
  const log = await manager.openStream('s');
  for (let id = 0; id < n; id++) log.appendSync(payloadFor(id, 100 + id));
  await manager.close();
  let dataBytes = 0;
  for (let id = 0; id < n; id++) dataBytes += frameLength(100 + id);

  const dir = streamDir(root, 's');
  const arena = new Arena(2, SEGMENT_BYTES, 4096);
  for (let round = 0; round < 20; round++) {
    const seg = new Segment(0, segmentPath(dir, 0), tier1Path(dir, 0), n, dataBytes, true);
    let done = false;
    assert.equal(startSegmentLoad(arena, seg, inThread, () => (done = true)), true);
    // Observe at every turn of the event loop (and every microtask hop of the hydration itself).
    let observations = 0;
    const d = new Deadline(`hydration round ${round} to settle`, 30_000);
    while (!done) {
      d.check();
      if (seg.slot >= 0) assert.equal(arena.state(seg.slot), SlotState.CLEAN, 'a segment must never point at a HYDRATING slot');
      observations++;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    assert.ok(observations > 0);
    assert.equal(seg.error, null);
    assert.ok(seg.slot >= 0);
    assert.equal(arena.state(seg.slot), SlotState.CLEAN);
    // The bytes are in place: the first record's payload.
    const at = arena.base(seg.slot) + RECORD_PAYLOAD_OFFSET;
    assert.ok(sameBytes(arena.u8.subarray(at, at + 100), payloadFor(0, 100)));
    arena.release(seg.slot);
  }
});

test('a raw segment whose data fails its CRC is AOF_ERR_CORRUPT with details, and its slot is released', async (t) => {
  const { root, cleanup } = tempRoot('aof2-hydrate-unit-');
  t.after(cleanup);
  const n = 20;
  const manager = await AofManager.open({ root, tier0: { arenaBytes: 2 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES }, tier1: { enabled: false } });
  const log = await manager.openStream('s');
  for (let id = 0; id < n; id++) log.appendSync(payloadFor(id, 100));
  await manager.close();
  const dataBytes = n * frameLength(100);
  const dir = streamDir(root, 's');
  // Flip one payload byte of the first record on disk (past the 64-byte segment header).
  const path = segmentPath(dir, 0);
  const bytes = readFileSync(path);
  bytes[SEGMENT_HEADER_BYTES + RECORD_PAYLOAD_OFFSET] = bytes[SEGMENT_HEADER_BYTES + RECORD_PAYLOAD_OFFSET]! ^ 0xff;
  writeFileSync(path, bytes);

  const arena = new Arena(2, SEGMENT_BYTES, 4096);
  const seg = new Segment(0, path, tier1Path(dir, 0), n, dataBytes, true);
  const settled = new Promise<void>((resolve) => assert.equal(startSegmentLoad(arena, seg, inThread, resolve), true));
  await settled;
  assert.equal(seg.slot, -1, 'a damaged segment is never published');
  assert.equal(arena.occupancy().hydrating, 0, 'the slot went back');
  assert.equal(seg.error?.code, ErrorCode.CORRUPT);
  const details = seg.error.details ?? {};
  assert.equal(details['path'], path);
  assert.equal(typeof details['stored'], 'number');
  assert.equal(typeof details['actual'], 'number');
  assert.notEqual(details['stored'], details['actual']);
});

test('a raw load whose file was removed because the segment was compressed meanwhile is no failure: the reader retries on the new tier', async (t) => {
  const { root, cleanup } = tempRoot('aof2-hydrate-unit-');
  t.after(cleanup);
  const dir = streamDir(root, 's');
  const arena = new Arena(2, SEGMENT_BYTES, 4096);
  const seg = new Segment(0, segmentPath(dir, 0), tier1Path(dir, 0), 1, frameLength(100), true);
  // Tier 1 finished between the load's start and the worker's open: tier moved on, file gone.
  const compressedMeanwhile: SegmentLoader = async (task) => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    seg.apply({ type: SegmentEventType.COMPRESSION_DONE, frameIndex: [], compressedBytes: 64, frameCount: 1 });
    loadSegmentInto(task); // ENOENT: the raw file is not there
  };
  await new Promise<void>((resolve) => assert.equal(startSegmentLoad(arena, seg, compressedMeanwhile, resolve), true));
  assert.equal(seg.error, null, 'not recorded as a failure of the segment');
  assert.equal(seg.slot, -1);
  assert.equal(arena.occupancy().hydrating, 0, 'the slot went back');

  // A segment that is still raw when its file is missing is a real failure.
  const still = new Segment(0, segmentPath(dir, 0), tier1Path(dir, 0), 1, frameLength(100), true);
  await new Promise<void>((resolve) => assert.equal(startSegmentLoad(arena, still, inThread, resolve), true));
  assert.equal(still.error?.code, ErrorCode.IO);
});
