/**
 * The `follower` option: false or absent, true (the defaults) or `{ pollMs }`; it needs a real
 * `tier2` (the bucket is its only source) and excludes `readOnly`. Validated like every option.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULTS, MAX_FOLLOWER_POLL_MS, MIN_FOLLOWER_POLL_MS, resolveConfig } from '../../src/config.js';
import { AofError, ErrorCode } from '../../src/errors.js';

const root = '/tmp/aof2-config-never-created';
const tier2 = { kind: 'fs', root: '/tmp/aof2-config-bucket-never-created' } as const;

test('follower: absent or false is not a follower, true takes the default poll, an object sets it', () => {
  assert.equal(resolveConfig({ root }).follower, null);
  assert.equal(resolveConfig({ root, tier2, follower: false }).follower, null);
  assert.deepEqual(resolveConfig({ root, tier2, follower: true }).follower, { pollMs: DEFAULTS.followerPollMs });
  assert.deepEqual(resolveConfig({ root, tier2, follower: {} }).follower, { pollMs: DEFAULTS.followerPollMs });
  assert.deepEqual(resolveConfig({ root, tier2, follower: { pollMs: MIN_FOLLOWER_POLL_MS } }).follower, { pollMs: MIN_FOLLOWER_POLL_MS });
  assert.deepEqual(resolveConfig({ root, tier2, follower: { pollMs: MAX_FOLLOWER_POLL_MS } }).follower, { pollMs: MAX_FOLLOWER_POLL_MS });
  assert.equal(resolveConfig({ root, tier2, follower: true }).readOnly, null, 'a follower is not a read-only manager of a root');
});

test('follower: wrong types, impossible polls, unknown keys, no tier2 and readOnly beside it are refused by name', () => {
  const refused = (options: Record<string, unknown>, code: string, mentions: string): void => {
    assert.throws(
      () => resolveConfig({ root, ...options }),
      (err: unknown) => err instanceof AofError && err.code === code && err.message.includes(mentions),
      JSON.stringify(options),
    );
  };
  refused({ tier2, follower: 'yes' }, ErrorCode.INVALID_ARGUMENT, 'follower');
  refused({ tier2, follower: null }, ErrorCode.INVALID_ARGUMENT, 'follower');
  refused({ tier2, follower: { pollMs: 0 } }, ErrorCode.INVALID_ARGUMENT, 'follower.pollMs');
  refused({ tier2, follower: { pollMs: MIN_FOLLOWER_POLL_MS - 1 } }, ErrorCode.INVALID_ARGUMENT, 'follower.pollMs');
  refused({ tier2, follower: { pollMs: 2.5 } }, ErrorCode.INVALID_ARGUMENT, 'follower.pollMs');
  refused({ tier2, follower: { pollMs: MAX_FOLLOWER_POLL_MS + 1 } }, ErrorCode.INVALID_ARGUMENT, 'follower.pollMs');
  refused({ tier2, follower: { pollMS: 100 } }, ErrorCode.UNKNOWN_OPTION, 'follower.pollMS');
  refused({ follower: true }, ErrorCode.INVALID_ARGUMENT, 'tier2');
  refused({ tier2: { kind: 'none' }, follower: true }, ErrorCode.INVALID_ARGUMENT, 'tier2');
  refused({ tier2, follower: true, readOnly: true }, ErrorCode.INVALID_ARGUMENT, 'readOnly');
});
