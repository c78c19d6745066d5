/**
 * Readers against a real engine: positioning (start, middle, segment boundary, tail), tailing,
 * byte ownership (views vs copies, pins holding slots against eviction), hydration of evicted
 * segments through the sync and async paths, and corruption detected on hydration.
 */
import assert from 'node:assert/strict';
import { openSync, closeSync, readSync, writeSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { AofError, AofManager, WouldBlockError, type AofLog, type AofReader, type LogRecord } from '../../src/index.js';
import { seededRandom } from '../../src/seeded-random.js';
import { Deadline, checkRecord, expectWouldBlock, rejectionOf, segmentBaseIds, segmentFile, sleep, verifyLog, waitFor } from '../../support/engine.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';

const SEGMENT = 64 * 1024;
/** 1000-byte payloads make 1016-byte frames: 64 per 64 KiB segment. */
const FIXED = 1000;
const PER_SEGMENT = Math.floor(SEGMENT / 1016);
const roomy = { arenaBytes: 32 * SEGMENT, segmentBytes: SEGMENT };
const tiny = { arenaBytes: 4 * SEGMENT, segmentBytes: SEGMENT };

async function setup(t: TestContext, tier0: { arenaBytes: number; segmentBytes: number }): Promise<{ root: string; manager: AofManager; log: AofLog }> {
  const { root, cleanup } = tempRoot();
  // Tier 0 behaviour: raw segment files stay (Tier 1 readers are covered in tier1-pipeline.test.ts).
  const manager = await AofManager.open({ root, tier0, tier1: { enabled: false }, fsync: 'never' });
  t.after(async () => {
    await manager.close();
    cleanup();
  });
  const log = await manager.openStream('r');
  return { root, manager, log };
}

async function appendFixed(log: AofLog, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const id = log.nextId;
    assert.equal(await log.append(payloadFor(id, FIXED)), id);
  }
}

/** Reads `count` records with nextSync only: everything must be resident. */
function readSyncResident(reader: AofReader, from: number, count: number, expected: (id: number) => Uint8Array): void {
  for (let id = from; id < from + count; id++) checkRecord(reader.nextSync(), id, expected(id));
}

test('readers start at id 0, mid-segment, exactly on a segment boundary, and cross many boundaries', async (t) => {
  const { root, log } = await setup(t, roomy);
  const total = 10 * PER_SEGMENT + 5;
  await appendFixed(log, total);
  await log.flush();
  const bases = segmentBaseIds(root, 'r');
  // The boundaries on disk are what the fixed frame size predicts.
  assert.deepEqual(bases, Array.from({ length: 11 }, (_, i) => i * PER_SEGMENT));
  const expected = (id: number): Uint8Array => payloadFor(id, FIXED);

  const fromStart = log.openReader({ from: 0 });
  readSyncResident(fromStart, 0, total, expected); // crosses 10 boundaries
  assert.equal(fromStart.nextSync(), null);
  assert.equal(fromStart.position, total);

  const middle = 3 * PER_SEGMENT + 17;
  const fromMiddle = log.openReader({ from: middle });
  readSyncResident(fromMiddle, middle, total - middle, expected);
  assert.equal(fromMiddle.nextSync(), null);

  for (const boundary of [bases[1]!, bases[5]!, bases[10]!]) {
    const reader = log.openReader({ from: boundary });
    // Last record of the previous segment is not returned; the first of this one is.
    readSyncResident(reader, boundary, total - boundary, expected);
    assert.equal(reader.nextSync(), null);
    reader.close();
  }

  // The record just before a boundary, then across it.
  const before = log.openReader({ from: bases[4]! - 1 });
  readSyncResident(before, bases[4]! - 1, 3, expected);

  assert.equal((await rejectionOf(Promise.resolve().then(() => log.openReader({ from: total + 1 })))).code, 'AOF_ERR_OUT_OF_RANGE');
  for (const r of [fromStart, fromMiddle, before]) r.close();
  assert.equal((await rejectionOf(Promise.resolve().then(() => fromStart.nextSync()))).code, 'AOF_ERR_CLOSED');
});

test('a reader at nextId returns null, then tails new records across rollovers', async (t) => {
  const { log } = await setup(t, roomy);
  const empty = log.openReader({ from: 0 });
  assert.equal(empty.nextSync(), null, 'an empty stream has nothing to read');
  assert.equal(await empty.next(), null);

  await appendFixed(log, 10);
  const tail = log.openReader({ from: log.nextId });
  assert.equal(tail.nextSync(), null);
  assert.equal(await tail.next(), null);

  // The reader opened on the empty stream sees the records appended since.
  readSyncResident(empty, 0, 10, (id) => payloadFor(id, FIXED));
  assert.equal(empty.nextSync(), null);

  // Tail in small steps across three rollovers; each step sees exactly the new records.
  let read = 10;
  for (let step = 0; step < 3 * PER_SEGMENT; step += 13) {
    await appendFixed(log, 13);
    while (read < log.nextId) {
      const rec = read % 2 === 0 ? tail.nextSync() : await tail.next();
      checkRecord(rec, read, payloadFor(read, FIXED));
      read++;
    }
    assert.equal(tail.nextSync(), null);
  }
  assert.ok(log.nextId > 3 * PER_SEGMENT);
  tail.close();
  empty.close();
});

