/**
 * Regression (found by `npm run chaos -- --only corrupt-fuzz`): a raw segment the catalog records
 * as SEALED whose footer was damaged (a truncated file) was taken for a torn tail: recovery trimmed
 * it, and then removed every later segment file as "never acknowledged", so a stream silently came
 * back hundreds of records shorter. Likewise a last sealed segment with a damaged header was
 * removed as a file "created right before a crash". Both are damage to acknowledged data: openStream
 * now rejects with AOF_ERR_CORRUPT and leaves every file as it was, so restoring the damaged file
 * makes the whole stream readable again.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AofError, AofManager, ErrorCode, type AofManagerOptions } from '../../src/index.js';
import { verifyLog } from '../../support/engine.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';
import { streamDir } from '../../src/format/root-layout.js';

const RECORDS = 900;
const payload = (id: number): Uint8Array => payloadFor(id, 100 + (id % 400));

function options(root: string): AofManagerOptions {
  return { root, tier0: { arenaBytes: 8 * 16 * 1024, segmentBytes: 16 * 1024 }, tier1: { enabled: false }, tier2: { kind: 'none' } };
}

async function writeStream(root: string): Promise<string[]> {
  const manager = await AofManager.open(options(root));
  try {
    const log = await manager.openStream('s');
    for (let id = 0; id < RECORDS; id++) await log.append(payload(id));
  } finally {
    await manager.close();
  }
  return readdirSync(streamDir(root, 's')).sort();
}

async function openRejectsCorrupt(root: string): Promise<void> {
  const manager = await AofManager.open(options(root));
  try {
    await assert.rejects(manager.openStream('s'), (err: unknown) => err instanceof AofError && err.code === ErrorCode.CORRUPT);
  } finally {
    await manager.close();
  }
}

async function readsEverything(root: string): Promise<void> {
  const manager = await AofManager.open(options(root));
  try {
    const log = await manager.openStream('s');
    assert.equal(log.nextId, RECORDS);
    await verifyLog(log, payload, RECORDS);
  } finally {
    await manager.close();
  }
}

test('a sealed segment in the middle without its footer: AOF_ERR_CORRUPT, no file removed, readable again once restored', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  const files = await writeStream(root);
  assert.ok(files.length > 10, `${files.length} segments`);
  const victim = join(streamDir(root, 's'), files[4]!);
  const original = readFileSync(victim);
  truncateSync(victim, Math.floor(original.length / 2));
  await openRejectsCorrupt(root);
  assert.deepEqual(readdirSync(streamDir(root, 's')).sort(), files, 'every segment file is still there');
  assert.equal(readFileSync(victim).length, Math.floor(original.length / 2), 'the damaged file was not rewritten');
  writeFileSync(victim, original);
  await readsEverything(root);
});

test('the last sealed segment with a damaged header: AOF_ERR_CORRUPT, not removed as a torn tail', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  const files = await writeStream(root);
  const victim = join(streamDir(root, 's'), files.at(-1)!);
  const original = readFileSync(victim);
  const damaged = Buffer.from(original);
  damaged.fill(0, 0, 64);
  writeFileSync(victim, damaged);
  await openRejectsCorrupt(root);
  assert.deepEqual(readdirSync(streamDir(root, 's')).sort(), files);
  writeFileSync(victim, original);
  await readsEverything(root);
});
