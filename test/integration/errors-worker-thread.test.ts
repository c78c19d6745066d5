/**
 * AofError.serialize/deserialize across a real worker thread (support/error-worker.ts): codes,
 * details, the worker's stack and an fs `cause` survive the trip. The round trip through
 * structured clone in this thread, and everything else about AofError, is test/unit/errors.test.ts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { AofError, ErrorCode, type SerializedAofError } from '../../src/errors.js';
import { PACKAGE_ROOT } from '../../support/paths.js';

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
