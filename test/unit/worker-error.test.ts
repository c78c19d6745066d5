/**
 * fromWorkerRejection and isSerializedAofError on values built in this thread. What they do with
 * rejections from a real piscina pool is test/integration/worker-error.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofError, ErrorCode } from '../../src/errors.js';
import { fromWorkerRejection, isSerializedAofError } from '../../src/worker-error.js';

test('fromWorkerRejection passes AofErrors through and wraps anything else', () => {
  const e = AofError.corrupt('x', {});
  assert.equal(fromWorkerRejection(e), e);
  const wrapped = fromWorkerRejection('a string');
  assert.equal(wrapped.code, ErrorCode.WORKER_FAILED);
  assert.equal(wrapped.cause, 'a string');
  assert.equal(isSerializedAofError(new Error('x')), false);
  assert.equal(isSerializedAofError({ code: 'AOF_ERR_IO' }), false);
});
