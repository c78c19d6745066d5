/**
 * Errors crossing a real piscina boundary: why task modules throw a flattened SerializedAofError
 * (a thrown AofError loses its code in structured clone), and what fromWorkerRejection rebuilds.
 * The same functions on values built in this thread: test/unit/worker-error.test.ts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { AofError, ErrorCode } from '../../src/errors.js';
import { fromWorkerRejection, isSerializedAofError } from '../../src/worker-error.js';
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
