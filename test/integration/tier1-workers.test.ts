/**
 * The compress and hydrate task modules through a real piscina pool over the compiled worker
 * files: a segment image in a SharedArrayBuffer (and the same segment as a sealed file) becomes a
 * .t1 file, its metadata reads back, and every frame hydrates into another SAB region byte for
 * byte, with the progress word published.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import type { Piscina } from 'piscina';
import { loadZstd, resolveCodec } from '../../src/codec/zstd.js';
import { AofError, ErrorCode } from '../../src/errors.js';
import { frameLength } from '../../src/format/record.js';
import { TIER1_FOOTER_BYTES, TIER1_HEADER_BYTES, TIER1_INDEX_ENTRY_BYTES, frameForRecord, type FrameIndexEntry } from '../../src/format/tier1.js';
import { readFrame, readTier1Meta } from '../../src/format/tier1-file.js';
import { fromWorkerRejection } from '../../src/worker-error.js';
import type { CompressResult, CompressTask, HydrateResult, HydrateTask } from '../../workers/tier1-protocol.js';
import { buildSegment, patternPayload, type FrameSpec } from '../../support/frames.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';
import { COMPRESS_WORKER, HYDRATE_WORKER, arenaImage, envWith, jsonRecords, recordInFrame, tier1Pool, type ArenaImage } from '../../support/tier1.js';
import { segmentFileName, tier1FileName } from '../../src/format/root-layout.js';

const KiB = 1024;
const FRAME_TARGET = 256 * KiB;
/** Slot data starts one page in, as in the arena (control words first). */
const SLOT_OFFSET = 4096;

let pool: Piscina;
let root: string;
let cleanup: () => void;

before(() => {
  ({ root, cleanup } = tempRoot('aof2-tier1-'));
  pool = tier1Pool(COMPRESS_WORKER, envWith({}));
});
after(async () => {
  await pool.destroy();
  cleanup();
});

/** Runs a task on the shared pool, rebuilding a rejection into an AofError as the engine will. */
async function run<R>(task: CompressTask | HydrateTask, filename: string): Promise<R> {
  try {
    return (await pool.run(task, { filename })) as R;
  } catch (err) {
    throw fromWorkerRejection(err);
  }
}

function compressTask(img: ArenaImage, baseId: number, targetPath: string, over: Partial<CompressTask> = {}): CompressTask {
  return {
    source: { kind: 'arena', sab: img.sab, offset: img.offset },
    dataBytes: img.dataBytes,
    recordCount: img.recordCount,
    baseId,
    dataCrc: img.dataCrc,
    level: 3,
    codec: resolveCodec('auto'),
    frameTarget: FRAME_TARGET,
    targetPath,
    ...over,
  };
}

/**
 * A hydration target: a page of control words (the progress word at index 1; word 0 is never
 * written, which the tests check), then the data region.
 */
interface Target {
  sab: SharedArrayBuffer;
  ctrl: Int32Array;
  base: number;
  progressIndex: number;
}

function hydrationTarget(dataBytes: number): Target {
  const base = 4096;
  const sab = new SharedArrayBuffer(base + dataBytes);
  return { sab, ctrl: new Int32Array(sab, 0, base >>> 2), base, progressIndex: 1 };
}

function hydrateTask(path: string, entry: FrameIndexEntry, t: Target): HydrateTask {
  return {
    source: { kind: 'file', path },
    entry,
    sab: t.sab,
    targetOffset: t.base + entry.rawOffset,
    progressIndex: t.progressIndex,
    codec: resolveCodec('auto'),
  };
}

function checkIndexTiles(index: readonly FrameIndexEntry[], img: { data: Uint8Array; recordCount: number }): void {
  let record = 0;
  let raw = 0;
  for (const [i, e] of index.entries()) {
    assert.equal(e.firstRecord, record);
    assert.equal(e.rawOffset, raw);
    assert.equal(e.rawCrc, crc32(img.data.subarray(e.rawOffset, e.rawOffset + e.rawBytes)));
    // Cut rule: a frame stays within the target (a record alone larger makes a frame of its own),
    // and every frame but the last would pass it with the next frame's first record.
    assert.ok(e.rawBytes <= FRAME_TARGET || e.recordCount === 1, `frame ${i} has ${e.rawBytes} raw bytes`);
    if (i < index.length - 1) {
      const next = index[i + 1]!;
      const nextRaw = img.data.subarray(next.rawOffset, next.rawOffset + next.rawBytes);
      const nextLen = frameLength(recordInFrame(nextRaw, next, next.firstRecord).payload.length);
      assert.ok(e.rawBytes + nextLen > FRAME_TARGET, `frame ${i} was cut early`);
    }
    record += e.recordCount;
    raw += e.rawBytes;
  }
  assert.equal(record, img.recordCount);
  assert.equal(raw, img.data.length);
}

