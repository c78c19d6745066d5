/**
 * src/safe-fs.ts on real files, links and directories: each open mode refuses what it must and
 * leaves the target of a link untouched. FIFOs need `mkfifo`, a process: they are
 * test/integration/safe-fs-fifo.test.ts. The engine-level cases are test/integration/symlinks.test.ts.
 */
import assert from 'node:assert/strict';
import { closeSync, existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AofError, ErrorCode } from '../../src/errors.js';
import { OpenMode, ensureDirectory, listFiles, openFile, openFileSync, readRegularFile, regularFileSize } from '../../src/safe-fs.js';
import { tempRoot } from '../../support/tmp.js';

function dir(t: { after: (fn: () => void) => void }): string {
  const { root, cleanup } = tempRoot('aof2-safe-fs-');
  t.after(cleanup);
  return root;
}

function refusal(fn: () => unknown): AofError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AofError, String(err));
    assert.equal(err.code, ErrorCode.UNSAFE_PATH);
    return err;
  }
  return assert.fail('expected AOF_ERR_UNSAFE_PATH');
}

async function refusalOf(promise: Promise<unknown>): Promise<AofError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AofError, String(err));
    assert.equal(err.code, ErrorCode.UNSAFE_PATH);
    return err;
  }
  return assert.fail('expected AOF_ERR_UNSAFE_PATH');
}

test('every open mode refuses a symlink and leaves its target as it was', async (t) => {
  const root = dir(t);
  const target = join(root, 'target');
  writeFileSync(target, 'keep me');
  const link = join(root, 'link');
  symlinkSync(target, link);
  for (const [name, mode] of Object.entries(OpenMode)) {
    const err = refusal(() => openFileSync(link, mode));
    assert.equal(err.details?.['found'], 'symlink', name);
    assert.equal(err.details?.['expected'], mode === OpenMode.CREATE ? 'new file' : 'regular file', name);
    await refusalOf(openFile(link, mode));
  }
  await refusalOf(readRegularFile(link));
  await refusalOf(regularFileSize(link));
  assert.equal(readFileSync(target, 'utf8'), 'keep me');
});

test('CREATE refuses any existing entry, a dangling link and a regular file included', (t) => {
  const root = dir(t);
  const dangling = join(root, 'dangling');
  symlinkSync(join(root, 'nowhere'), dangling);
  assert.equal(refusal(() => openFileSync(dangling, OpenMode.CREATE)).details?.['found'], 'symlink');
  assert.ok(!existsSync(join(root, 'nowhere')), 'nothing was created through the dangling link');
  const existing = join(root, 'existing');
  writeFileSync(existing, 'old');
  assert.equal(refusal(() => openFileSync(existing, OpenMode.CREATE)).details?.['found'], 'regular file');
  assert.equal(readFileSync(existing, 'utf8'), 'old');
  const fresh = join(root, 'fresh');
  const fd = openFileSync(fresh, OpenMode.CREATE);
  writeSync(fd, 'new');
  closeSync(fd);
  assert.equal(readFileSync(fresh, 'utf8'), 'new');
});

test('a directory is not a regular file', (t) => {
  const root = dir(t);
  const sub = join(root, 'sub');
  mkdirSync(sub);
  assert.equal(refusal(() => openFileSync(sub, OpenMode.READ)).details?.['found'], 'directory');
  assert.equal(refusal(() => openFileSync(sub, OpenMode.REPLACE)).details?.['found'], 'directory');
});

test('ensureDirectory creates a missing directory and refuses a link to one', async (t) => {
  const root = dir(t);
  const made = join(root, 'a', 'b');
  await ensureDirectory(made);
  assert.ok(lstatSync(made).isDirectory());
  await ensureDirectory(made); // idempotent
  const link = join(root, 'link');
  symlinkSync(made, link);
  assert.equal((await refusalOf(ensureDirectory(link))).details?.['expected'], 'directory');
  const file = join(root, 'file');
  writeFileSync(file, '');
  assert.equal((await refusalOf(ensureDirectory(file))).details?.['found'], 'regular file');
});

test('listFiles refuses a link only where the name is one aof2 acts on', async (t) => {
  const root = dir(t);
  writeFileSync(join(root, 'a.seg'), '');
  symlinkSync(join(root, 'a.seg'), join(root, 'notes.txt'));
  const ours = (n: string): boolean => n.endsWith('.seg');
  assert.deepEqual((await listFiles(root, ours)).sort(), ['a.seg', 'notes.txt']);
  symlinkSync(join(root, 'a.seg'), join(root, 'b.seg'));
  const err = await refusalOf(listFiles(root, ours));
  assert.equal(err.details?.['path'], join(root, 'b.seg'));
  assert.equal(err.details?.['found'], 'symlink');
});
