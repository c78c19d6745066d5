import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  AofError,
  ErrorCode,
  WouldBlockError,
  WouldBlockKind,
  type ErrorCodeValue,
  type SerializedAofError,
} from '../../src/errors.js';
import { PACKAGE_ROOT } from '../../support/paths.js';

const CODES = Object.values(ErrorCode);
const KINDS = Object.values(WouldBlockKind);

/** docs/errors.md, found from the package root (this test runs from dist/test/unit/). */
const DOC = readFileSync(join(PACKAGE_ROOT, 'docs', 'errors.md'), 'utf8');

/** Cells of every markdown table row whose first cell is a backticked word, keyed by that word. */
function tableRows(markdown: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of markdown.split('\n')) {
    const m = /^\|\s*`([^`]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (m === null) continue;
    assert.ok(!rows.has(m[1]!), `duplicate row for ${m[1]}`);
    rows.set(m[1]!, m[2]!.split('|').map((c) => c.trim()));
  }
  return rows;
}

describe('ErrorCode', () => {
  test('every code is AOF_ERR_<KEY> and unique', () => {
    for (const [key, code] of Object.entries(ErrorCode)) assert.equal(code, `AOF_ERR_${key}`);
    assert.equal(new Set(CODES).size, CODES.length);
  });

  test('docs/errors.md has exactly one complete table row per code, and no row for a code that does not exist', () => {
    const rows = tableRows(DOC);
    for (const code of CODES) {
      const cells = rows.get(code);
      assert.ok(cells !== undefined, `docs/errors.md has no table row for ${code}`);
      // code | when | what to do | data affected
      assert.equal(cells.length, 3, `${code}: expected when / what to do / data affected`);
      for (const cell of cells) assert.ok(cell.length > 1, `${code} has an empty cell`);
    }
    const documentedCodes = [...rows.keys()].filter((k) => k.startsWith('AOF_ERR_'));
    assert.deepEqual(documentedCodes.filter((c) => !CODES.includes(c as ErrorCodeValue)), [], 'rows for unknown codes');
  });

  test('docs/errors.md documents every WouldBlock kind', () => {
    const rows = tableRows(DOC);
    for (const kind of KINDS) assert.ok(rows.has(kind), `docs/errors.md has no row for WouldBlock kind ${kind}`);
  });
});

describe('AofError', () => {
  test('is an Error with a code, details and cause', () => {
    const cause = new Error('root cause');
    const err = new AofError(ErrorCode.IO, 'it broke', { cause, details: { path: '/x' } });
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'AofError');
    assert.equal(err.code, 'AOF_ERR_IO');
    assert.equal(err.message, 'it broke');
    assert.deepEqual(err.details, { path: '/x' });
    assert.equal(err.cause, cause);
    assert.equal(new AofError(ErrorCode.CLOSED, 'x').details, undefined);
    assert.ok(!('cause' in new AofError(ErrorCode.CLOSED, 'x')));
  });

  test('factories set their codes', () => {
    assert.equal(AofError.closed('manager').code, ErrorCode.CLOSED);
    assert.match(AofError.closed('manager').message, /manager is closed/);
    const bad = AofError.invalidArgument('nope', { option: 'x' });
    assert.equal(bad.code, ErrorCode.INVALID_ARGUMENT);
    assert.deepEqual(bad.details, { option: 'x' });
    assert.equal(AofError.corrupt('crc', { offset: 4 }).code, ErrorCode.CORRUPT);
    const enospc = Object.assign(new Error('no space'), { code: 'ENOSPC' });
    const io = AofError.io('write segment', '/data/s/1.seg', enospc);
    assert.equal(io.code, ErrorCode.IO);
    assert.deepEqual(io.details, { path: '/data/s/1.seg', errno: 'ENOSPC' });
    assert.equal(io.cause, enospc);
    assert.match(io.message, /write segment failed for \/data\/s\/1\.seg: ENOSPC/);
    assert.equal(AofError.io('read', '/p', 'not an error').details?.['errno'], 'unknown');
    // Out of fds: still AOF_ERR_IO with the errno in details, and a message that names the limit and the option.
    for (const errno of ['EMFILE', 'ENFILE']) {
      const out = AofError.io('create segment file', '/data/s/2.seg', Object.assign(new Error('too many'), { code: errno }));
      assert.equal(out.code, ErrorCode.IO);
      assert.equal(out.details?.['errno'], errno);
      assert.match(out.message, new RegExp(`create segment file failed for /data/s/2\\.seg: ${errno} \\(the (process|system) is out of file descriptors.*tier0\\.maxOpenFiles`));
    }
  });

  test('serialize()/deserialize() round-trip code, message, details and stack for every code, through structured clone', () => {
    for (const code of CODES) {
      const original = new AofError(code, `message for ${code}`, { details: { path: '/a/b', n: 7, nested: { list: [1, 'two'] } } });
      const wire: SerializedAofError = structuredClone(original.serialize());
      const rebuilt = AofError.deserialize(wire);
      assert.ok(rebuilt instanceof AofError);
      assert.equal(rebuilt.code, code);
      assert.equal(rebuilt.message, `message for ${code}`);
      assert.deepEqual(rebuilt.details, { path: '/a/b', n: 7, nested: { list: [1, 'two'] } });
      assert.equal(rebuilt.stack, original.stack);
    }
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    const io = AofError.deserialize(structuredClone(AofError.io('write segment', '/d/1.seg', enospc).serialize()));
    const cause = io.cause as NodeJS.ErrnoException;
    assert.ok(cause instanceof Error);
    assert.deepEqual([cause.code, cause.errno, cause.syscall, cause.message], ['ENOSPC', -28, 'write', enospc.message]);
    assert.equal(cause.stack, enospc.stack);
    const bare = AofError.deserialize({ code: ErrorCode.CLOSED, message: 'gone' });
    assert.equal(bare.details, undefined);
    assert.match(bare.stack ?? '', /gone/); // no stack on the wire: keeps its own
  });

  test('an unknown code deserializes to AOF_ERR_WORKER_FAILED, keeping message and details', () => {
    for (const code of ['AOF_ERR_SOMETHING_NEW', '', 'ENOSPC', 'aof_err_io']) {
      const err = AofError.deserialize({ code, message: 'strange', details: { original: code } });
      assert.equal(err.code, ErrorCode.WORKER_FAILED);
      assert.equal(err.message, 'strange');
      assert.deepEqual(err.details, { original: code });
    }
  });
});

describe('WouldBlockError', () => {
  test('is an AofError with code AOF_ERR_WOULD_BLOCK and a kind, for every kind', () => {
    for (const kind of KINDS) {
      const err = new WouldBlockError(kind, `blocked on ${kind}`);
      assert.ok(err instanceof WouldBlockError);
      assert.ok(err instanceof AofError);
      assert.ok(err instanceof Error);
      assert.equal(err.name, 'WouldBlockError');
      assert.equal(err.code, ErrorCode.WOULD_BLOCK);
      assert.equal(err.kind, kind);
      assert.deepEqual(err.details, { kind });
      assert.deepEqual(AofError.deserialize(structuredClone(err.serialize())).details, { kind });
    }
    assert.deepEqual([...KINDS].sort(), ['admission', 'compression', 'flush', 'hydration', 'rollover', 'tier2']);
  });
});
