/**
 * Failpoints in real piscina pools over the compiled compress/hydrate workers (crash = the worker
 * thread exits and the pool carries on with a new one; error = AOF_ERR_INJECTED; unset = nothing
 * happens). Parsing AOF2_FAILPOINTS and the seeded draws are unit tests:
 * test/unit/workers/failpoints.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { AofError, ErrorCode } from '../../src/errors.js';
import { resolveCodec } from '../../src/codec/zstd.js';
import { readTier1Meta } from '../../src/format/tier1-file.js';
import type { CompressResult, CompressTask, HydrateTask } from '../../workers/tier1-protocol.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';
import { COMPRESS_WORKER, HYDRATE_WORKER, arenaImage, envWith, jsonRecords, rebuilt, tier1Pool } from '../../support/tier1.js';

const records = jsonRecords(300, 900, 11);
const img = arenaImage(records, 4096);
/** The implementation the engine would hand these pools at defaults. */
const CODEC = resolveCodec('auto');
let root: string;
let cleanup: () => void;

before(() => {
  ({ root, cleanup } = tempRoot('aof2-failpoints-'));
});
after(() => cleanup());

function compressTask(targetPath: string): CompressTask {
  return {
    source: { kind: 'arena', sab: img.sab, offset: img.offset },
    dataBytes: img.dataBytes,
    recordCount: img.recordCount,
    baseId: 0,
    dataCrc: img.dataCrc,
    level: 3,
    codec: CODEC,
    frameTarget: 32 * 1024,
    targetPath,
  };
}

function hydrateTask(path: string, res: CompressResult, sab: SharedArrayBuffer): HydrateTask {
  return { source: { kind: 'file', path }, entry: res.index[0]!, sab, targetOffset: 4096, progressIndex: 1, codec: CODEC };
}


describe('process.exit in a worker thread', () => {
  test('ends only that thread, with exit code 1', async () => {
    const w = new Worker('process.exit(1); setTimeout(() => {}, 10000);', { eval: true });
    const code = await new Promise<number>((resolve) => w.once('exit', resolve));
    assert.equal(code, 1);
    // This thread is alive and can start another worker.
    const w2 = new Worker('require("node:worker_threads").parentPort.postMessage(41 + 1)', { eval: true });
    // Listened for from the start: a thread that ends at once can deliver its message and its exit
    // in one turn of the event loop, before code awaiting the message could add the listener.
    const exited = new Promise((resolve) => w2.once('exit', resolve));
    assert.equal(await new Promise((resolve) => w2.once('message', resolve)), 42);
    await exited;
  });
});

