/**
 * Tier 2 reads against the real local-directory store in a temp dir: frames hydrated from an
 * object by a real piscina pool over the compiled hydrate worker (byte-identical to hydrating from
 * the local file, progress published; several consecutive frames from one read of their span,
 * all or none), the error mapping (missing object →
 * AOF_ERR_UNAVAILABLE, short or damaged object → AOF_ERR_CORRUPT, both naming the key), the
 * `hydrate` failpoints on the object path, and fetchTier1Meta (two ranged GETs) against readTier1Meta.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Piscina } from 'piscina';
import { AofError, ErrorCode } from '../../src/errors.js';
import { resolveCodec } from '../../src/codec/zstd.js';
import { TIER1_FOOTER_BYTES, TIER1_INDEX_ENTRY_BYTES, type FrameIndexEntry } from '../../src/format/tier1.js';
import { readTier1Meta } from '../../src/format/tier1-file.js';
import { FsObjectStore } from '../../src/tier2/fs-store.js';
import { type ByteRange, type Tier2StoreConfig } from '../../src/tier2/object-store.js';
import { fetchTier1Meta } from '../../src/tier2/remote-meta.js';
import type { HydrateResult, HydrateSource, HydrateTask } from '../../workers/tier1-protocol.js';
import { TIER1_GOLDEN } from '../../support/golden-tier1-content.js';
import { FIXTURES_DIR } from '../../support/paths.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';
import { HYDRATE_WORKER, envWith, jsonRecords, rebuilt, tier1Pool } from '../../support/tier1.js';
import { DelegatingStore, writeTier1, type Tier1File } from '../../support/tier2.js';
import { segmentKey } from '../../src/format/root-layout.js';

const CTRL = 4096; // control words (the progress word) live below this offset of the target SAB
const PROGRESS = 4;

let root: string;
let cleanup: () => void;
let store: FsObjectStore;
let config: Tier2StoreConfig;
let pool: Piscina;
let seg: Tier1File;
const KEY = segmentKey('orders', 4096);

before(async () => {
  ({ root, cleanup } = tempRoot('aof2-hydrate-object-'));
  mkdirSync(join(root, 'local'));
  config = { kind: 'fs', root: join(root, 'store') };
  store = await FsObjectStore.open(config.root);
  seg = await writeTier1(join(root, 'local', 'seg.t1'), 4096, jsonRecords(1500, 1000, 31), 64 * 1024);
  await store.put(KEY, seg.bytes);
  pool = tier1Pool(HYDRATE_WORKER, envWith({}));
});
after(async () => {
  await pool.destroy();
  cleanup();
});


function target(): { sab: SharedArrayBuffer; ctrl: Int32Array } {
  const sab = new SharedArrayBuffer(CTRL + seg.img.dataBytes);
  return { sab, ctrl: new Int32Array(sab, 0, CTRL >>> 2) };
}

function hydrateTask(source: HydrateSource, entry: FrameIndexEntry, sab: SharedArrayBuffer): HydrateTask {
  return { source, entry, sab, targetOffset: CTRL + entry.rawOffset, progressIndex: PROGRESS, codec: resolveCodec('auto') };
}

const objectSource = (key = KEY): HydrateSource => ({ kind: 'object', store: config, key });

describe('hydrate a frame from a Tier 2 object', () => {
  test('every frame lands byte-identical to the local-file path, with the progress count', async () => {
    const { index, frameCount } = seg.result;
    assert.ok(frameCount > 10 && frameCount <= 64, `frames: ${frameCount}`);
    const fromObject = target();
    const fromFile = target();
    const results = await Promise.all(index.map((e) => rebuilt(pool.run(hydrateTask(objectSource(), e, fromObject.sab)) as Promise<HydrateResult>)));
    assert.deepEqual(
      results.map((r) => r.rawBytes),
      index.map((e) => e.rawBytes),
    );
    await Promise.all(index.map((e) => rebuilt(pool.run(hydrateTask({ kind: 'file', path: seg.path }, e, fromFile.sab)))));
    assert.ok(sameBytes(new Uint8Array(fromObject.sab, CTRL), seg.img.data), 'the data region, byte for byte');
    assert.ok(sameBytes(new Uint8Array(fromObject.sab), new Uint8Array(fromFile.sab)), 'identical to hydrating from the file, control words included');
    assert.equal(Atomics.load(fromObject.ctrl, PROGRESS), frameCount);
  });

  test('a point read fetches one frame: nothing outside it is written', async () => {
    const t = target();
    const frame = 7;
    const e = seg.result.index[frame]!;
    await rebuilt(pool.run(hydrateTask(objectSource(), e, t.sab)));
    assert.ok(sameBytes(new Uint8Array(t.sab, CTRL + e.rawOffset, e.rawBytes), seg.img.data.subarray(e.rawOffset, e.rawOffset + e.rawBytes)));
    assert.ok(new Uint8Array(t.sab, CTRL, e.rawOffset).every((b) => b === 0));
    assert.ok(new Uint8Array(t.sab, CTRL + e.rawOffset + e.rawBytes).every((b) => b === 0));
    assert.deepEqual([Atomics.load(t.ctrl, 0), Atomics.load(t.ctrl, PROGRESS)], [0, 1], 'only the progress word among the control words');
  });

  test('consecutive frames in one task (following): one span read, each frame where its own target says, one progress bump', async () => {
    const t = target();
    const { index } = seg.result;
    const [first, ...rest] = index.slice(3, 7);
    // Targets out of file order in the SAB: each frame goes where its own targetOffset says.
    const task: HydrateTask = { ...hydrateTask(objectSource(), first!, t.sab), following: rest.map((entry) => ({ entry, targetOffset: CTRL + entry.rawOffset })) };
    const result = (await rebuilt(pool.run(task))) as HydrateResult;
    assert.equal(result.rawBytes, [first!, ...rest].reduce((n, e) => n + e.rawBytes, 0));
    const from = first!.rawOffset;
    const to = rest[rest.length - 1]!.rawOffset + rest[rest.length - 1]!.rawBytes;
    assert.ok(sameBytes(new Uint8Array(t.sab, CTRL + from, to - from), seg.img.data.subarray(from, to)), 'frames 3..6, byte for byte');
    assert.ok(new Uint8Array(t.sab, CTRL, from).every((b) => b === 0) && new Uint8Array(t.sab, CTRL + to).every((b) => b === 0), 'nothing outside them');
    assert.equal(Atomics.load(t.ctrl, PROGRESS), 1);
    // The same from the local file (one positional read of the span).
    const local = target();
    await rebuilt(pool.run({ ...task, source: { kind: 'file', path: seg.path }, sab: local.sab }));
    assert.ok(sameBytes(new Uint8Array(local.sab), new Uint8Array(t.sab)));
  });

  test('a damaged frame among several fails the task with AOF_ERR_CORRUPT; no frame of it reaches its target', async () => {
    const { index } = seg.result;
    const e = index[5]!;
    const damagedKey = segmentKey('damaged-span', 4096);
    const damaged = new Uint8Array(seg.bytes);
    damaged[e.fileOffset + (e.compressedBytes >>> 1)] = damaged[e.fileOffset + (e.compressedBytes >>> 1)]! ^ 0x20;
    await store.put(damagedKey, damaged);
    const t = target();
    const [first, ...rest] = index.slice(3, 8);
    const task: HydrateTask = { ...hydrateTask(objectSource(damagedKey), first!, t.sab), following: rest.map((entry) => ({ entry, targetOffset: CTRL + entry.rawOffset })) };
    await assert.rejects(rebuilt(pool.run(task)), (err: AofError) => {
      assert.equal(err.code, ErrorCode.CORRUPT, err.message);
      assert.equal(err.details?.['key'], damagedKey);
      return true;
    });
    assert.ok(new Uint8Array(t.sab).every((b) => b === 0), 'no byte reached any target, not even of the good frames');
  });

  test('following frames that do not continue the one before, or a target over the progress word, are AOF_ERR_INVALID_ARGUMENT', async () => {
    const t = target();
    const { index } = seg.result;
    const base = hydrateTask(objectSource(), index[2]!, t.sab);
    const next = (entry: FrameIndexEntry, targetOffset = CTRL + entry.rawOffset): { entry: FrameIndexEntry; targetOffset: number } => ({ entry, targetOffset });
    for (const following of [
      [next(index[4]!)], // a gap: frame 3 left out
      [next(index[3]!), next(index[3]!)], // a frame twice
      [next(index[1]!)], // backwards
      [next(index[3]!, 0)], // over the control words
      [next(index[3]!, t.sab.byteLength - 8)], // past the SAB
    ]) {
      await assert.rejects(rebuilt(pool.run({ ...base, following })), { code: ErrorCode.INVALID_ARGUMENT }, JSON.stringify(following.map((f) => [f.entry.fileOffset, f.targetOffset])));
    }
    assert.ok(new Uint8Array(t.sab).every((b) => b === 0));
  });

  test('a missing object is AOF_ERR_UNAVAILABLE naming the key; nothing is published', async () => {
    const t = target();
    const key = segmentKey('orders', 999);
    await assert.rejects(rebuilt(pool.run(hydrateTask(objectSource(key), seg.result.index[0]!, t.sab))), (err: AofError) => {
      assert.equal(err.code, ErrorCode.UNAVAILABLE);
      assert.equal(err.details?.['key'], key);
      return true;
    });
    assert.ok(new Uint8Array(t.sab).every((b) => b === 0));
  });

  test('an object that ends inside the frame, or a damaged frame, is AOF_ERR_CORRUPT naming the key', async () => {
    const { index } = seg.result;
    const e = index[3]!;
    const shortKey = segmentKey('short', 4096);
    await store.put(shortKey, seg.bytes.subarray(0, e.fileOffset + (e.compressedBytes >>> 1)));
    const damagedKey = segmentKey('damaged', 4096);
    const damaged = new Uint8Array(seg.bytes);
    damaged[e.fileOffset + (e.compressedBytes >>> 1)] = damaged[e.fileOffset + (e.compressedBytes >>> 1)]! ^ 0x20;
    await store.put(damagedKey, damaged);
    for (const key of [shortKey, damagedKey]) {
      const t = target();
      await assert.rejects(rebuilt(pool.run(hydrateTask(objectSource(key), e, t.sab))), (err: AofError) => {
        assert.equal(err.code, ErrorCode.CORRUPT, err.message);
        assert.equal(err.details?.['key'], key);
        return true;
      });
      assert.ok(new Uint8Array(t.sab).every((b) => b === 0), 'no byte reached the target');
      // The frames before the damage are still good.
      await rebuilt(pool.run(hydrateTask(objectSource(key), index[2]!, t.sab)));
      assert.equal(Atomics.load(t.ctrl, PROGRESS), 1);
    }
  });

  test('a malformed source or store config is AOF_ERR_INVALID_ARGUMENT', async () => {
    const t = target();
    const e = seg.result.index[0]!;
    for (const source of [{ kind: 'object', store: config, key: '' }, { kind: 'file', path: '' }, { kind: 'tape' }, { kind: 'object', store: { kind: 'nfs' }, key: KEY }]) {
      await assert.rejects(rebuilt(pool.run({ ...hydrateTask(objectSource(), e, t.sab), source: source as HydrateSource })), { code: ErrorCode.INVALID_ARGUMENT }, JSON.stringify(source));
    }
  });

  test('hydrate.error=1 and hydrate.crash=1 fire on the object path too, before anything is published', async (t) => {
    const e = seg.result.index[1]!;
    for (const [spec, code] of [
      ['hydrate.error=1', ErrorCode.INJECTED],
      ['hydrate.crash=1', ErrorCode.WORKER_FAILED],
    ] as const) {
      const failing = tier1Pool(HYDRATE_WORKER, envWith({ AOF2_FAILPOINTS: spec, AOF2_FAILPOINTS_SEED: '3' }), 1);
      t.after(() => failing.destroy());
      const tgt = target();
      await assert.rejects(rebuilt(failing.run(hydrateTask(objectSource(), e, tgt.sab))), (err: AofError) => {
        assert.equal(err.code, code);
        if (code === ErrorCode.INJECTED) assert.equal(err.details?.['where'], 'before-publish');
        return true;
      });
      assert.ok(new Uint8Array(tgt.sab).every((b) => b === 0), spec);
    }
  });
});

/** Records every ranged GET passed through to the real store, and how many ran at once. */
class RecordingStore extends DelegatingStore {
  readonly gets: (ByteRange | undefined)[] = [];
  inFlight = 0;
  maxInFlight = 0;
  override async get(key: string, range?: ByteRange): Promise<Uint8Array | null> {
    this.gets.push(range);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      return await this.inner.get(key, range);
    } finally {
      this.inFlight--;
    }
  }
}

