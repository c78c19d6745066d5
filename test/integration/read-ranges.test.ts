/**
 * Read ranges (docs/tier0-windows.md, stage 3): readers bring back the chunk of a raw segment file
 * holding the record they need (`tier0.readChunkBytes`), never a whole segment or a written
 * prefix from byte 0. Real threads, real files; what came back into the arena is observed through
 * the `aof2:segment.hydrated` event (offset, bytes):
 *
 * - cold readers of sealed raw segments in an arena whose window budget is all one-page windows
 *   of other streams: they read through chunks in the reader reserve, and no stream is parked to
 *   make room;
 * - a reader lagging behind a busy stream whose retired windows were evicted loads chunks at
 *   increasing offsets (no reload of the prefix);
 * - a damaged frame fails the read of its chunk with AOF_ERR_CORRUPT, the records before it still
 *   read;
 * - Tier 1 segments come back one zstd frame per run, START = the frame's rawOffset: a point read
 *   loads one frame, a scan every frame once, in an arena of one-page windows.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync, writeFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { AOF_EVENTS, AofManager, ErrorCode, type AofManagerOptions, type SegmentHydratedEvent } from '../../src/index.js';
import { SEGMENT_HEADER_BYTES } from '../../src/format/segment.js';
import { RECORD_PAYLOAD_OFFSET, frameLength } from '../../src/format/record.js';
import { logCore } from '../../src/log.js';
import { readTier1Meta } from '../../src/format/tier1-file.js';
import { frameForRecord } from '../../src/format/tier1.js';
import { t1File } from '../../support/tier1-engine.js';
import { checkRecord, rejectionOf, segmentBaseIds, segmentFile } from '../../support/engine.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';

const SEGMENT = 64 * 1024;
const PAGE = 8 * 1024;

/** Raw loads into the arena, per stream, as the event reports them. */
function rawLoads(t: TestContext): Map<string, SegmentHydratedEvent[]> {
  const loads = new Map<string, SegmentHydratedEvent[]>();
  const onMessage = (message: unknown): void => {
    const e = message as SegmentHydratedEvent;
    if (e.source !== 'raw') return;
    const list = loads.get(e.stream) ?? [];
    list.push(e);
    loads.set(e.stream, list);
  };
  subscribe(AOF_EVENTS.segmentHydrated, onMessage);
  t.after(() => unsubscribe(AOF_EVENTS.segmentHydrated, onMessage));
  return loads;
}

test('cold readers of sealed raw segments in an arena of one-page windows read through chunks; nobody is parked for them', async (t) => {
  const { root, cleanup } = tempRoot('aof2-read-ranges-');
  t.after(cleanup);
  const options: AofManagerOptions = { root, tier0: { arenaBytes: 8 * SEGMENT, segmentBytes: SEGMENT, readChunkBytes: PAGE }, tier1: { enabled: false } };
  const N = 1200; // 200-byte payloads: ~4 segments of 64 KiB
  {
    const manager = await AofManager.open(options);
    const log = await manager.openStream('big');
    for (let id = 0; id < N; id++) await log.append(payloadFor(id, 200));
    await manager.close();
  }
  const manager = await AofManager.open(options);
  t.after(() => manager.close());
  const loads = rawLoads(t);
  // The writers' whole budget, 56 of the arena's 64 pages (the default reader reserve keeps an
  // eighth), becomes one-page write windows of other streams (ACTIVE: never evicted); the reader
  // reads through the reserve.
  const budget = manager.stats().tier0.windowPagesBudget;
  assert.equal(budget, 56);
  const others = [];
  for (let i = 0; i < budget; i++) {
    const log = await manager.openStream(`w${i}`);
    await log.append(payloadFor(i, 100));
    others.push(log);
  }
  const big = await manager.openStream('big');
  assert.ok(segmentBaseIds(root, 'big').length >= 3, 'several sealed segments');
  const readers = [big.openReader({ from: 0 }), big.openReader({ from: Math.floor(N / 2) })];
  t.after(() => readers.forEach((r) => r.close()));
  for (let id = 0; id < N; id++) {
    checkRecord(await readers[0]!.next(), id, payloadFor(id, 200));
    if (id >= N / 2) checkRecord(await readers[1]!.next(), id, payloadFor(id, 200));
  }
  assert.equal(await readers[0]!.next(), null);
  const chunks = loads.get('big') ?? [];
  assert.ok(chunks.length >= Math.floor((N * frameLength(200)) / PAGE), `${chunks.length} chunk loads`);
  for (const c of chunks) assert.ok(c.bytes > 0 && c.bytes <= PAGE, `a chunk of ${c.bytes} bytes at ${c.offset}: at most readChunkBytes`);
  for (const log of others) {
    const active = logCore(log).segments.at(-1)!;
    assert.equal(active.parked, false, `stream ${log.name} was not parked to make room for readers`);
  }
});

