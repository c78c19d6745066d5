/**
 * `tier0` options added by issue 12: `prefault`, `writeDelayMs`, `maxOpenFiles` and `readerReserveBytes`, their
 * defaults, their validation, and the rule that `fsync: 'always'` never has a write delay.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULTS, MAX_OPEN_FILES, MAX_WRITE_DELAY_MS, resolveConfig } from '../../src/config.js';
import { AofError, ErrorCode } from '../../src/errors.js';
import { maxOpenFilesFor, softFdLimit } from '../../src/fd-limit.js';

const root = '/tmp/aof2-config-never-created';

function rejects(tier0: unknown, code: string, mentions: string, fsync?: string): void {
  assert.throws(
    () => resolveConfig({ root, tier0, ...(fsync !== undefined && { fsync }) }),
    (err: unknown) => {
      assert.ok(err instanceof AofError, String(err));
      assert.equal(err.code, code, err.message);
      assert.ok(err.message.includes(mentions), `message ${JSON.stringify(err.message)} should mention ${mentions}`);
      return true;
    },
    JSON.stringify(tier0),
  );
}

describe('tier0.prefault and tier0.writeDelayMs', () => {
  test("defaults: prefault 'background', a 25 ms write delay", () => {
    const config = resolveConfig({ root });
    assert.equal(config.prefault, 'background');
    assert.equal(config.writeDelayMs, 25);
    assert.equal(DEFAULTS.writeDelayMs, 25);
  });

  test('every mode and any delay in [0, MAX_WRITE_DELAY_MS] resolve as given', () => {
    for (const prefault of ['open', 'background', 'off'] as const) assert.equal(resolveConfig({ root, tier0: { prefault } }).prefault, prefault);
    for (const writeDelayMs of [0, 0.5, 3, MAX_WRITE_DELAY_MS]) assert.equal(resolveConfig({ root, tier0: { writeDelayMs } }).writeDelayMs, writeDelayMs);
  });

  test("fsync 'always' resolves to no write delay, whatever was asked", () => {
    assert.equal(resolveConfig({ root, fsync: 'always', tier0: { writeDelayMs: 50 } }).writeDelayMs, 0);
    assert.equal(resolveConfig({ root, fsync: 'always' }).writeDelayMs, 0);
    assert.equal(resolveConfig({ root, fsync: 'never', tier0: { writeDelayMs: 50 } }).writeDelayMs, 50);
  });

  test('bad values are refused with a message that names the option', () => {
    for (const prefault of ['eager', true, 1, null]) rejects({ prefault }, ErrorCode.INVALID_ARGUMENT, 'tier0.prefault');
    for (const writeDelayMs of [-1, MAX_WRITE_DELAY_MS + 1, Number.NaN, Number.POSITIVE_INFINITY, '5', null]) {
      rejects({ writeDelayMs }, ErrorCode.INVALID_ARGUMENT, 'tier0.writeDelayMs');
    }
    rejects({ prefaults: 'off' }, ErrorCode.UNKNOWN_OPTION, 'tier0.prefaults');
  });
});

describe('tier0.maxOpenFiles', () => {
  test("default: derived from this process's fd limit; any integer in [1, MAX_OPEN_FILES] resolves as given", () => {
    // The derivation itself is test/unit/fd-limit.test.ts; here, that the default is that one.
    assert.equal(resolveConfig({ root }).maxOpenFiles, maxOpenFilesFor(softFdLimit()));
    for (const maxOpenFiles of [1, 2, 256, MAX_OPEN_FILES]) assert.equal(resolveConfig({ root, tier0: { maxOpenFiles } }).maxOpenFiles, maxOpenFiles);
  });

  test('bad values are refused with a message that names the option', () => {
    for (const maxOpenFiles of [0, -1, 1.5, MAX_OPEN_FILES + 1, Number.NaN, Number.POSITIVE_INFINITY, '256', null]) {
      rejects({ maxOpenFiles }, ErrorCode.INVALID_ARGUMENT, 'tier0.maxOpenFiles');
    }
    rejects({ maxOpenFile: 8 }, ErrorCode.UNKNOWN_OPTION, 'tier0.maxOpenFile');
  });
});

describe('tier0.readerReserveBytes', () => {
  test('default an eighth of the arena; any integer from 0 to the arena less a segment resolves as given', () => {
    assert.equal(resolveConfig({ root }).readerReserveBytes, 16 * 1024 * 1024);
    assert.equal(DEFAULTS.readerReserveFraction, 1 / 8);
    const tier0 = { arenaBytes: 8 * 65536, segmentBytes: 65536 };
    assert.equal(resolveConfig({ root, tier0 }).readerReserveBytes, 65536, 'an eighth of the resolved arena');
    // The resolved arena is whole segments: 8.5 segments asked are 8.
    assert.equal(resolveConfig({ root, tier0: { ...tier0, arenaBytes: 8.5 * 65536 } }).readerReserveBytes, 65536);
    for (const readerReserveBytes of [0, 1, 4096, 7 * 65536]) {
      assert.equal(resolveConfig({ root, tier0: { ...tier0, readerReserveBytes } }).readerReserveBytes, readerReserveBytes);
    }
  });

  test('bad values are refused with a message that names the option and the range', () => {
    const tier0 = { arenaBytes: 8 * 65536, segmentBytes: 65536 };
    for (const readerReserveBytes of [-1, 1.5, 7 * 65536 + 1, 8 * 65536, Number.NaN, Number.POSITIVE_INFINITY, '4096', null]) {
      rejects({ ...tier0, readerReserveBytes }, ErrorCode.INVALID_ARGUMENT, 'tier0.readerReserveBytes');
    }
    rejects({ ...tier0, readerReserveBytes: 8 * 65536 }, ErrorCode.INVALID_ARGUMENT, `[0, ${7 * 65536}]`);
  });
});