describe('fetchTier1Meta', () => {
  test('equals readTier1Meta of the same file, from exactly two parallel ranged GETs (the tail one byte longer, to check the size)', async () => {
    const rec = new RecordingStore(store);
    const { frameCount } = seg.result;
    const meta = await fetchTier1Meta(rec, KEY, seg.bytes.length, frameCount);
    assert.deepEqual(meta, await readTier1Meta(seg.path));
    const tail = frameCount * TIER1_INDEX_ENTRY_BYTES + TIER1_FOOTER_BYTES;
    assert.deepEqual(rec.gets, [
      { offset: 0, length: 64 },
      { offset: seg.bytes.length - tail, length: tail + 1 },
    ]);
    assert.equal(rec.maxInFlight, 2, 'both GETs were in flight together');
  });

  test('the golden fixture and an empty segment (no frames) read the same remotely as locally', async () => {
    const golden = join(FIXTURES_DIR, TIER1_GOLDEN.file);
    const goldenBytes = new Uint8Array(readFileSync(golden));
    await store.put('golden.t1', goldenBytes);
    const local = await readTier1Meta(golden);
    assert.deepEqual(await fetchTier1Meta(store, 'golden.t1', goldenBytes.length, local.footer.frameCount), local);
    const empty = await writeTier1(join(root, 'local', 'empty.t1'), 5, [], 1024);
    await store.put('empty.t1', empty.bytes);
    assert.equal(empty.result.frameCount, 0);
    assert.deepEqual(await fetchTier1Meta(store, 'empty.t1', empty.bytes.length, 0), await readTier1Meta(empty.path));
  });

  test('a missing object is AOF_ERR_UNAVAILABLE naming the key', async () => {
    const key = segmentKey('nobody', 0);
    await assert.rejects(fetchTier1Meta(store, key, seg.bytes.length, seg.result.frameCount), (err: AofError) => {
      assert.equal(err.code, ErrorCode.UNAVAILABLE);
      assert.equal(err.details?.['key'], key);
      return true;
    });
  });

  test('mismatches with the catalog or damaged bytes are AOF_ERR_CORRUPT naming the key', async () => {
    const { frameCount, index } = seg.result;
    const n = seg.bytes.length;
    const damagedFooter = new Uint8Array(seg.bytes);
    damagedFooter[n - 10] = damagedFooter[n - 10]! ^ 1;
    const damagedIndex = new Uint8Array(seg.bytes);
    damagedIndex[n - TIER1_FOOTER_BYTES - 5] = damagedIndex[n - TIER1_FOOTER_BYTES - 5]! ^ 1;
    const damagedHeader = new Uint8Array(seg.bytes);
    damagedHeader[30] = damagedHeader[30]! ^ 1;
    const longer = new Uint8Array(n + 16);
    longer.set(seg.bytes);
    for (const [name, bytes] of [
      ['damaged-footer', damagedFooter],
      ['damaged-index', damagedIndex],
      ['damaged-header', damagedHeader],
      ['truncated', seg.bytes.subarray(0, n - 100)],
      ['longer', longer],
    ] as const) {
      await store.put(name, bytes);
    }
    const cases: [string, number, number][] = [
      ['damaged-footer', n, frameCount],
      ['damaged-index', n, frameCount],
      ['damaged-header', n, frameCount],
      ['truncated', n, frameCount], // shorter than the catalog says
      ['longer', n + 16, frameCount], // the catalog's size is the object's, but the bytes past the footer are not a footer
      ['longer', n, frameCount], // a valid file followed by 16 more bytes: the one-byte-longer tail GET sees them
      [KEY, n, frameCount + 1], // the catalog has more frames than the footer
      [KEY, n, frameCount - 1], // fewer: the tail cannot hold the index
      [KEY, n - 8, frameCount], // a size the footer does not describe
    ];
    assert.equal(index.length, frameCount);
    for (const [key, objectBytes, frames] of cases) {
      await assert.rejects(fetchTier1Meta(store, key, objectBytes, frames), (err: AofError) => {
        assert.equal(err.code, ErrorCode.CORRUPT, `${key} ${objectBytes} ${frames}: ${err.message}`);
        assert.equal(err.details?.['key'], key);
        return true;
      });
    }
  });

  test('sizes that cannot describe a Tier 1 file are AOF_ERR_INVALID_ARGUMENT, before any GET', async () => {
    const rec = new RecordingStore(store);
    for (const [bytes, frames] of [
      [127, 0],
      [64 + 64 + 31, 1],
      [1000, -1],
      [1000, 1.5],
      [Number.NaN, 0],
    ] as const) {
      await assert.rejects(fetchTier1Meta(rec, KEY, bytes, frames), { code: ErrorCode.INVALID_ARGUMENT });
    }
    assert.deepEqual(rec.gets, []);
  });

  test('a copy of the object under another key reads the same (keys are names, not content)', async () => {
    const copy = join(root, 'store', 'copy.t1');
    copyFileSync(seg.path, copy);
    assert.deepEqual(await fetchTier1Meta(store, 'copy.t1', seg.bytes.length, seg.result.frameCount), await readTier1Meta(seg.path));
  });
});