test('a reader lagging behind a busy stream whose windows were evicted loads the chunks it needs at increasing offsets, never the prefix again', async (t) => {
  const { root, cleanup } = tempRoot('aof2-read-ranges-lag-');
  t.after(cleanup);
  const BIG_SEGMENT = 512 * 1024;
  const CHUNK = 16 * 1024;
  // 1 MiB arena of 128 pages; the busy stream's active segment (512 KiB) is written through windows.
  const manager = await AofManager.open({ root, tier0: { arenaBytes: 2 * BIG_SEGMENT, segmentBytes: BIG_SEGMENT, readChunkBytes: CHUNK }, tier1: { enabled: false } });
  t.after(() => manager.close());
  const loads = rawLoads(t);
  const busy = await manager.openStream('busy');
  const reader = busy.openReader({ from: 0 });
  t.after(() => reader.close());
  const quiet = [];
  let next = 0;
  let read = 0;
  for (let round = 0; round < 4; round++) {
    // ~100 KB more into the same active segment, then pressure from 120 new one-page windows each
    // round (on 128 pages): the busy stream's CLEAN retired windows are evicted, and streams are
    // parked (the busy one too, at times: its segment stays active).
    for (let i = 0; i < 100; i++, next++) await busy.append(payloadFor(next, 1000));
    await busy.flush();
    for (let i = 0; i < 120; i++) {
      const log = await manager.openStream(`q${round}-${i}`);
      await log.append(payloadFor(i, 50));
      quiet.push(log);
    }
    const seg = logCore(busy).segments[0]!;
    assert.equal(seg.sealed, false, 'still the active segment');
    let evicted = 0;
    for (let k = read; k < next; k++) if (seg.rangeFor(k) === null) evicted++;
    assert.ok(evicted > (next - read) / 2, `round ${round}: most of the records the reader lags behind (${evicted} of ${next - read}) are in evicted windows`);
    // The reader catches up halfway, through chunks.
    const target = read + Math.floor((next - read) / 2);
    for (; read < target; read++) checkRecord(await reader.next(), read, payloadFor(read, 1000));
  }
  const chunks = loads.get('busy') ?? [];
  assert.ok(chunks.length > 0, 'the reader loaded chunks');
  let start = 0;
  let total = 0;
  for (const c of chunks) {
    assert.ok(c.bytes <= CHUNK, `a chunk of ${c.bytes} bytes, not a prefix`);
    // The same chunk twice in a row is allowed: the read-ahead chunk loaded as a round ends may be
    // evicted by the next round's pressure before the reader gets there.
    assert.ok(c.offset >= start, `chunks at non-decreasing offsets (${c.offset} after one at ${start}): no reload from below`);
    start = c.offset;
    total += c.bytes;
  }
  const readBytes = read * frameLength(1000);
  assert.ok(total <= readBytes + 5 * CHUNK, `${total} bytes loaded for ${readBytes} bytes read (4 rounds: one evicted read-ahead each, at most)`);
});

test('a damaged frame in a sealed raw segment fails the read of its chunk with AOF_ERR_CORRUPT; the records before it read', async (t) => {
  const { root, cleanup } = tempRoot('aof2-read-ranges-corrupt-');
  t.after(cleanup);
  const options: AofManagerOptions = { root, tier0: { arenaBytes: 8 * SEGMENT, segmentBytes: SEGMENT, readChunkBytes: PAGE }, tier1: { enabled: false } };
  const N = 200; // 200-byte payloads: one segment, 40 records per 8 KiB chunk
  {
    const manager = await AofManager.open(options);
    const log = await manager.openStream('s');
    for (let id = 0; id < N; id++) log.appendSync(payloadFor(id, 200));
    await manager.close();
  }
  const BAD = 130;
  const path = segmentFile(root, 's', 0);
  const bytes = readFileSync(path);
  const at = SEGMENT_HEADER_BYTES + BAD * frameLength(200) + RECORD_PAYLOAD_OFFSET + 7;
  bytes[at] = bytes[at]! ^ 0x01;
  writeFileSync(path, bytes);

  const manager = await AofManager.open(options);
  t.after(() => manager.close());
  const log = await manager.openStream('s');
  const reader = log.openReader({ from: 0 });
  t.after(() => reader.close());
  const perChunk = Math.floor(PAGE / frameLength(200));
  const chunkStart = BAD - (BAD % perChunk);
  for (let id = 0; id < chunkStart; id++) checkRecord(await reader.next(), id, payloadFor(id, 200));
  const err = await rejectionOf(reader.next());
  assert.equal(err.code, ErrorCode.CORRUPT);
  assert.equal(err.details?.['path'], path);
  assert.equal(err.details?.['offset'], SEGMENT_HEADER_BYTES + BAD * frameLength(200));
  assert.equal(reader.position, chunkStart, 'nothing was consumed');
  assert.equal((await rejectionOf(reader.next())).code, ErrorCode.CORRUPT, 'corruption is permanent');
  // A reader of a record before the damage is unaffected.
  const early = log.openReader({ from: 5 });
  t.after(() => early.close());
  checkRecord(await early.next(), 5, payloadFor(5, 200));
});

