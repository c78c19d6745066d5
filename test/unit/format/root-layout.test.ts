/**
 * src/format/root-layout.ts: the one module that names directories, files and object keys. These
 * names are on disk and in buckets already, so the expected strings are spelled out literally here
 * (a change to the module must fail this test, not silently rename a user's files).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  CHUNK_FILE_SUFFIX,
  ID_DIGITS,
  LOCK_DIR,
  MANIFEST_DIR,
  MANIFEST_PREFIX,
  RESTORE_SUFFIX,
  SEGMENT_FILE_SUFFIX,
  SNAPSHOT_FILE_SUFFIX,
  STREAMS_DIR,
  TEMP_SUFFIX,
  TIER1_FILE_SUFFIX,
  chunkFileName,
  idName,
  isLockEntryName,
  isManifestObjectName,
  isTempName,
  lockEntryName,
  manifestDir,
  parseChunkFileName,
  parseSegmentFileName,
  parseSegmentKey,
  parseSnapshotFileName,
  parseTier1FileName,
  segmentFileName,
  segmentKey,
  segmentPath,
  snapshotFileName,
  streamDir,
  streamPrefix,
  tempPath,
  tier1FileName,
  tier1Path,
} from '../../../src/format/root-layout.js';

const NAMERS = [
  { name: 'segment', make: segmentFileName, parse: parseSegmentFileName, suffix: '.seg' },
  { name: 'tier1', make: tier1FileName, parse: parseTier1FileName, suffix: '.t1' },
  { name: 'chunk', make: chunkFileName, parse: parseChunkFileName, suffix: '.mlog' },
  { name: 'snapshot', make: snapshotFileName, parse: parseSnapshotFileName, suffix: '.snap' },
] as const;

describe('root layout', () => {
  test('directory names, suffixes and prefixes are the ones on disk', () => {
    assert.deepEqual(
      [STREAMS_DIR, MANIFEST_DIR, LOCK_DIR, RESTORE_SUFFIX, TEMP_SUFFIX, MANIFEST_PREFIX],
      ['streams', 'manifest', 'lock', '.restore', '.tmp', 'manifest/'],
    );
    assert.deepEqual([SEGMENT_FILE_SUFFIX, TIER1_FILE_SUFFIX, CHUNK_FILE_SUFFIX, SNAPSHOT_FILE_SUFFIX], ['.seg', '.t1', '.mlog', '.snap']);
    assert.equal(ID_DIGITS, 20);
    assert.equal(idName(1234), '00000000000000001234');
  });

  for (const { name, make, parse, suffix } of NAMERS) {
    test(`${name} file names: 20 digits, round trip, lexical order is numeric order, others refused`, () => {
      assert.equal(make(0), `00000000000000000000${suffix}`);
      assert.equal(make(Number.MAX_SAFE_INTEGER), `00009007199254740991${suffix}`);
      const ids = [0, 1, 7, 9, 10, 99, 100, 4096, 2 ** 32, Number.MAX_SAFE_INTEGER];
      for (const id of ids) assert.equal(parse(make(id)), id);
      assert.deepEqual([...ids].reverse().map(make).sort().map(parse), ids);
      const bad = [
        `${suffix}`,
        `7${suffix}`,
        `0000000000000000007${suffix}`, // 19 digits
        `000000000000000000007${suffix}`, // 21 digits
        `0000000000000000000x${suffix}`,
        `-0000000000000000001${suffix}`,
        `00000000000000000001${suffix}${TEMP_SUFFIX}`,
        `99999999999999999999${suffix}`, // past 2^53: no writer produces it
        '00000000000000000001',
      ];
      for (const b of bad) assert.equal(parse(b), null, JSON.stringify(b));
      for (const other of NAMERS) if (other.suffix !== suffix) assert.equal(parse(other.make(5)), null, `${other.name} is not a ${name}`);
    });
  }

  test('paths under a root', () => {
    assert.equal(streamDir('/r', 'orders'), join('/r', 'streams', 'orders'));
    assert.equal(manifestDir('/r'), join('/r', 'manifest'));
    assert.equal(segmentPath('/r/streams/s', 42), join('/r/streams/s', '00000000000000000042.seg'));
    assert.equal(tier1Path('/r/streams/s', 42), join('/r/streams/s', '00000000000000000042.t1'));
    assert.equal(tempPath('/x/a.t1'), '/x/a.t1.tmp');
    assert.ok(isTempName('a.t1.tmp') && isTempName('.1-2-3.tmp') && !isTempName('a.t1'));
  });

  test('segment and Tier 1 paths are exactly join(dir, name), whatever the directory and the order of calls', () => {
    // segmentPath normalizes a directory once and remembers it: switching directories must not leak.
    const dirs = ['/r/streams/s', '/r/streams/s/', 'rel/streams/s', './rel', '.', '', '/', 'a/../b', '//x//y/', '/r/streams/s'];
    for (const dir of [...dirs, ...dirs.reverse()]) {
      for (const id of [0, 42, 2 ** 40]) {
        assert.equal(segmentPath(dir, id), join(dir, segmentFileName(id)), `segmentPath(${JSON.stringify(dir)}, ${id})`);
        assert.equal(tier1Path(dir, id), join(dir, tier1FileName(id)), `tier1Path(${JSON.stringify(dir)}, ${id})`);
      }
    }
  });

  test('lock entries: 20 digits and nothing else', () => {
    assert.equal(lockEntryName(399), '00000000000000000399');
    assert.ok(isLockEntryName(lockEntryName(0)));
    for (const b of ['0000000000000000039', '00000000000000000399.tmp', '0000000000000000039x', '']) assert.ok(!isLockEntryName(b), b);
  });

  test('Tier 2 keys: built and parsed back; any other key is not a segment', () => {
    assert.equal(segmentKey('orders', 4096), 'streams/orders/00000000000000004096.t1');
    assert.equal(streamPrefix('orders'), 'streams/orders/');
    assert.ok(segmentKey('orders', 1).startsWith(streamPrefix('orders')));
    assert.ok(!segmentKey('ab', 0).startsWith(streamPrefix('a')), 'a prefix ends at the stream name');
    assert.deepEqual(parseSegmentKey(segmentKey('a.b-c_D9', Number.MAX_SAFE_INTEGER)), { stream: 'a.b-c_D9', baseId: Number.MAX_SAFE_INTEGER });
    for (const key of [
      'streams/orders/00000000000000004096.seg',
      'streams/orders/00000000000000004096.t1.tmp',
      'streams/orders/4096.t1',
      'streams/or/ders/00000000000000004096.t1',
      'streams/or ders/00000000000000004096.t1',
      `streams/${'x'.repeat(129)}/00000000000000004096.t1`,
      'streams/orders/99999999999999999999.t1',
      'manifest/00000000000000000001.mlog',
      'prefix/streams/orders/00000000000000004096.t1',
    ]) {
      assert.equal(parseSegmentKey(key), null, key);
    }
  });

  test('manifest objects: chunks and snapshots replicate, nothing else does', () => {
    assert.ok(isManifestObjectName(chunkFileName(3)) && isManifestObjectName(snapshotFileName(3)));
    assert.ok(!isManifestObjectName(`${chunkFileName(3)}${TEMP_SUFFIX}`) && !isManifestObjectName('LOCK'));
  });
});