describe('compress from the arena, then hydrate every frame', () => {
  const records = jsonRecords(6000, 1000, 7); // ~6 MiB of JSON-like 1000-byte records (odd size: padding)
  const img = arenaImage(records, SLOT_OFFSET);
  let path: string;
  let result: CompressResult;

  before(async () => {
    path = join(root, tier1FileName(6000));
    result = await run<CompressResult>(compressTask(img, 6000, path, { createdAt: 1_700_000_123_000 }), COMPRESS_WORKER);
  });

  test('writes a .t1 smaller than raw, with a frame index that tiles the data at the target', () => {
    const size = readFileSync(path).length;
    assert.equal(result.compressedBytes, size);
    assert.ok(size < img.dataBytes / 3, `JSON-like records should compress at least 3x: ${size} of ${img.dataBytes}`);
    assert.equal(result.frameCount, result.index.length);
    // 1016-byte record frames: a frame holds as many as fit 256 KiB.
    const perFrame = Math.floor(FRAME_TARGET / frameLength(1000));
    assert.equal(result.frameCount, Math.ceil(6000 / perFrame));
    assert.ok(result.index.slice(0, -1).every((e) => e.recordCount === perFrame));
    checkIndexTiles(result.index, img);
    assert.ok(!existsSync(`${path}.tmp`), 'the temp file was renamed');
  });

  test('readTier1Meta reads back the header, footer and the same index', async () => {
    const meta = await readTier1Meta(path);
    assert.deepEqual(meta.index, result.index);
    assert.deepEqual(meta.header, {
      codec: 1,
      level: 3,
      baseId: 6000,
      recordCount: 6000,
      dataBytes: img.dataBytes,
      dataCrc: img.dataCrc,
      frameTarget: FRAME_TARGET,
      createdAt: 1_700_000_123_000,
    });
    assert.equal(meta.footer.frameCount, result.frameCount);
    assert.equal(meta.footer.indexOffset + result.frameCount * TIER1_INDEX_ENTRY_BYTES + TIER1_FOOTER_BYTES, meta.fileBytes);
    assert.equal(result.index[0]!.fileOffset, TIER1_HEADER_BYTES);
  });

  test('hydrating every frame rebuilds the data region byte for byte, with the progress count', async () => {
    const t = hydrationTarget(img.dataBytes);
    const results = await Promise.all(result.index.map((e) => run<HydrateResult>(hydrateTask(path, e, t), HYDRATE_WORKER)));
    assert.deepEqual(
      results.map((r) => r.rawBytes),
      result.index.map((e) => e.rawBytes),
    );
    assert.ok(sameBytes(new Uint8Array(t.sab, t.base, img.dataBytes), img.data), 'hydrated bytes equal the original');
    assert.equal(Atomics.load(t.ctrl, t.progressIndex), result.frameCount);
    assert.equal(Atomics.load(t.ctrl, 0), 0, 'no other control word is written');
  });

  test('a point read hydrates exactly the frame holding the record', async () => {
    const t = hydrationTarget(img.dataBytes);
    const want = 4321;
    const frame = frameForRecord(result.index, want);
    const entry = result.index[frame]!;
    await run<HydrateResult>(hydrateTask(path, entry, t), HYDRATE_WORKER);
    assert.equal(Atomics.load(t.ctrl, t.progressIndex), 1);
    const raw = new Uint8Array(t.sab, t.base + entry.rawOffset, entry.rawBytes);
    const rec = recordInFrame(raw, entry, want);
    assert.ok(sameBytes(rec.payload, records[want]!.payload));
    assert.equal(rec.timestamp, records[want]!.timestamp);
    // Everything outside the frame is still zero: nothing else was decompressed into the target.
    assert.ok(new Uint8Array(t.sab, t.base, entry.rawOffset).every((b) => b === 0));
  });

  test('recompressing to the same path is idempotent (a retry overwrites)', async () => {
    writeFileSync(`${path}.tmp`, 'leftover of a crashed attempt');
    const again = await run<CompressResult>(compressTask(img, 6000, path, { createdAt: 1_700_000_123_000 }), COMPRESS_WORKER);
    assert.deepEqual(again, result);
    assert.ok(!existsSync(`${path}.tmp`));
    assert.deepEqual((await readTier1Meta(path)).index, result.index);
  });
});

