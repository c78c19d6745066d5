/**
 * Regressions (issue 10, section 6): errors that misled, and input that was wrongly accepted.
 * - AOF_ERR_IO from the flush worker (ENOSPC) had `details.errno` but no `cause`, though the README
 *   says `cause` carries the errno.
 * - A read-only file system was reported as ENOENT (Node's recursive mkdir reports the stat it does
 *   after the failure), not EROFS.
 * - An empty root whose local-directory Tier 2 path is not a directory opened, as if the store were
 *   an empty bucket (docs/architecture.md: it must be refused with AOF_ERR_UNAVAILABLE).
 * - listStreams() listed directories openStream rejects (`bad name`).
 *
 * The file-system cases mount a tmpfs (root or CAP_SYS_ADMIN, as test/integration/disk-full-close
 * does) and are skipped with the reason where mount is refused.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AofError, AofManager, ErrorCode } from '../../src/index.js';
import { makeDirectory } from '../../src/make-directory.js';
import { Deadline, rejectionOf } from '../../support/engine.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';
import { mountTmpfs } from '../../support/tmpfs.js';

test('AOF_ERR_IO for ENOSPC from the flush worker carries the errno error as cause (code, errno, syscall), as the README says', { timeout: 60_000 }, async (t) => {
  const mnt = mountTmpfs(t, 'size=2m');
  if (mnt === null) return;
  const segmentBytes = 256 * 1024;
  const manager = await AofManager.open({
    root: join(mnt, 'root'),
    tier0: { arenaBytes: 4 * segmentBytes, segmentBytes },
    tier1: { enabled: false },
    fsync: 'always',
  });
  let failure: unknown = null;
  try {
    const log = await manager.openStream('full');
    const filling = new Deadline('the 2 MiB tmpfs to fill', 30_000);
    for (let id = 0; failure === null; id++) {
      filling.check();
      try {
        await log.append(payloadFor(id, 16 * 1024));
      } catch (err) {
        failure = err;
      }
    }
  } finally {
    await manager.close().catch(() => undefined);
  }
  assert.ok(failure instanceof AofError, `expected an AofError, got ${String(failure)}`);
  assert.equal(failure.code, ErrorCode.IO);
  assert.equal(failure.details?.['errno'], 'ENOSPC');
  const cause = failure.cause as NodeJS.ErrnoException | undefined;
  assert.ok(cause instanceof Error, 'cause is the fs error, rebuilt on the main thread');
  assert.equal(cause.code, 'ENOSPC');
  assert.equal(cause.errno, -28);
  assert.equal(typeof cause.syscall, 'string');
  assert.match(cause.message, /ENOSPC/);
});

test('a read-only file system is reported as EROFS (AofManager.open, makeDirectory), not ENOENT', async (t) => {
  const mnt = mountTmpfs(t, 'ro,size=1m');
  if (mnt === null) return;
  const root = join(mnt, 'data');
  const err = await rejectionOf(AofManager.open({ root }));
  assert.equal(err.code, ErrorCode.IO);
  assert.equal(err.details?.['errno'], 'EROFS', err.message);
  assert.equal((err.cause as NodeJS.ErrnoException).code, 'EROFS');
  assert.match(err.message, /create root failed for .*: EROFS/);
  await assert.rejects(makeDirectory(join(mnt, 'a', 'b', 'c')), { code: 'EROFS', syscall: 'mkdir' });
});

test('makeDirectory creates missing levels, accepts an existing directory and reports the real errno', async (t) => {
  const { root, cleanup } = tempRoot('aof2-mkdir-');
  t.after(cleanup);
  await makeDirectory(join(root, 'a', 'b', 'c'));
  await makeDirectory(join(root, 'a', 'b', 'c')); // exists: fine
  writeFileSync(join(root, 'file'), 'x');
  await assert.rejects(makeDirectory(join(root, 'file', 'sub')), { code: 'ENOTDIR' });
  await assert.rejects(makeDirectory(join(root, 'file')), { code: 'EEXIST' });
});

test('an empty root whose fs Tier 2 path is not a directory is refused with AOF_ERR_UNAVAILABLE (ENOTDIR)', async (t) => {
  const { root: dir, cleanup } = tempRoot('aof2-enotdir-');
  t.after(cleanup);
  const file = join(dir, 'tier2-is-a-file');
  writeFileSync(file, 'not a directory');
  for (const tier2Root of [file, join(file, 'below')]) {
    const err = await rejectionOf(AofManager.open({ root: join(dir, `root-${tier2Root.length}`), tier2: { kind: 'fs', root: tier2Root } }));
    assert.equal(err.code, ErrorCode.UNAVAILABLE, err.message);
    assert.equal(err.details?.['storeCode'], 'ENOTDIR');
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOTDIR');
  }
  // A store directory that does not exist yet is an empty store: the first upload creates it.
  const fresh = await AofManager.open({ root: join(dir, 'fresh'), tier2: { kind: 'fs', root: join(dir, 'no-such-dir-yet') } });
  await fresh.close();
});

test('listStreams() lists only valid stream names: not a planted `bad name` directory, not files', async (t) => {
  const { root, cleanup } = tempRoot('aof2-list-');
  t.after(cleanup);
  let manager = await AofManager.open({ root, tier2: { kind: 'none' } });
  await (await manager.openStream('orders')).append(payloadFor(0, 10));
  await manager.close();
  const streams = join(root, 'streams');
  mkdirSync(join(streams, 'bad name'));
  mkdirSync(join(streams, 'x'.repeat(129)));
  mkdirSync(join(streams, 'ünïcode'));
  mkdirSync(join(streams, 'valid-but-empty'));
  writeFileSync(join(streams, 'a-file'), 'x');
  manager = await AofManager.open({ root, tier2: { kind: 'none' } });
  try {
    const names = await manager.listStreams();
    assert.deepEqual(names, ['orders', 'valid-but-empty']);
    for (const name of names) await manager.openStream(name); // every listed name opens
  } finally {
    await manager.close();
  }
});
