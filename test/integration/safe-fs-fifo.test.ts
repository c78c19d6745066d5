/**
 * src/safe-fs.ts on a FIFO (made with `mkfifo`, a child process, hence not a unit test): no open
 * mode accepts it, and opening it does not block (a plain open of a FIFO waits for a writer).
 * The other cases are test/unit/safe-fs.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { AofError, ErrorCode } from '../../src/errors.js';
import { OpenMode, openFileSync, readRegularFile } from '../../src/safe-fs.js';
import { tempRoot } from '../../support/tmp.js';

test('a FIFO is not a regular file, and opening one does not block', async (t) => {
  const { root, cleanup } = tempRoot('aof2-safe-fs-fifo-');
  t.after(cleanup);
  const fifo = join(root, 'fifo');
  execFileSync('mkfifo', [fifo]);
  for (const mode of [OpenMode.READ, OpenMode.UPDATE, OpenMode.REPLACE]) {
    assert.throws(() => openFileSync(fifo, mode), (err: unknown) => {
      assert.ok(err instanceof AofError, String(err));
      assert.equal(err.code, ErrorCode.UNSAFE_PATH);
      assert.equal(err.details?.['found'], 'fifo');
      return true;
    });
  }
  await assert.rejects(readRegularFile(fifo), (err: unknown) => {
    assert.ok(err instanceof AofError, String(err));
    assert.equal(err.code, ErrorCode.UNSAFE_PATH);
    assert.equal(err.details?.['found'], 'fifo');
    return true;
  });
});