describe('compress from a sealed segment file', () => {
  // Odd sizes, empty payloads, a record bigger than the frame target and one bigger than the
  // worker's 4 MiB read window, so frames cross window boundaries.
  const records: FrameSpec[] = [];
  for (let i = 0; i < 3000; i++) records.push({ payload: patternPayload(i, (i * 37) % 1500), timestamp: 1_700_000_000_000 + i });
  records.splice(1000, 0, { payload: patternPayload(99, 300 * KiB + 3), timestamp: 1 });
  records.splice(2000, 0, { payload: patternPayload(98, 5 * 1024 * KiB + 5), timestamp: 2 });

  test('produces the same index as from the arena, and every frame reads back', async () => {
    const seg = buildSegment({ baseId: 77, segmentBytes: 16 * 1024 * KiB, createdAt: 1, records, sealedAt: 2 });
    const segPath = join(root, segmentFileName(77));
    writeFileSync(segPath, seg);
    const img = arenaImage(records, 0);
    const fromFile = join(root, 'from-file.t1');
    const fromArena = join(root, 'from-arena.t1');
    const a = await run<CompressResult>({ ...compressTask(img, 77, fromFile, { createdAt: 5 }), source: { kind: 'file', path: segPath } }, COMPRESS_WORKER);
    const b = await run<CompressResult>(compressTask(img, 77, fromArena, { createdAt: 5 }), COMPRESS_WORKER);
    assert.deepEqual(a, b);
    assert.ok(sameBytes(readFileSync(fromFile), readFileSync(fromArena)), 'both sources give identical files');
    checkIndexTiles(a.index, img);
    const big = a.index[frameForRecord(a.index, 2000)]!;
    assert.equal(big.firstRecord + big.recordCount - 1, 2000, 'the 5 MiB record ends its frame');
    const codec = loadZstd();
    for (const e of a.index) {
      const raw = await readFrame(fromFile, e, codec);
      assert.ok(sameBytes(raw, img.data.subarray(e.rawOffset, e.rawOffset + e.rawBytes)));
    }
  });

  test('a segment file that is not the described one (wrong dataCrc) is AOF_ERR_CORRUPT, nothing written', async () => {
    const seg = buildSegment({ baseId: 5, segmentBytes: 64 * KiB, createdAt: 1, records: records.slice(0, 50), sealedAt: 2 });
    const segPath = join(root, segmentFileName(5));
    writeFileSync(segPath, seg);
    const img = arenaImage(records.slice(0, 50), 0);
    const target = join(root, 'wrong-file-crc.t1');
    await assert.rejects(run({ ...compressTask(img, 5, target, { dataCrc: (img.dataCrc ^ 1) >>> 0 }), source: { kind: 'file', path: segPath } }, COMPRESS_WORKER), {
      code: ErrorCode.CORRUPT,
    });
    assert.ok(!existsSync(target) && !existsSync(`${target}.tmp`));
  });

  test('a segment file whose data was damaged after sealing is AOF_ERR_CORRUPT, nothing left behind', async () => {
    const seg = buildSegment({ baseId: 6, segmentBytes: 64 * KiB, createdAt: 1, records: records.slice(0, 50), sealedAt: 2 });
    seg[64 + 100] = seg[64 + 100]! ^ 0x10; // a payload byte: lengths still walk, only the CRC can tell
    const segPath = join(root, segmentFileName(6));
    writeFileSync(segPath, seg);
    const img = arenaImage(records.slice(0, 50), 0);
    const target = join(root, 'damaged-file.t1');
    await assert.rejects(run({ ...compressTask(img, 6, target), source: { kind: 'file', path: segPath } }, COMPRESS_WORKER), (err: AofError) => {
      assert.equal(err.code, ErrorCode.CORRUPT);
      assert.match(err.message, /does not match its CRC/);
      return true;
    });
    assert.ok(!existsSync(target) && !existsSync(`${target}.tmp`));
  });
});

