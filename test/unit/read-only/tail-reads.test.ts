/**
 * Which read-only managers read their tail synchronously (src/read-only/tail-reads.ts): the
 * option decides when given; else a local Linux file system does, and a network or FUSE one does
 * not (told by its statfs type).
 */
import assert from 'node:assert/strict';
import { statfsSync } from 'node:fs';
import { test } from 'node:test';
import { remoteFileSystemName, syncTailReads } from '../../../src/read-only/tail-reads.js';
import { tempRoot } from '../../../support/tmp.js';

test('network and FUSE file systems are told by their statfs type; local ones are not', () => {
  assert.equal(remoteFileSystemName(0x6969), 'nfs');
  assert.equal(remoteFileSystemName(0xff534d42), 'cifs');
  assert.equal(remoteFileSystemName(0xff534d42 | 0), 'cifs', 'a type read as a signed 32-bit number');
  assert.equal(remoteFileSystemName(0x65735546), 'fuse');
  assert.equal(remoteFileSystemName(0xef53), null, 'ext4');
  assert.equal(remoteFileSystemName(0x01021994), null, 'tmpfs');
  assert.equal(remoteFileSystemName(0x58465342), null, 'xfs');
});

test('the option decides when given; else the root’s file system', async (t) => {
  const { root, cleanup } = tempRoot('aof2-tail-reads-');
  t.after(cleanup);
  assert.equal(await syncTailReads(root, true), true);
  assert.equal(await syncTailReads(root, false), false);
  const local = process.platform === 'linux' && remoteFileSystemName(statfsSync(root).type) === null;
  assert.equal(await syncTailReads(root, null), local);
  assert.equal(await syncTailReads(`${root}/not-there`, null), false, 'statfs failed: the pool');
});