describe('failpoints in real pools', () => {
  test('compress.crash=1: the task rejects as AOF_ERR_WORKER_FAILED, leaves only a .tmp orphan, and a new worker takes the next task', async (t) => {
    const pool = tier1Pool(COMPRESS_WORKER, envWith({ AOF2_FAILPOINTS: 'compress.crash=1', AOF2_FAILPOINTS_SEED: '1' }), 1);
    t.after(() => pool.destroy());
    const target = join(root, 'crashed.t1');
    const firstThread = pool.threads[0]?.threadId;
    assert.ok(firstThread !== undefined, 'minThreads 1 starts a worker at once');
    await assert.rejects(rebuilt(pool.run(compressTask(target))), (err: AofError) => {
      assert.equal(err.code, ErrorCode.WORKER_FAILED);
      assert.match(err.message, /exited with code: 1/);
      return true;
    });
    assert.ok(!existsSync(target), 'never a file at targetPath');
    assert.ok(existsSync(`${target}.tmp`), 'the crash left its temp file');
    // The pool survived: the next task (a hydrate, which has no failpoint set) runs on a new worker.
    const okPath = join(root, 'ok-for-hydrate.t1');
    const okPool = tier1Pool(COMPRESS_WORKER, envWith({}), 1);
    t.after(() => okPool.destroy());
    const res = (await okPool.run(compressTask(okPath))) as CompressResult;
    const sab = new SharedArrayBuffer(4096 + res.index[0]!.rawBytes);
    assert.deepEqual(await rebuilt(pool.run(hydrateTask(okPath, res, sab), { filename: HYDRATE_WORKER })), { rawBytes: res.index[0]!.rawBytes });
    assert.equal(Atomics.load(new Int32Array(sab), 1), 1);
    assert.equal(pool.threads.length, 1);
    assert.notEqual(pool.threads[0]!.threadId, firstThread, 'a new worker replaced the crashed one');
  });

  test('hydrate.error=1: the task rejects with AOF_ERR_INJECTED and shared memory is untouched', async (t) => {
    const path = join(root, 'for-hydrate-error.t1');
    const okPool = tier1Pool(COMPRESS_WORKER, envWith({}), 1);
    t.after(() => okPool.destroy());
    const res = (await okPool.run(compressTask(path))) as CompressResult;
    const pool = tier1Pool(HYDRATE_WORKER, envWith({ AOF2_FAILPOINTS: 'hydrate.error=1', AOF2_FAILPOINTS_SEED: '5' }), 1);
    t.after(() => pool.destroy());
    const sab = new SharedArrayBuffer(4096 + res.index[0]!.rawBytes);
    for (let i = 0; i < 3; i++) {
      await assert.rejects(rebuilt(pool.run(hydrateTask(path, res, sab))), (err: AofError) => {
        assert.equal(err.code, ErrorCode.INJECTED);
        assert.deepEqual({ job: err.details?.['job'], kind: err.details?.['kind'], where: err.details?.['where'], seed: err.details?.['seed'] }, {
          job: 'hydrate',
          kind: 'error',
          where: 'before-publish',
          seed: 5,
        });
        return true;
      });
    }
    assert.ok(new Uint8Array(sab).every((b) => b === 0));
    // An error is not a crash: the same worker served all three.
    assert.equal(pool.threads.length, 1);
  });

  test('compress.crash=0.5 (seeded): retrying each segment until it succeeds gives intact files', async (t) => {
    // One thread: the draws then depend only on the seed and the (sequential) spawn order, so the
    // counts below are the same on every run.
    const pool = tier1Pool(COMPRESS_WORKER, envWith({ AOF2_FAILPOINTS: 'compress.crash=0.5,compress.error=0.3', AOF2_FAILPOINTS_SEED: '1234' }), 1);
    t.after(() => pool.destroy());
    let crashes = 0;
    let errors = 0;
    const results = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const target = join(root, `retry-${i}.t1`);
        for (let attempt = 0; attempt < 100; attempt++) {
          try {
            return { target, res: await rebuilt(pool.run(compressTask(target)) as Promise<CompressResult>) };
          } catch (err) {
            const code = (err as AofError).code;
            if (code === ErrorCode.WORKER_FAILED) crashes++;
            else if (code === ErrorCode.INJECTED) errors++;
            else throw err;
            assert.ok(!existsSync(target), 'a failed attempt never leaves a file at targetPath');
          }
        }
        throw new Error('no success in 100 attempts');
      }),
    );
    assert.ok(crashes > 0 && errors > 0, `expected some of each: ${crashes} crashes, ${errors} errors`);
    for (const { target, res } of results) {
      assert.deepEqual((await readTier1Meta(target)).index, res.index);
      assert.ok(!existsSync(`${target}.tmp`), 'the successful retry overwrote and renamed the orphan');
    }
    t.diagnostic(`${crashes} injected crashes and ${errors} injected errors over 8 segments`);
  });

  test('unset: many compress and hydrate tasks, none fails', async (t) => {
    const pool = tier1Pool(COMPRESS_WORKER, envWith({}), 2);
    t.after(() => pool.destroy());
    const path = join(root, 'unset.t1');
    const res = (await pool.run(compressTask(path))) as CompressResult;
    const sab = new SharedArrayBuffer(4096 + img.dataBytes);
    await Promise.all(
      res.index.map((entry) =>
        pool.run({ source: { kind: 'file', path }, entry, sab, targetOffset: 4096 + entry.rawOffset, progressIndex: 1, codec: CODEC } satisfies HydrateTask, { filename: HYDRATE_WORKER }),
      ),
    );
    assert.ok(res.frameCount > 5 && res.frameCount <= 31);
    assert.equal(Atomics.load(new Int32Array(sab), 1), res.frameCount);
    assert.ok(sameBytes(new Uint8Array(sab, 4096), img.data));
    for (let i = 0; i < 20; i++) await pool.run(compressTask(join(root, `unset-${i}.t1`)));
  });

  test('an invalid AOF2_FAILPOINTS fails every task at its start with a coded error', async (t) => {
    const pool = tier1Pool(COMPRESS_WORKER, envWith({ AOF2_FAILPOINTS: 'compress.crahs=0.1' }), 1);
    t.after(() => pool.destroy());
    const target = join(root, 'invalid-env.t1');
    await assert.rejects(rebuilt(pool.run(compressTask(target))), (err: AofError) => {
      assert.equal(err.code, ErrorCode.INVALID_ARGUMENT);
      assert.match(err.message, /AOF2_FAILPOINTS: unknown kind "crahs"/);
      return true;
    });
    assert.ok(!existsSync(`${target}.tmp`), 'refused before any work');
  });
});
