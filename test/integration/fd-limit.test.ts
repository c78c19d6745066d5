/**
 * The process's fd limit against the flush worker's open-file budget (`tier0.maxOpenFiles`), in a
 * real child process under a real `ulimit -n` (support/fd-limit-child.ts):
 * - a budget above what the limit leaves: the flush worker meets EMFILE, and it comes out as
 *   AOF_ERR_IO with `details.errno` EMFILE, the segment's path, and a message that names the limit
 *   and the option (before issue 12's fix: "create segment file failed for (unknown): EMFILE");
 * - a budget below it: the same streams are written and flushed, every segment file reopened as
 *   needed, no error;
 * - no budget given: the default, derived from the limit (a quarter of it: src/fd-limit.ts), is
 *   below it too, where the fixed default of before (1024) met EMFILE.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempRoot } from '../../support/tmp.js';

const CHILD = fileURLToPath(new URL('../../support/fd-limit-child.js', import.meta.url));
/** The child's fd limit: Node, its worker threads and the manager need about 60 of them. */
const LIMIT = 256;
/** More streams than LIMIT: one open segment each. */
const STREAMS = 600;

function runChild(root: string, maxOpenFiles: number | 'default'): Record<string, unknown> {
  // `ulimit -n` without -S/-H sets both limits, so Node's start-up cannot raise the soft one.
  const out = execFileSync('bash', ['-c', `ulimit -n ${LIMIT} && exec "${process.execPath}" "${CHILD}" "$0" ${STREAMS} ${maxOpenFiles}`, root], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  const line = out.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Record<string, unknown>;
}

test(`ulimit -n ${LIMIT}, ${STREAMS} streams, maxOpenFiles 1024 (above the limit): AOF_ERR_IO EMFILE with the path and a hint`, (t) => {
  const { root, cleanup } = tempRoot('aof2-fdlimit-');
  t.after(cleanup);
  const result = runChild(root, 1024);
  t.diagnostic(JSON.stringify(result));
  assert.equal(result['ok'], false);
  assert.equal(result['code'], 'AOF_ERR_IO');
  assert.equal(result['errno'], 'EMFILE');
  const message = String(result['message']);
  assert.match(message, /segment file failed for \/.*\.seg: EMFILE/, 'names the segment file, not "(unknown)"');
  assert.match(message, /out of file descriptors.*ulimit -n.*tier0\.maxOpenFiles/);
});

test(`ulimit -n ${LIMIT}, ${STREAMS} streams, maxOpenFiles 64: every stream written and flushed`, (t) => {
  const { root, cleanup } = tempRoot('aof2-fdlimit-');
  t.after(cleanup);
  const result = runChild(root, 64);
  t.diagnostic(JSON.stringify(result));
  assert.equal(result['ok'], true, String(result['message']));
  assert.ok(Number(result['openSegmentFiles']) <= 64);
  assert.ok(Number(result['reopens']) > 0, 'flushing 600 segments through 64 fds reopened files');
});

test(`ulimit -n ${LIMIT}, ${STREAMS} streams, no maxOpenFiles: the default follows the limit, every stream written and flushed`, (t) => {
  const { root, cleanup } = tempRoot('aof2-fdlimit-');
  t.after(cleanup);
  const result = runChild(root, 'default');
  t.diagnostic(JSON.stringify(result));
  assert.equal(result['ok'], true, String(result['message']));
  assert.equal(result['maxOpenFiles'], LIMIT / 4);
  assert.ok(Number(result['openSegmentFiles']) <= LIMIT / 4);
  assert.ok(Number(result['reopens']) > 0, `flushing ${STREAMS} segments through ${LIMIT / 4} fds reopened files`);
});