test('views are arena memory pinned until the next call; copies are owned and survive slot reuse', async (t) => {
  const { manager, log } = await setup(t, tiny);
  await appendFixed(log, 2 * PER_SEGMENT);

  const viewReader = log.openReader({ from: 0 });
  const view = checkRecord(viewReader.nextSync(), 0, payloadFor(0, FIXED));
  assert.ok(view.payload.buffer instanceof SharedArrayBuffer, 'default reader payloads are views into the arena');

  const copyReader = log.openReader({ from: PER_SEGMENT, copy: true });
  const copy = checkRecord(copyReader.nextSync(), PER_SEGMENT, payloadFor(PER_SEGMENT, FIXED));
  assert.ok(copy.payload.buffer instanceof ArrayBuffer && !(copy.payload.buffer instanceof SharedArrayBuffer), 'copy: true returns owned bytes');
  copyReader.close(); // segment 1's slot is no longer pinned by anyone

  // Eight times the arena: every unpinned slot is reused several times.
  await appendFixed(log, 8 * 4 * PER_SEGMENT);
  assert.ok(manager.stats().arena.pinned >= 1);

  // Segment 1 really was evicted (so its slot was reused) ...
  const probe = log.openReader({ from: PER_SEGMENT });
  expectWouldBlock(() => probe.nextSync(), ['hydration']);
  probe.close();
  // ... yet the copy read from it is unchanged, and the pinned view of segment 0 is intact.
  assert.ok(sameBytes(copy.payload, payloadFor(PER_SEGMENT, FIXED)), 'copy changed after its slot was reused');
  assert.ok(sameBytes(view.payload, payloadFor(0, FIXED)), 'eviction overwrote a slot a reader had pinned');

  // The pinned reader continues through its resident run without blocking (the segment's first
  // write window: one 8 KiB page, 8 frames of 1016 bytes), then loads the rest.
  const firstWindow = Math.floor(8192 / 1016);
  readSyncResident(viewReader, 1, firstWindow - 1, (id) => payloadFor(id, FIXED));
  for (let id = firstWindow; id <= PER_SEGMENT; id++) checkRecord(await viewReader.next(), id, payloadFor(id, FIXED));
  viewReader.close();
});

test('log.read() yields owned copies and stops at the tail as of the call', async (t) => {
  const { manager, log } = await setup(t, roomy);
  await appendFixed(log, 100);
  const iterator = log.read({ from: 0 });
  const seen: LogRecord[] = [];
  for await (const rec of iterator) {
    seen.push(rec);
    // Appends during iteration are beyond the tail the iterator was created with.
    if (rec.id === 0) await appendFixed(log, 50);
  }
  assert.equal(seen.length, 100);
  assert.equal(log.nextId, 150);
  seen.forEach((rec, i) => {
    assert.equal(rec.id, i);
    assert.ok(!(rec.payload.buffer instanceof SharedArrayBuffer), 'read() must yield copies');
    assert.ok(sameBytes(rec.payload, payloadFor(i, FIXED)));
  });
  await verifyLog(log, (id) => payloadFor(id, FIXED), 150, 120);
  let none = 0;
  for await (const rec of log.read({ from: 150 })) none += rec.id >= 0 ? 1 : 0;
  assert.equal(none, 0, 'read() from the tail yields nothing');
  // Leaving the loop early closes the iterator's reader, so its slot pin is released.
  for await (const rec of log.read({ from: 10 })) if (rec.id === 12) break;
  assert.equal(manager.stats().arena.pinned, 0);
});

/** A workload ~12 times the tiny arena, with varied sizes; returns the expected payload of each id. */
async function writeLarge(log: AofLog, seed: number): Promise<(id: number) => Uint8Array> {
  const rand = seededRandom(seed);
  const sizes: number[] = [];
  const pending: Promise<number>[] = [];
  for (let id = 0; id < 3000; id++) {
    const size = Math.floor(rand() * 2000);
    sizes.push(size);
    pending.push(log.append(payloadFor(id, size)));
  }
  await Promise.all(pending);
  await log.flush();
  return (id) => payloadFor(id, sizes[id]!);
}

