/** The version `npm run release` cuts (support/release-version.ts); the release itself is test/integration/release.test.ts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextVersion } from '../../../support/release-version.js';

test('a bump zeroes the parts after the one it raises', () => {
  assert.equal(nextVersion('0.1.0', 'patch'), '0.1.1');
  assert.equal(nextVersion('0.1.7', 'minor'), '0.2.0');
  assert.equal(nextVersion('0.9.3', 'major'), '1.0.0');
  assert.equal(nextVersion('1.9.9', 'patch'), '1.9.10');
});

test('an exact version is taken when it is above the current one, and refused otherwise', () => {
  assert.equal(nextVersion('0.1.0', '0.1.1'), '0.1.1');
  assert.equal(nextVersion('0.1.0', '1.0.0'), '1.0.0');
  assert.throws(() => nextVersion('0.2.0', '0.2.0'), /0\.2\.0, is not above the current version 0\.2\.0/);
  assert.throws(() => nextVersion('0.2.0', '0.1.9'), /not above/);
});

test('anything but a bump or major.minor.patch is refused with what was expected', () => {
  assert.throws(() => nextVersion('0.1.0', 'minr'), /the version asked for must be major\.minor\.patch .* got "minr"; or pass patch, minor or major/);
  assert.throws(() => nextVersion('0.1.0', '1.0.0-rc.1'), /no pre-release/);
  assert.throws(() => nextVersion('0.1.0', '01.0.0'), /got "01\.0\.0"/);
  assert.throws(() => nextVersion('1.0.0-beta', 'patch'), /the current version \(package\.json\)/);
});