describe('compress and hydrate failures', () => {
  const records = jsonRecords(400, 700, 3);
  const img = arenaImage(records, SLOT_OFFSET);

  test('wrong dataCrc for an arena source: AOF_ERR_CORRUPT and no file at targetPath', async () => {
    const target = join(root, 'wrong-crc.t1');
    await assert.rejects(run(compressTask(img, 1, target, { dataCrc: (img.dataCrc + 1) >>> 0 }), COMPRESS_WORKER), (err: AofError) => {
      assert.ok(err instanceof AofError);
      assert.equal(err.code, ErrorCode.CORRUPT);
      assert.equal(err.details?.['actual'], img.dataCrc);
      assert.match(err.stack ?? '', /compress/, "the worker's stack is kept");
      return true;
    });
    assert.ok(!existsSync(target) && !existsSync(`${target}.tmp`));
  });

  test('a record count that does not match the data is AOF_ERR_CORRUPT, temp file removed', async () => {
    const target = join(root, 'wrong-count.t1');
    await assert.rejects(run(compressTask(img, 1, target, { recordCount: 401 }), COMPRESS_WORKER), { code: ErrorCode.CORRUPT });
    assert.ok(!existsSync(target) && !existsSync(`${target}.tmp`));
  });

  test('a bad length field mid-segment (CRC matching the damage) is AOF_ERR_CORRUPT while frames are in flight; the worker lives on', async () => {
    const damaged = arenaImage(records, SLOT_OFFSET);
    const view = new DataView(damaged.sab);
    const victim = SLOT_OFFSET + 300 * frameLength(700); // record 300 of 400: several frames are already queued
    view.setUint32(victim, 0x7fff_fff0, true);
    const crc = crc32(new Uint8Array(damaged.sab, SLOT_OFFSET, damaged.dataBytes));
    const target = join(root, 'bad-length.t1');
    // A worker killed by an unhandled rejection emits 'error'; one the pool retires after its idle
    // second only exits (comparing thread ids counted those too, and failed under load).
    const crashes: unknown[] = [];
    for (const w of pool.threads) w.once('error', (err) => crashes.push(err));
    await assert.rejects(run({ ...compressTask(damaged, 1, target, { frameTarget: 16 * KiB }), dataCrc: crc }, COMPRESS_WORKER), (err: AofError) => {
      assert.equal(err.code, ErrorCode.CORRUPT);
      assert.match(err.message, /record 300 .* past the end/);
      return true;
    });
    assert.ok(!existsSync(target) && !existsSync(`${target}.tmp`));
    await run(compressTask(img, 1, target), COMPRESS_WORKER);
    assert.deepEqual(crashes, [], 'no worker died (no unhandled rejection)');
  });

  test('impossible tasks are AOF_ERR_INVALID_ARGUMENT', async () => {
    const target = join(root, 'bad.t1');
    await assert.rejects(run(compressTask(img, 1, target, { level: 0 }), COMPRESS_WORKER), { code: ErrorCode.INVALID_ARGUMENT });
    await assert.rejects(run(compressTask(img, 1, target, { frameTarget: 0 }), COMPRESS_WORKER), { code: ErrorCode.INVALID_ARGUMENT });
    await assert.rejects(run({ ...compressTask(img, 1, target), source: { kind: 'arena', sab: img.sab, offset: SLOT_OFFSET + 8 } }, COMPRESS_WORKER), {
      code: ErrorCode.INVALID_ARGUMENT,
    });
    assert.deepEqual(
      readdirSync(root).filter((n) => n.startsWith('bad.t1')),
      [],
    );
  });

  test('a missing segment file is AOF_ERR_IO with the errno', async () => {
    await assert.rejects(run({ ...compressTask(img, 1, join(root, 'x.t1')), source: { kind: 'file', path: join(root, 'nope.seg') } }, COMPRESS_WORKER), (err: AofError) => {
      assert.equal(err.code, ErrorCode.IO);
      assert.equal(err.details?.['errno'], 'ENOENT');
      return true;
    });
  });

  test('corrupted compressed bytes: hydrate rejects with AOF_ERR_CORRUPT and publishes nothing', async () => {
    const path = join(root, 'to-damage.t1');
    const res = await run<CompressResult>(compressTask(img, 1, path, { frameTarget: 64 * KiB }), COMPRESS_WORKER);
    assert.ok(res.frameCount >= 3);
    const file = readFileSync(path);
    const e1 = res.index[1]!;
    // Damage three ways: a zstd header byte, a byte in the middle of the block, the last byte.
    for (const at of [e1.fileOffset + 4, e1.fileOffset + (e1.compressedBytes >>> 1), e1.fileOffset + e1.compressedBytes - 1]) {
      const damaged = Buffer.from(file);
      damaged[at] = damaged[at]! ^ 0x5a;
      const dpath = join(root, `damaged-${at}.t1`);
      writeFileSync(dpath, damaged);
      const meta = await readTier1Meta(dpath); // the metadata is intact: damage is only caught by the frame
      const t = hydrationTarget(img.dataBytes);
      await assert.rejects(run(hydrateTask(dpath, meta.index[1]!, t), HYDRATE_WORKER), (err: AofError) => {
        assert.equal(err.code, ErrorCode.CORRUPT, err.message);
        assert.equal(err.details?.['path'], dpath);
        return true;
      });
      assert.equal(Atomics.load(t.ctrl, t.progressIndex), 0);
      assert.equal(Atomics.load(t.ctrl, 0), 0);
      assert.ok(new Uint8Array(t.sab, t.base).every((b) => b === 0), 'no byte reached the target');
      // Neighbouring frames are unaffected.
      await run(hydrateTask(dpath, meta.index[0]!, t), HYDRATE_WORKER);
      assert.equal(Atomics.load(t.ctrl, t.progressIndex), 1);
    }
  });

  test('a truncated .t1 file: readTier1Meta and hydrate both report AOF_ERR_CORRUPT with the path', async () => {
    const path = join(root, 'to-truncate.t1');
    const res = await run<CompressResult>(compressTask(img, 1, path, { frameTarget: 64 * KiB }), COMPRESS_WORKER);
    const cut = join(root, 'truncated.t1');
    writeFileSync(cut, readFileSync(path).subarray(0, res.index[1]!.fileOffset + 10));
    await assert.rejects(readTier1Meta(cut), (err: AofError) => err.code === ErrorCode.CORRUPT && err.details?.['path'] === cut);
    const t = hydrationTarget(img.dataBytes);
    await assert.rejects(run(hydrateTask(cut, res.index[1]!, t), HYDRATE_WORKER), (err: AofError) => err.code === ErrorCode.CORRUPT && err.details?.['path'] === cut);
  });

  test('impossible hydrate tasks are AOF_ERR_INVALID_ARGUMENT and touch nothing', async () => {
    const path = join(root, 'for-bad-hydrate.t1');
    const res = await run<CompressResult>(compressTask(img, 1, path), COMPRESS_WORKER);
    const t = hydrationTarget(img.dataBytes);
    const ok = hydrateTask(path, res.index[0]!, t);
    for (const bad of [
      { ...ok, targetOffset: t.sab.byteLength - 8 }, // runs past the SAB
      { ...ok, progressIndex: t.sab.byteLength }, // word index past the end
      { ...ok, targetOffset: 0 }, // the frame would overwrite the control words
    ]) {
      await assert.rejects(run(bad, HYDRATE_WORKER), { code: ErrorCode.INVALID_ARGUMENT });
    }
    assert.equal(Atomics.load(t.ctrl, t.progressIndex), 0);
  });

  test('an empty segment compresses to a file with no frames', async () => {
    const empty = arenaImage([], SLOT_OFFSET);
    const path = join(root, 'empty.t1');
    const res = await run<CompressResult>(compressTask(empty, 9, path), COMPRESS_WORKER);
    assert.deepEqual(res, { compressedBytes: TIER1_HEADER_BYTES + TIER1_FOOTER_BYTES, frameCount: 0, index: [] });
    const meta = await readTier1Meta(path);
    assert.equal(meta.header.recordCount, 0);
    assert.deepEqual(meta.index, []);
  });
});
