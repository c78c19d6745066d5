/**
 * src/fd-limit.ts: the soft "Max open files" limit parsed from /proc/<pid>/limits text, and the
 * default `tier0.maxOpenFiles` derived from it (a quarter, between 16 and 65,536; 1024 when the
 * limit is unknown). Texts are written out here, as the kernel prints them; one test reads this
 * process's own file where there is one.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { FALLBACK_MAX_OPEN_FILES, maxOpenFilesFor, parseSoftFdLimit, softFdLimit } from '../../src/fd-limit.js';
import { MAX_OPEN_SEGMENTS } from '../../src/arena/layout.js';

/** /proc/<pid>/limits as Linux prints it, with `soft` and `hard` in the "Max open files" row. */
function limitsText(soft: string, hard: string): string {
  const row = (name: string, a: string, b: string, units: string): string => `${name.padEnd(26)}${a.padEnd(21)}${b.padEnd(21)}${units}`.trimEnd();
  return [
    row('Limit', 'Soft Limit', 'Hard Limit', 'Units'),
    row('Max cpu time', 'unlimited', 'unlimited', 'seconds'),
    row('Max file size', 'unlimited', 'unlimited', 'bytes'),
    row('Max processes', '63432', '63432', 'processes'),
    row('Max open files', soft, hard, 'files'),
    row('Max locked memory', '8388608', '8388608', 'bytes'),
    row('Max realtime timeout', 'unlimited', 'unlimited', 'us'),
    '',
  ].join('\n');
}

describe('parseSoftFdLimit', () => {
  test('reads the soft column of the "Max open files" row', () => {
    assert.equal(parseSoftFdLimit(limitsText('1024', '4096')), 1024);
    assert.equal(parseSoftFdLimit(limitsText('20000', '20000')), 20000);
    assert.equal(parseSoftFdLimit(limitsText('1048576', '1048576')), 1048576);
  });

  test('"unlimited" is Infinity', () => {
    assert.equal(parseSoftFdLimit(limitsText('unlimited', 'unlimited')), Number.POSITIVE_INFINITY);
  });

  test('a missing or malformed row is null, never a guess', () => {
    assert.equal(parseSoftFdLimit(''), null);
    assert.equal(parseSoftFdLimit(limitsText('1024', '4096').replace('Max open files', 'Max open filez')), null);
    for (const soft of ['-1', '0', '10x', '1e4', '99999999999999999999']) assert.equal(parseSoftFdLimit(limitsText(soft, '4096')), null, soft);
    // The row without its units column is not the row this parser knows.
    assert.equal(parseSoftFdLimit('Max open files            1024                 4096\n'), null);
  });

  test("this process's own /proc/self/limits parses, as the soft limit the kernel reports", (t) => {
    let text: string;
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      t.skip('no /proc/self/limits on this system');
      return;
    }
    const soft = parseSoftFdLimit(text);
    assert.ok(soft !== null && soft > 0, `parsed ${String(soft)} from:\n${text}`);
    assert.equal(softFdLimit(), soft);
  });
});

describe('maxOpenFilesFor', () => {
  test('a quarter of the limit: 4096 gives the fixed default of before', () => {
    assert.equal(maxOpenFilesFor(4096), 1024);
    assert.equal(maxOpenFilesFor(1024), 256);
    assert.equal(maxOpenFilesFor(20000), 5000);
    assert.equal(maxOpenFilesFor(4099), 1024);
  });

  test('at most the segment table size, at least 16', () => {
    assert.equal(maxOpenFilesFor(524288), MAX_OPEN_SEGMENTS);
    assert.equal(maxOpenFilesFor(Number.POSITIVE_INFINITY), MAX_OPEN_SEGMENTS);
    assert.equal(maxOpenFilesFor(40), 16);
    assert.equal(maxOpenFilesFor(1), 16);
  });

  test('an unknown limit gives the fallback, 1024', () => {
    assert.equal(maxOpenFilesFor(null), FALLBACK_MAX_OPEN_FILES);
    assert.equal(FALLBACK_MAX_OPEN_FILES, 1024);
  });
});