test('Tier 1 segments come back one frame per run (START = rawOffset): a point read loads one frame, a scan each frame once, among one-page windows', async (t) => {
  const { root, cleanup } = tempRoot('aof2-read-ranges-t1-');
  t.after(cleanup);
  const T1_SEGMENT = 256 * 1024;
  const options: AofManagerOptions = { root, tier0: { arenaBytes: 4 * T1_SEGMENT, segmentBytes: T1_SEGMENT }, tier1: { frameBytes: 16 * 1024 }, tier2: { kind: 'none' } };
  const N = 2000; // 300-byte payloads: ~640 KB, three segments
  {
    const manager = await AofManager.open(options);
    const log = await manager.openStream('c');
    for (let id = 0; id < N; id++) await log.append(payloadFor(id, 300));
    await manager.settle(); // the two full segments compressed
    await manager.close(); // no Tier 2: the third stays the open tail, raw
  }
  const meta = await readTier1Meta(t1File(root, 'c', 0));
  assert.ok(meta.index.length >= 10, `segment 0 has ${meta.index.length} frames`);
  const manager = await AofManager.open(options);
  t.after(() => manager.close());
  const frames: SegmentHydratedEvent[] = [];
  const onMessage = (message: unknown): void => {
    const e = message as SegmentHydratedEvent;
    if (e.stream === 'c' && e.target === 'arena') frames.push(e);
  };
  subscribe(AOF_EVENTS.segmentHydrated, onMessage);
  t.after(() => unsubscribe(AOF_EVENTS.segmentHydrated, onMessage));
  // 120 of the arena's 128 pages become one-page windows: no room for a whole segment (32 pages).
  for (let i = 0; i < 120; i++) await (await manager.openStream(`w${i}`)).append(payloadFor(i, 100));
  const log = await manager.openStream('c');
  const seg0 = logCore(log).segments[0]!;
  assert.equal(seg0.tier, 'tier1');

  // A point read: exactly the frame holding the record, as a run whose START is its rawOffset.
  const id = 333;
  const frame = frameForRecord(meta.index, id);
  const point = log.openReader({ from: id });
  checkRecord(await point.next(), id, payloadFor(id, 300));
  point.close();
  assert.deepEqual(
    frames.map((e) => [e.source, e.frame, e.offset, e.bytes]),
    [['tier1', frame, meta.index[frame]!.rawOffset, meta.index[frame]!.rawBytes]],
    'one frame for a point read',
  );
  const range = seg0.rangeFor(id - seg0.baseId)!;
  assert.deepEqual([range.start, range.first, range.end], [meta.index[frame]!.rawOffset, meta.index[frame]!.firstRecord, meta.index[frame]!.rawOffset + meta.index[frame]!.rawBytes]);
  assert.equal(seg0.slot, -1, 'no whole-segment run');

  // A scan of everything: every record, each frame of the compressed segments loaded once
  // (read-ahead included; the point read's frame may have been evicted since, among 8 free pages).
  // The third segment is the open tail: read back in raw chunks (frame null).
  frames.length = 0;
  const scan = log.openReader({ from: 0 });
  t.after(() => scan.close());
  for (let i = 0; i < N; i++) checkRecord(await scan.next(), i, payloadFor(i, 300));
  assert.equal(await scan.next(), null);
  const seen = new Set<string>();
  for (const e of frames) {
    if (e.source === 'raw') continue;
    const key = `${e.baseId}/${e.frame}`;
    assert.ok(!seen.has(key), `frame ${key} loaded once`);
    seen.add(key);
  }
  assert.ok(seen.size >= meta.index.length + 1, `${seen.size} frames over the two compressed segments`);
  assert.ok(frames.some((e) => e.source === 'raw'), 'the open tail read back from its file');
  for (const w of logCore(log).segments) assert.equal(w.slot, -1);
});
