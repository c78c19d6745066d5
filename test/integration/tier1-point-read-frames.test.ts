/**
 * A point read of one record from a 64 MiB Tier 1 segment decompresses exactly one frame: the
 * brief's "hydrated whole segments for a point read" lesson, asserted on counts (tasks run,
 * the progress word, bytes written), never on time.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Piscina } from 'piscina';
import { frameLength } from '../../src/format/record.js';
import { resolveCodec } from '../../src/codec/zstd.js';
import { frameForRecord } from '../../src/format/tier1.js';
import { seededRandom } from '../../src/seeded-random.js';
import { readTier1Meta, type Tier1Meta } from '../../src/format/tier1-file.js';
import type { CompressResult, CompressTask, HydrateResult, HydrateTask } from '../../workers/tier1-protocol.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';
import { COMPRESS_WORKER, HYDRATE_WORKER, arenaImage, envWith, jsonRecords, recordInFrame, tier1Pool } from '../../support/tier1.js';

const MiB = 1024 * 1024;
const RECORD = 500; // small records (520-byte frames with header and padding)
const COUNT = Math.floor((64 * MiB) / frameLength(RECORD));
const CTRL = 4096; // control words (the progress word), then the target region

describe('point read from a 64 MiB tier 1 segment', () => {
  const records = jsonRecords(COUNT, RECORD, 64);
  const img = arenaImage(records, CTRL);
  let pool: Piscina;
  let root: string;
  let cleanup: () => void;
  let meta: Tier1Meta;
  let path: string;
  let hydrateTasks = 0;

  before(async () => {
    ({ root, cleanup } = tempRoot('aof2-point-'));
    pool = tier1Pool(COMPRESS_WORKER, envWith({}));
    path = join(root, 'big.t1');
    const task: CompressTask = {
      source: { kind: 'arena', sab: img.sab, offset: img.offset },
      dataBytes: img.dataBytes,
      recordCount: img.recordCount,
      baseId: 1_000_000,
      dataCrc: img.dataCrc,
      level: 3,
      codec: resolveCodec('auto'),
      frameTarget: 256 * 1024,
      targetPath: path,
    };
    const res = (await pool.run(task)) as CompressResult;
    meta = await readTier1Meta(path);
    assert.deepEqual(meta.index, res.index);
  });
  after(async () => {
    await pool.destroy();
    cleanup();
  });

  async function hydrate(target: SharedArrayBuffer, frame: number): Promise<HydrateResult> {
    hydrateTasks++;
    const entry = meta.index[frame]!;
    const task: HydrateTask = { source: { kind: 'file', path }, entry, sab: target, targetOffset: CTRL + entry.rawOffset, progressIndex: 512, codec: resolveCodec('auto') };
    return (await pool.run(task, { filename: HYDRATE_WORKER })) as HydrateResult;
  }

  /** Bytes of the slot region that are not zero (8 at a time). */
  function nonZeroBytes(sab: SharedArrayBuffer): number {
    const words = new BigUint64Array(sab, CTRL, img.dataBytes >>> 3);
    let n = 0;
    for (let i = 0; i < words.length; i++) if (words[i] !== 0n) n += 8;
    return n;
  }

  test('the segment is ~64 MiB in ~256 frames and compresses well', () => {
    assert.ok(img.dataBytes > 63 * MiB && img.dataBytes <= 64 * MiB);
    assert.ok(meta.index.length >= 250 && meta.index.length <= 260, `${meta.index.length} frames`);
    assert.ok(meta.fileBytes < img.dataBytes / 3);
  });

  test('reading one record hydrates one frame; a second record elsewhere, one more', async () => {
    const target = new SharedArrayBuffer(CTRL + img.dataBytes);
    const ctrl = new Int32Array(target, 0, CTRL >>> 2);
    const pick = seededRandom(99);
    const wanted = [Math.floor(pick() * COUNT), Math.floor(pick() * COUNT)];
    const frames: number[] = [];
    for (const [n, id] of wanted.entries()) {
      const frame = frameForRecord(meta.index, id);
      frames.push(frame);
      const entry = meta.index[frame]!;
      const res = await hydrate(target, frame);
      assert.equal(res.rawBytes, entry.rawBytes);
      assert.ok(entry.rawBytes < 256 * 1024 + frameLength(RECORD), 'one frame is at most the target plus one record');
      assert.equal(hydrateTasks, n + 1, 'one task per point read');
      assert.equal(Atomics.load(ctrl, 512), n + 1, 'the progress word counts frames decompressed');
      const raw = new Uint8Array(target, CTRL + entry.rawOffset, entry.rawBytes);
      const rec = recordInFrame(raw, entry, id);
      assert.ok(sameBytes(rec.payload, records[id]!.payload), `record ${id}`);
      assert.equal(rec.timestamp, records[id]!.timestamp);
    }
    assert.notEqual(frames[0], frames[1]);
    // Only those two frames' bytes were written (JSON records have no 8-byte runs of zeros).
    const written = nonZeroBytes(target);
    assert.equal(written, meta.index[frames[0]!]!.rawBytes + meta.index[frames[1]!]!.rawBytes);
  });
});
