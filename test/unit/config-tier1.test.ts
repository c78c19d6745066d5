/**
 * `tier1.rawBacklogBytes`: its default (4 arenas, at most half of `tier1.maxBytes`, at least one
 * segment) and its validation (a positive integer of at least one segment, with the option named).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULTS, rawBacklogDefault, resolveConfig } from '../../src/config.js';
import { AofError, ErrorCode } from '../../src/errors.js';

const root = '/tmp/aof2-config-never-created';
const MiB = 1024 * 1024;

describe('tier1.rawBacklogBytes', () => {
  test('defaults to 4 arenas (512 MiB with the default arena), capped at half of tier1.maxBytes, never below one segment', () => {
    assert.equal(resolveConfig({ root }).tier1.rawBacklogBytes, 4 * DEFAULTS.arenaBytes);
    assert.equal(resolveConfig({ root }).tier1.rawBacklogBytes, 512 * MiB);
    assert.equal(resolveConfig({ root, tier0: { arenaBytes: 8 * 64 * 1024, segmentBytes: 64 * 1024 } }).tier1.rawBacklogBytes, 32 * 64 * 1024);
    assert.equal(resolveConfig({ root, tier1: { maxBytes: 256 * MiB } }).tier1.rawBacklogBytes, 128 * MiB);
    // A Tier 1 budget smaller than two segments: the floor of one segment wins.
    assert.equal(resolveConfig({ root, tier1: { maxBytes: 1 } }).tier1.rawBacklogBytes, DEFAULTS.segmentBytes);
    assert.equal(rawBacklogDefault(100, 10, 60), 30);
  });

  test('an explicit value is kept', () => {
    assert.equal(resolveConfig({ root, tier1: { rawBacklogBytes: 64 * MiB } }).tier1.rawBacklogBytes, 64 * MiB);
    assert.equal(resolveConfig({ root, tier1: { rawBacklogBytes: DEFAULTS.segmentBytes } }).tier1.rawBacklogBytes, DEFAULTS.segmentBytes);
  });

  test('rejects non-integers, non-positive values and a budget below one segment, naming the option', () => {
    for (const bad of [0, -1, 1.5, '1', null, Number.POSITIVE_INFINITY, DEFAULTS.segmentBytes - 1]) {
      assert.throws(
        () => resolveConfig({ root, tier1: { rawBacklogBytes: bad } }),
        (err: unknown) => {
          assert.ok(err instanceof AofError, String(err));
          assert.equal(err.code, ErrorCode.INVALID_ARGUMENT);
          assert.match(err.message, /tier1\.rawBacklogBytes/);
          return true;
        },
        String(bad),
      );
    }
  });
});
