/**
 * Files under the root are never read, written, truncated or removed through a symlink (issue 10,
 * section 4; the rule is src/safe-fs.ts). Every case plants a real symlink (or a FIFO) where aof2
 * expects one of its files or directories, pointing OUTSIDE the root, and checks both the coded
 * refusal (AOF_ERR_UNSAFE_PATH, details.found) and that the outside file is byte-for-byte
 * unchanged, or the outside directory received nothing. The unsealed case starts from a real
 * crash: a child process appends under fsync 'always' and kills itself with SIGKILL.
 */
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AofError, AofManager, ErrorCode, type AofManagerOptions } from '../../src/index.js';
import { SEGMENT_FOOTER_BYTES, tryDecodeFooter } from '../../src/format/segment.js';
import { ManifestLog } from '../../src/manifest/manifest-log.js';
import { FsObjectStore, fsObjectPath } from '../../src/tier2/fs-store.js';
import { runAdmin } from '../../support/admin-fixture.js';
import { withTimeout } from '../../support/tier1-engine.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';
import { parseChunkFileName, parseSnapshotFileName, segmentFileName, streamDir as layoutStreamDir } from '../../src/format/root-layout.js';

/** Small segments: a hundred records make several files. Tier 2 off: nothing outside the root. */
const TIER0 = { arenaBytes: 4 * 4096, segmentBytes: 4096 };
const RAW: Omit<AofManagerOptions, 'root'> = { tier0: TIER0, tier1: { enabled: false }, tier2: { kind: 'none' }, fsync: 'never' };
const COMPRESSED: Omit<AofManagerOptions, 'root'> = { tier0: TIER0, tier2: { kind: 'none' }, fsync: 'never' };
const STREAM = 'events';
const INDEX_URL = new URL('../../src/index.js', import.meta.url).href;

/** A root and, beside it, a directory that is not under it (both removed by `cleanup`). */
function layout(t: { after: (fn: () => void) => void }): { root: string; outside: string } {
  const { root, cleanup } = tempRoot('aof2-symlinks-');
  const { root: outside, cleanup: cleanupOutside } = tempRoot('aof2-outside-');
  t.after(() => {
    cleanup();
    cleanupOutside();
  });
  return { root, outside };
}

function streamDir(root: string, name = STREAM): string {
  return layoutStreamDir(root, name);
}

function filesOf(dir: string, suffix: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith(suffix))
    .sort()
    .map((n) => join(dir, n));
}

/**
 * Moves `path` to `outsideDir` and leaves a symlink to it in its place: exactly what a careless
 * copy or a hostile user would leave. Returns the outside file and its bytes at this moment.
 */
function replaceWithLink(path: string, outsideDir: string): { target: string; bytes: Buffer } {
  const target = join(outsideDir, `moved-${path.slice(path.lastIndexOf('/') + 1)}`);
  copyFileSync(path, target);
  unlinkSync(path);
  symlinkSync(target, path);
  return { target, bytes: readFileSync(target) };
}

function assertUnchanged(target: string, bytes: Buffer): void {
  assert.ok(sameBytes(readFileSync(target), bytes), `${target} (outside the root) was modified`);
}

function assertStillLink(path: string): void {
  assert.ok(lstatSync(path).isSymbolicLink(), `${path} should still be the planted link (nothing removed or replaced it)`);
}

async function expectUnsafe(promise: Promise<unknown>, path: string, found: string): Promise<AofError> {
  let caught: unknown;
  try {
    await withTimeout(promise, 60_000, `refusal of ${path}`);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof AofError, `expected AofError ${ErrorCode.UNSAFE_PATH} for ${path}, got ${caught === undefined ? 'success' : String(caught)}`);
  assert.equal(caught.code, ErrorCode.UNSAFE_PATH, caught.message);
  assert.equal(caught.details?.['path'], path);
  assert.equal(caught.details?.['found'], found);
  return caught;
}

/** Appends `count` records and closes cleanly, so every segment is sealed (and compressed if enabled). */
async function writeRecords(root: string, options: Omit<AofManagerOptions, 'root'>, count: number): Promise<void> {
  const manager = await AofManager.open({ root, ...options });
  const log = await manager.openStream(STREAM);
  for (let id = 0; id < count; id++) assert.equal(await log.append(payloadFor(id, 100)), id);
  await manager.settle();
  await manager.close();
}

