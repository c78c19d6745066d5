/**
 * Figures, not assertions on time: compression throughput and ratio of the compress pool on 1 KiB
 * JSON-like records at level 3, with an in-thread baseline on the same bytes in the same run
 * (a ratio, per the project's benchmark habit), and single-frame decompress latency both in-thread
 * and as a hydrate task through the pool. Printed as test diagnostics (`# ...` lines).
 * Asserts only that the work was done right (sizes, bytes).
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { loadZstd, resolveCodec } from '../../src/codec/zstd.js';
import { readTier1Meta } from '../../src/format/tier1-file.js';
import { compressSegment } from '../../workers/compress.js';
import type { CompressResult, CompressTask, HydrateTask } from '../../workers/tier1-protocol.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';
import { COMPRESS_WORKER, HYDRATE_WORKER, arenaImage, envWith, jsonRecords, tier1Pool } from '../../support/tier1.js';

const MiB = 1024 * 1024;
const SEGMENT = 4 * MiB;
const SEGMENTS = 12;
const FRAME = 256 * 1024;
const LEVEL = 3;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

describe('tier 1 measurements (diagnostics only)', () => {
  test('compression MB/s and ratio: pool of 2 vs one thread, 1 KiB JSON-like records, level 3', async (t) => {
    const { root, cleanup } = tempRoot('aof2-measure-');
    const pool = tier1Pool(COMPRESS_WORKER, envWith({}), 2);
    t.after(async () => {
      await pool.destroy();
      cleanup();
    });
    // SEGMENTS slots of SEGMENT bytes in one SAB, like the arena; records of 1 KiB payload.
    const perSegment = Math.floor(SEGMENT / (1024 + 16));
    const records = jsonRecords(perSegment * SEGMENTS, 1024, 2024);
    const img = arenaImage(records, 0);
    const segBytes = perSegment * (1024 + 16);
    const tasks: CompressTask[] = Array.from({ length: SEGMENTS }, (_, i) => {
      const slice = img.data.subarray(i * segBytes, (i + 1) * segBytes);
      return {
        source: { kind: 'arena', sab: img.sab, offset: i * segBytes },
        dataBytes: segBytes,
        recordCount: perSegment,
        baseId: i * perSegment,
        dataCrc: crc32(slice),
        level: LEVEL,
        codec: resolveCodec('auto'),
        frameTarget: FRAME,
        targetPath: join(root, `seg-${i}.t1`),
      };
    });
    await pool.run({ ...tasks[0]!, targetPath: join(root, 'warmup.t1') }); // load the addon in a worker

    const t0 = performance.now();
    const results = (await Promise.all(tasks.map((task) => pool.run(task)))) as CompressResult[];
    const poolMs = performance.now() - t0;
    const raw = segBytes * SEGMENTS;
    const compressed = results.reduce((n, r) => n + r.compressedBytes, 0);
    assert.equal(compressed, tasks.reduce((n, task) => n + statSync(task.targetPath).size, 0));

    // Baselines on the same bytes, same run: the same tasks one after another on this thread
    // (same work: CRCs, writes, fsyncs), and the codec alone, frame after frame (no CRC, no I/O).
    const codec = loadZstd();
    const t1 = performance.now();
    for (const task of tasks) await compressSegment({ ...task, targetPath: `${task.targetPath}.serial` }, codec);
    const serialMs = performance.now() - t1;
    const t2 = performance.now();
    let codecBytes = 0;
    for (let off = 0; off < raw; off += FRAME) codecBytes += (await codec.compress(img.data.subarray(off, Math.min(raw, off + FRAME)), LEVEL)).length;
    const codecMs = performance.now() - t2;

    const mbs = (ms: number): string => (raw / MiB / (ms / 1000)).toFixed(0);
    t.diagnostic(
      `compress ${(raw / MiB).toFixed(0)} MiB of 1 KiB JSON-like records, level ${LEVEL}, ${FRAME / 1024} KiB frames: ` +
        `pool(2) ${mbs(poolMs)} MB/s, ratio ${(raw / compressed).toFixed(2)}x (${(raw / codecBytes).toFixed(2)}x frames only); ` +
        `same tasks serially in-thread ${mbs(serialMs)} MB/s (pool/serial ${(serialMs / poolMs).toFixed(2)}); codec alone, one thread ${mbs(codecMs)} MB/s; ` +
        `load average ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} cores`,
    );
    assert.ok(raw / compressed > 3, `ratio ${raw / compressed}`);
  });

  test('single-frame (256 KiB) decompress latency: in-thread and as a hydrate task', async (t) => {
    const { root, cleanup } = tempRoot('aof2-measure-');
    const pool = tier1Pool(COMPRESS_WORKER, envWith({}), 2);
    t.after(async () => {
      await pool.destroy();
      cleanup();
    });
    const img = arenaImage(jsonRecords(2000, 1024, 7), 0);
    const path = join(root, 'lat.t1');
    await pool.run({
      source: { kind: 'arena', sab: img.sab, offset: 0 },
      dataBytes: img.dataBytes,
      recordCount: img.recordCount,
      baseId: 0,
      dataCrc: img.dataCrc,
      level: LEVEL,
      codec: resolveCodec('auto'),
      frameTarget: FRAME,
      targetPath: path,
    } satisfies CompressTask);
    const meta = await readTier1Meta(path);
    const entry = meta.index[1]!;
    const codec = loadZstd();
    const { readFile } = await import('node:fs/promises');
    const file = await readFile(path);
    const compressed = file.subarray(entry.fileOffset, entry.fileOffset + entry.compressedBytes);

    const inThread: number[] = [];
    for (let i = 0; i < 300; i++) {
      const s = performance.now();
      await codec.decompress(compressed, entry.rawBytes);
      inThread.push((performance.now() - s) * 1000);
    }
    const sab = new SharedArrayBuffer(4096 + img.dataBytes);
    const task: HydrateTask = { source: { kind: 'file', path }, entry, sab, targetOffset: 4096 + entry.rawOffset, progressIndex: 1, codec: codec.implementation };
    for (let i = 0; i < 20; i++) await pool.run(task, { filename: HYDRATE_WORKER }); // warm both workers
    const viaPool: number[] = [];
    for (let i = 0; i < 300; i++) {
      const s = performance.now();
      await pool.run(task, { filename: HYDRATE_WORKER });
      viaPool.push((performance.now() - s) * 1000);
    }
    assert.ok(sameBytes(new Uint8Array(sab, 4096 + entry.rawOffset, entry.rawBytes), img.data.subarray(entry.rawOffset, entry.rawOffset + entry.rawBytes)));
    inThread.sort((a, b) => a - b);
    viaPool.sort((a, b) => a - b);
    t.diagnostic(
      `decompress one ${(entry.rawBytes / 1024).toFixed(0)} KiB frame (${entry.compressedBytes} B compressed): ` +
        `in-thread p50 ${percentile(inThread, 50).toFixed(0)} us p99 ${percentile(inThread, 99).toFixed(0)} us; ` +
        `hydrate task (read + decompress + CRC + copy + notify, via pool) p50 ${percentile(viaPool, 50).toFixed(0)} us p99 ${percentile(viaPool, 99).toFixed(0)} us`,
    );
  });
});
