/**
 * The `readOnly` option: false or absent (a writer), true (the defaults) or `{ refreshMs, publishTail, syncTailReads }`,
 * validated like every other option (unknown keys and impossible values are refused by name).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULTS, MAX_READ_ONLY_REFRESH_MS, resolveConfig } from '../../src/config.js';
import { AofError, ErrorCode } from '../../src/errors.js';

const root = '/tmp/aof2-config-never-created';

test('readOnly: absent or false is a writer, true takes the defaults, an object sets them', () => {
  assert.equal(resolveConfig({ root }).readOnly, null);
  assert.equal(resolveConfig({ root, readOnly: false }).readOnly, null);
  assert.deepEqual(resolveConfig({ root, readOnly: true }).readOnly, { refreshMs: DEFAULTS.readOnlyRefreshMs, publishTail: true, syncTailReads: null });
  assert.deepEqual(resolveConfig({ root, readOnly: {} }).readOnly, { refreshMs: DEFAULTS.readOnlyRefreshMs, publishTail: true, syncTailReads: null });
  assert.deepEqual(resolveConfig({ root, readOnly: { refreshMs: 7 } }).readOnly, { refreshMs: 7, publishTail: true, syncTailReads: null });
  assert.deepEqual(resolveConfig({ root, readOnly: { refreshMs: MAX_READ_ONLY_REFRESH_MS } }).readOnly, { refreshMs: MAX_READ_ONLY_REFRESH_MS, publishTail: true, syncTailReads: null });
  assert.deepEqual(resolveConfig({ root, readOnly: { publishTail: false } }).readOnly, { refreshMs: DEFAULTS.readOnlyRefreshMs, publishTail: false, syncTailReads: null });
  assert.deepEqual(resolveConfig({ root, readOnly: { syncTailReads: false } }).readOnly, { refreshMs: DEFAULTS.readOnlyRefreshMs, publishTail: true, syncTailReads: false });
});

test('readOnly: wrong types, impossible intervals and unknown keys are refused by name', () => {
  const refused = (readOnly: unknown, code: string, mentions: string): void => {
    assert.throws(
      () => resolveConfig({ root, readOnly }),
      (err: unknown) => err instanceof AofError && err.code === code && err.message.includes(mentions),
      JSON.stringify(readOnly),
    );
  };
  refused('yes', ErrorCode.INVALID_ARGUMENT, 'readOnly');
  refused(null, ErrorCode.INVALID_ARGUMENT, 'readOnly');
  refused([1], ErrorCode.INVALID_ARGUMENT, 'readOnly');
  refused({ refreshMs: 0 }, ErrorCode.INVALID_ARGUMENT, 'readOnly.refreshMs');
  refused({ refreshMs: 2.5 }, ErrorCode.INVALID_ARGUMENT, 'readOnly.refreshMs');
  refused({ refreshMs: MAX_READ_ONLY_REFRESH_MS + 1 }, ErrorCode.INVALID_ARGUMENT, 'readOnly.refreshMs');
  refused({ refreshMS: 10 }, ErrorCode.UNKNOWN_OPTION, 'readOnly.refreshMS');
  refused({ publishTail: 'no' }, ErrorCode.INVALID_ARGUMENT, 'readOnly.publishTail');
  refused({ syncTailReads: 1 }, ErrorCode.INVALID_ARGUMENT, 'readOnly.syncTailReads');
});