test('an unsealed segment that is a symlink (after kill -9) is refused; recovery does not truncate or rewrite the outside file', async (t) => {
  const { root, outside } = layout(t);
  // A real crash: every acknowledged append is durable (fsync 'always'), the last segment has no footer.
  const script = `
    const { AofManager } = await import(${JSON.stringify(INDEX_URL)});
    const manager = await AofManager.open({ root: ${JSON.stringify(root)}, tier0: ${JSON.stringify(TIER0)}, tier1: { enabled: false }, fsync: 'always' });
    const log = await manager.openStream(${JSON.stringify(STREAM)});
    for (let id = 0; id < 60; id++) await log.append(new Uint8Array(100).fill(id));
    process.kill(process.pid, 'SIGKILL');
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.signal, 'SIGKILL', `child did not crash as planned: ${child.stderr}`);
  const segs = filesOf(streamDir(root), '.seg');
  assert.ok(segs.length >= 2, `expected several segments, got ${segs.length}`);
  const active = segs[segs.length - 1]!;
  const tail = readFileSync(active);
  assert.equal(tryDecodeFooter(tail.subarray(tail.length - SEGMENT_FOOTER_BYTES)), null, 'the last segment must be unsealed (no footer)');

  const { target, bytes } = replaceWithLink(active, outside);
  const manager = await AofManager.open({ root, ...RAW });
  t.after(() => manager.close());
  await expectUnsafe(manager.openStream(STREAM), active, 'symlink');
  assertUnchanged(target, bytes);
  assertStillLink(active);
});

test('a sealed segment that is a symlink is refused when the stream is opened', async (t) => {
  const { root, outside } = layout(t);
  await writeRecords(root, RAW, 100);
  const first = filesOf(streamDir(root), '.seg')[0]!;
  const { target, bytes } = replaceWithLink(first, outside);
  const manager = await AofManager.open({ root, ...RAW });
  t.after(() => manager.close());
  await expectUnsafe(manager.openStream(STREAM), first, 'symlink');
  assertUnchanged(target, bytes);
  assertStillLink(first);
});

test('a sealed segment replaced by a symlink while the engine runs is refused at its first read', async (t) => {
  const { root, outside } = layout(t);
  const manager = await AofManager.open({ root, ...RAW });
  t.after(() => manager.close());
  const log = await manager.openStream(STREAM);
  // 4 arena slots of ~35 records: segment 0 is evicted long before id 400, so reading it loads the file.
  for (let id = 0; id < 400; id++) await log.append(payloadFor(id, 100));
  await log.flush();
  const first = filesOf(streamDir(root), '.seg')[0]!;
  const { target, bytes } = replaceWithLink(first, outside);
  const reader = log.openReader({ from: 0 });
  t.after(() => reader.close());
  await expectUnsafe(reader.next(), first, 'symlink');
  assertUnchanged(target, bytes);
});

test('a segment that is a FIFO is refused as not a regular file, without blocking', async (t) => {
  const { root } = layout(t);
  await writeRecords(root, RAW, 100);
  const first = filesOf(streamDir(root), '.seg')[0]!;
  unlinkSync(first);
  execFileSync('mkfifo', [first]);
  const manager = await AofManager.open({ root, ...RAW });
  t.after(() => manager.close());
  await expectUnsafe(manager.openStream(STREAM), first, 'fifo');
});

test('a Tier 1 file that is a symlink is refused when the stream is opened', async (t) => {
  const { root, outside } = layout(t);
  await writeRecords(root, COMPRESSED, 100);
  const t1 = filesOf(streamDir(root), '.t1');
  assert.ok(t1.length >= 2, `expected compressed segments, got ${t1.length} .t1 files`);
  const { target, bytes } = replaceWithLink(t1[0]!, outside);
  const manager = await AofManager.open({ root, ...COMPRESSED });
  t.after(() => manager.close());
  await expectUnsafe(manager.openStream(STREAM), t1[0]!, 'symlink');
  assertUnchanged(target, bytes);
  assertStillLink(t1[0]!);
});

test('a stream directory that is a symlink is refused by openStream; no file is created outside', async (t) => {
  const { root, outside } = layout(t);
  const elsewhere = join(outside, 'stream-elsewhere');
  mkdirSync(elsewhere);
  mkdirSync(join(root, 'streams'), { recursive: true });
  symlinkSync(elsewhere, streamDir(root));
  const manager = await AofManager.open({ root, ...RAW });
  t.after(() => manager.close());
  await expectUnsafe(manager.openStream(STREAM), streamDir(root), 'symlink');
  // Other streams are unaffected.
  const other = await manager.openStream('other');
  await other.append(payloadFor(0, 10));
  await other.flush();
  assert.deepEqual(readdirSync(elsewhere), [], 'the outside directory received files');
});

test('a streams/ or manifest/ directory that is a symlink is refused by AofManager.open', async (t) => {
  for (const dir of ['streams', 'manifest']) {
    const { root, outside } = layout(t);
    const elsewhere = join(outside, dir);
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(root, dir));
    await expectUnsafe(AofManager.open({ root, ...RAW }), join(realpathSync(root), dir), 'symlink');
    assert.deepEqual(readdirSync(elsewhere), [], `the outside ${dir} directory received files`);
  }
});

test('a manifest chunk that is a symlink is refused; a torn tail in it is not trimmed through the link', async (t) => {
  const { root, outside } = layout(t);
  await writeRecords(root, COMPRESSED, 100);
  const manifestDir = join(root, 'manifest');
  const chunks = readdirSync(manifestDir)
    .filter((n) => parseChunkFileName(n) !== null)
    .sort();
  assert.ok(chunks.length >= 1, 'expected a manifest chunk');
  const chunk = join(manifestDir, chunks[chunks.length - 1]!);
  const { target } = replaceWithLink(chunk, outside);
  // Bytes past the committed length: a torn write, which replay repairs by truncating the file.
  appendFileSync(target, Buffer.alloc(13, 0xa5));
  const bytes = readFileSync(target);
  await expectUnsafe(AofManager.open({ root, ...COMPRESSED }), chunk, 'symlink');
  assertUnchanged(target, bytes);
  assertStillLink(chunk);
});

test('a catalog snapshot that is a symlink is refused', async (t) => {
  const { root, outside } = layout(t);
  await writeRecords(root, COMPRESSED, 100);
  const manifestDir = join(root, 'manifest');
  const { manifest } = await ManifestLog.open({ dir: manifestDir });
  await manifest.snapshot();
  await manifest.close();
  const snapshots = readdirSync(manifestDir).filter((n) => parseSnapshotFileName(n) !== null);
  assert.equal(snapshots.length, 1, 'expected one snapshot');
  const snapshot = join(manifestDir, snapshots[0]!);
  const { target, bytes } = replaceWithLink(snapshot, outside);
  await expectUnsafe(AofManager.open({ root, ...COMPRESSED }), snapshot, 'symlink');
  assertUnchanged(target, bytes);
  assertStillLink(snapshot);
});

test('a symlink planted under the name of the next segment file is refused by the flush worker, not written through', async (t) => {
  const { root, outside } = layout(t);
  const manager = await AofManager.open({ root, ...RAW, fsync: 'always' });
  t.after(() => manager.close());
  const log = await manager.openStream(STREAM);
  // Recovery has run; the first append creates segment 0's file. Plant a link under that name.
  const next = join(streamDir(root), segmentFileName(0));
  const target = join(outside, 'victim');
  writeFileSync(target, 'outside data that must survive\n');
  const bytes = readFileSync(target);
  symlinkSync(target, next);
  await expectUnsafe(log.append(payloadFor(0, 100)), next, 'symlink');
  assertUnchanged(target, bytes);
  assertStillLink(next);
});

test('a local-directory Tier 2 object that is a symlink is never read through; a put replaces the link, not its target', async (t) => {
  const { root: storeRoot, outside } = layout(t);
  const store = await FsObjectStore.open(storeRoot);
  const key = 'streams/events/00000000000000000000.t1';
  await store.put(key, new Uint8Array([1, 2, 3]));
  const path = fsObjectPath(storeRoot, key);
  const { target, bytes } = replaceWithLink(path, outside);
  await expectUnsafe(store.get(key), path, 'symlink');
  await expectUnsafe(store.size(key), path, 'symlink');
  await store.put(key, new Uint8Array([4, 5, 6]));
  assert.ok(lstatSync(path).isFile(), 'the put replaced the link with a regular file');
  assert.deepEqual([...(await store.get(key))!], [4, 5, 6]);
  assertUnchanged(target, bytes);
});

test('aof2-admin verify and dump refuse a symlinked segment or stream directory (exit 1), never reading through it', async (t) => {
  const { root, outside } = layout(t);
  await writeRecords(root, RAW, 100);
  const first = filesOf(streamDir(root), '.seg')[0]!;
  const { target, bytes } = replaceWithLink(first, outside);
  for (const command of ['verify', 'dump']) {
    const r = await runAdmin([command, root]);
    assert.equal(r.code, 1, `${command}: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.match(r.stderr, /AOF_ERR_UNSAFE_PATH/);
  }
  assertUnchanged(target, bytes);
  // The whole stream directory a link (to a copy of it): refused as well.
  unlinkSync(first);
  copyFileSync(target, first);
  const elsewhere = join(outside, 'stream-copy');
  mkdirSync(elsewhere);
  for (const name of readdirSync(streamDir(root))) copyFileSync(join(streamDir(root), name), join(elsewhere, name));
  execFileSync('rm', ['-r', streamDir(root)]);
  symlinkSync(elsewhere, streamDir(root));
  const r = await runAdmin(['verify', root]);
  assert.equal(r.code, 1, `verify: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stderr, /AOF_ERR_UNSAFE_PATH/);
});

test('a root that is itself a symlink works normally (resolved once at open)', async (t) => {
  const { root: real, outside } = layout(t);
  const root = join(outside, 'root-link');
  symlinkSync(real, root);
  await writeRecords(root, COMPRESSED, 100);
  const manager = await AofManager.open({ root, ...COMPRESSED });
  t.after(() => manager.close());
  assert.equal(manager.config.root, realpathSync(real));
  const log = await manager.openStream(STREAM);
  assert.equal(log.nextId, 100);
  let id = 0;
  for await (const rec of log.read({ from: 0 })) {
    assert.equal(rec.id, id);
    assert.ok(sameBytes(rec.payload, payloadFor(id, 100)), `record ${id} differs`);
    id++;
  }
  assert.equal(id, 100);
  assert.ok(filesOf(streamDir(real), '.t1').length >= 2, 'the files live in the real directory');
});
