/**
 * Errors crossing a real thread boundary: why piscina task modules throw a flattened
 * SerializedAofError (a thrown AofError loses its code in structured clone), what
 * fromWorkerRejection rebuilds, and AofError.deserialize on messages from a plain worker thread.
 * The pure parts (no thread) are unit tests: test/unit/worker-error.test.ts, test/unit/errors.test.ts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { AofError, ErrorCode, type SerializedAofError } from '../../src/errors.js';
import { fromWorkerRejection, isSerializedAofError } from '../../src/worker-error.js';
import { PACKAGE_ROOT } from '../../support/paths.js';
import type { ThrowMode } from '../../support/throwing-task.js';
import { tier1Pool } from '../../support/tier1.js';

const pool = tier1Pool(new URL('../../support/throwing-task.js', import.meta.url).href, undefined, 1);
after(() => pool.destroy());

async function rejection(mode: ThrowMode, path = '/nonexistent/aof2/x'): Promise<unknown> {
  try {
    await pool.run({ mode, path });
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('errors across a piscina task boundary', () => {
  test('a thrown AofError arrives as a plain Error without its code (which is why tasks flatten)', async () => {
    const err = await rejection('raw-aof-error');
    assert.ok(err instanceof Error);
    assert.ok(!(err instanceof AofError));
    assert.equal((err as { code?: unknown }).code, undefined);
    assert.equal(fromWorkerRejection(err).code, ErrorCode.WORKER_FAILED);
  });

  test('a flattened AofError is rebuilt with its code, details and the worker stack', async () => {
    const raw = await rejection('flattened-aof-error');
    assert.ok(isSerializedAofError(raw));
    const err = fromWorkerRejection(raw);
    assert.ok(err instanceof AofError);
    assert.equal(err.code, ErrorCode.INJECTED);
    assert.deepEqual(err.details, { job: 'hydrate', where: 'x' });
    assert.match(err.stack ?? '', /throwing-task/);
  });

  test('an fs error becomes AOF_ERR_IO with errno and path; anything else AOF_ERR_WORKER_FAILED', async () => {
    const missing = join('/nonexistent', 'aof2', 'segment.seg');
    const io = fromWorkerRejection(await rejection('flattened-fs-error', missing));
    assert.equal(io.code, ErrorCode.IO);
    assert.deepEqual(io.details, { path: missing, errno: 'ENOENT' });
    const bug = fromWorkerRejection(await rejection('flattened-type-error'));
    assert.equal(bug.code, ErrorCode.WORKER_FAILED);
    assert.match(bug.message, /a bug/);
    assert.match(bug.stack ?? '', /TypeError: a bug/);
  });
});

describe('errors posted from a plain worker thread', () => {
  test('errors posted from a real worker thread are rebuilt with their codes', async () => {
    const missingPath = join(PACKAGE_ROOT, 'does-not-exist', 'x.seg');
    const worker = new Worker(new URL('../../support/error-worker.js', import.meta.url), { workerData: { missingPath } });
    const messages = await new Promise<SerializedAofError[]>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    const [io, wouldBlock, unknown] = messages.map((m) => AofError.deserialize(m));
    assert.equal(io?.code, ErrorCode.IO);
    assert.deepEqual(io?.details, { path: missingPath, errno: 'ENOENT' });
    assert.match(io?.stack ?? '', /error-worker/); // the worker's stack, not this thread's
    // `cause` is the worker's fs error, rebuilt with its errno fields (docs/errors.md, README).
    const cause = io?.cause as NodeJS.ErrnoException | undefined;
    assert.ok(cause instanceof Error, 'AOF_ERR_IO from a worker has a cause');
    assert.equal(cause.code, 'ENOENT');
    assert.equal(cause.errno, -2);
    assert.equal(cause.syscall, 'open');
    assert.equal(cause.path, missingPath);
    assert.match(cause.message, /ENOENT: no such file or directory/);
    assert.equal(wouldBlock?.cause, undefined);
    assert.equal(wouldBlock?.code, ErrorCode.WOULD_BLOCK);
    assert.deepEqual(wouldBlock?.details, { kind: 'tier2' });
    assert.equal(unknown?.code, ErrorCode.WORKER_FAILED);
    assert.equal(unknown?.message, 'from the future');
    assert.deepEqual(unknown?.details, { offset: 8 });
  });
});