test('hydration: a sync reader of evicted segments gets WouldBlock hydration, then reads everything after waiting', async (t) => {
  const { root, manager, log } = await setup(t, tiny);
  const expected = await writeLarge(log, 31);
  const total = log.nextId;
  const segments = segmentBaseIds(root, 'r').length;
  assert.ok(segments >= 40, `workload spans ${segments} segments, many times the 4 slots`);

  // Await style: on WouldBlock, `await next()` returns the same record once it is loaded.
  const awaiting = log.openReader({ from: 0 });
  expectWouldBlock(() => awaiting.nextSync(), ['hydration']);
  assert.equal(awaiting.position, 0, 'WouldBlock consumes nothing');
  let blocks = 1;
  checkRecord(await awaiting.next(), 0, expected(0));
  for (let id = 1; id < total; id++) {
    let rec: LogRecord | null;
    try {
      rec = awaiting.nextSync();
    } catch (err) {
      if (!(err instanceof WouldBlockError) || err.kind !== 'hydration') throw err;
      assert.equal(awaiting.position, id);
      blocks++;
      rec = await awaiting.next();
    }
    checkRecord(rec, id, expected(id));
  }
  assert.equal(awaiting.nextSync(), null);
  assert.ok(blocks >= segments - 4, `expected a hydration per evicted segment, saw ${blocks}`);
  awaiting.close();

  // Polling style, from a segment boundary: retry nextSync after a short sleep.
  const boundary = segmentBaseIds(root, 'r')[7]!;
  const polling = log.openReader({ from: boundary });
  const d = new Deadline('the polling reader to read to the end', 60_000);
  for (let id = boundary; id < total; ) {
    d.check();
    try {
      checkRecord(polling.nextSync(), id, expected(id));
      id++;
    } catch (err) {
      if (!(err instanceof WouldBlockError) || err.kind !== 'hydration') throw err;
      await sleep(1);
    }
  }
  polling.close();
  await waitFor(() => manager.stats().arena.hydrating === 0 && manager.stats().arena.pinned === 0, 'hydrations to settle');
});

test('hydration: async readers never see WouldBlock, also while a writer keeps appending, and two readers share a segment', async (t) => {
  const { log } = await setup(t, tiny);
  const expected = await writeLarge(log, 37);
  const written = log.nextId;

  // Two readers on the same evicted segments, each step awaited together.
  const a = log.openReader({ from: 0 });
  const b = log.openReader({ from: 0, copy: true });
  for (let id = 0; id < written; id++) {
    const [ra, rb] = await Promise.all([a.next(), b.next()]);
    checkRecord(ra, id, expected(id));
    checkRecord(rb, id, expected(id));
  }
  a.close();
  b.close();

  // An async reader from 0 racing a writer that appends 1,000 more records.
  const extra = (id: number): Uint8Array => payloadFor(id, 777);
  const writer = (async () => {
    for (let id = written; id < written + 1000; id++) assert.equal(await log.append(extra(id)), id);
  })();
  const reader = log.openReader({ from: 0 });
  let id = 0;
  const d = new Deadline('the racing reader to read every record', 60_000, { progress: () => `at ${id}` });
  while (id < written + 1000) {
    d.check();
    const rec = await reader.next();
    if (rec === null) {
      await sleep(1); // caught up with the writer
      continue;
    }
    checkRecord(rec, id, id < written ? expected(id) : extra(id));
    id++;
  }
  await writer;
  assert.equal(await reader.next(), null);
  reader.close();
});

test('a corrupted byte in an evicted segment file is reported as AOF_ERR_CORRUPT, never returned as data', async (t) => {
  const { root, log } = await setup(t, tiny);
  await appendFixed(log, 20 * PER_SEGMENT);
  await log.flush();
  // Segment 0 was written first and never read: with 4 slots it was evicted long ago.
  const path = segmentFile(root, 'r', 0);
  const at = 64 + 5 * 1016 + 16 + 100; // header, 5 frames, frame header, into record 5's payload
  const fd = openSync(path, 'r+');
  const byte = new Uint8Array(1);
  readSync(fd, byte, 0, 1, at);
  byte[0] = byte[0]! ^ 0x40;
  writeSync(fd, byte, 0, 1, at);
  closeSync(fd);

  const asyncReader = log.openReader({ from: 0 });
  const err = await rejectionOf(asyncReader.next());
  assert.ok(err instanceof AofError);
  assert.equal(err.code, 'AOF_ERR_CORRUPT');
  asyncReader.close();

  const syncReader = log.openReader({ from: 3 });
  let syncErr: unknown = null;
  for (let attempt = 0; attempt < 2000 && syncErr === null; attempt++) {
    try {
      const rec = syncReader.nextSync();
      assert.fail(`corrupted segment returned data: record ${rec?.id}`);
    } catch (e) {
      if (e instanceof WouldBlockError) await sleep(1);
      else syncErr = e;
    }
  }
  assert.ok(syncErr instanceof AofError && syncErr.code === 'AOF_ERR_CORRUPT', `got ${String(syncErr)}`);
  syncReader.close();

  // The other segments are unaffected.
  const later = log.openReader({ from: PER_SEGMENT });
  for (let id = PER_SEGMENT; id < 3 * PER_SEGMENT; id++) checkRecord(await later.next(), id, payloadFor(id, FIXED));
  later.close();
});
