/**
 * Defaults that stay where the user put them (issue 14):
 * - with no `tier2` option nothing is written outside the root, and once segments are compressed
 *   the root holds one copy of each (its Tier 1 file), not a raw file beside it;
 * - a script that opens, appends one record and closes, over and over, leaves one segment file,
 *   not one per run: without Tier 2 a clean close leaves the tail open (with a footer the manifest
 *   does not record) and the next open continues it; also when a run is killed with SIGKILL at
 *   any point of its cycle, and then all acknowledged records read back, ids dense.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AofManager } from '../../src/index.js';
import { SEGMENT_FILE_SUFFIX, TIER1_FILE_SUFFIX, streamDir } from '../../src/format/root-layout.js';
import { seededRandom } from '../../src/seeded-random.js';
import { cycle, killedChild, readBack, segmentFiles } from '../../support/reopen-cycles.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';

/** Bytes of every regular file under `dir`, recursively. */
function bytesUnder(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? bytesUnder(path) : statSync(path).size;
  }
  return total;
}

/** A JSON-like record: compresses several times, as logs do. */
function jsonRecord(id: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ seq: id, type: 'order.created', customer: `c-${id % 97}`, amount: (id * 37) % 1000, note: 'the quick brown fox jumps over the lazy dog' }));
}

test('defaults: nothing outside the root, and compressed segments are the only local copy', { timeout: 120_000 }, async (t) => {
  const { root: parent, cleanup } = tempRoot('aof2-defaults-');
  t.after(cleanup);
  const root = join(parent, 'data');
  assert.deepEqual(readdirSync(parent), []);
  // Small segments so that a few MiB seal many of them; no tier option at all.
  const options = { root, tier0: { segmentBytes: 64 * 1024, arenaBytes: 2 * 1024 * 1024 } };
  const manager = await AofManager.open(options);
  assert.equal(manager.config.tier2.kind, 'none');
  assert.equal(manager.stats().tier2, null);
  const log = await manager.openStream('orders');
  let rawBytes = 0;
  for (let id = 0; id < 30_000; id++) {
    const payload = jsonRecord(id);
    rawBytes += payload.length;
    assert.equal(await log.append(payload), id);
  }
  await manager.settle(); // every sealed segment compressed; their raw files removed
  const compressed = manager.stats().tier1.segmentsCompressed;
  await manager.close();

  assert.deepEqual(readdirSync(parent), ['data'], 'nothing was created beside the root');
  assert.deepEqual(readdirSync(root).sort(), ['lock', 'manifest', 'streams'], 'only the engine\'s own directories in the root');
  const dir = streamDir(root, 'orders');
  const names = readdirSync(dir);
  const raw = names.filter((n) => n.endsWith(SEGMENT_FILE_SUFFIX));
  const tier1 = names.filter((n) => n.endsWith(TIER1_FILE_SUFFIX));
  assert.ok(compressed >= 10, `${compressed} segments compressed`);
  assert.equal(tier1.length, compressed, 'one Tier 1 file per compressed segment');
  // The one raw file is the open tail the close left for the next session; no raw copy of a
  // compressed segment is left beside its Tier 1 file.
  assert.equal(raw.length, 1);
  assert.ok(!tier1.some((n) => n.replace(TIER1_FILE_SUFFIX, SEGMENT_FILE_SUFFIX) === raw[0]), 'the tail is not compressed');
  assert.deepEqual(names.sort(), [...raw, ...tier1].sort(), 'nothing else in the stream directory');
  const tier1Bytes = tier1.reduce((sum, n) => sum + statSync(join(dir, n)).size, 0);
  const tailBytes = statSync(join(dir, raw[0]!)).size;
  assert.ok(tailBytes <= 64 + 64 * 1024 + 64, 'the tail is at most one segment');
  // Disk use is about the compressed size: the Tier 1 files, one open segment, the manifest.
  const streamsBytes = bytesUnder(join(root, 'streams'));
  assert.equal(streamsBytes, tier1Bytes + tailBytes);
  assert.ok(tier1Bytes * 3 < rawBytes, `compressed ${tier1Bytes} B of ${rawBytes} B appended`);
  const manifestBytes = bytesUnder(join(root, 'manifest'));
  assert.ok(manifestBytes < tier1Bytes, `manifest ${manifestBytes} B`);
  t.diagnostic(`appended ${rawBytes} B; on disk: ${tier1Bytes} B in ${tier1.length} Tier 1 files, a ${tailBytes} B open tail, ${manifestBytes} B of manifest`);

  // The next open continues the tail, and every record reads back.
  const again = await AofManager.open(options);
  try {
    const reopened = await again.openStream('orders');
    assert.equal(reopened.nextId, 30_000);
    assert.equal(again.stats().recovery.resumedSegments, 1);
    let next = 0;
    for await (const record of reopened.read({ from: 0 })) {
      assert.ok(sameBytes(record.payload, jsonRecord(next)), `record ${next}`);
      next++;
    }
    assert.equal(next, 30_000);
  } finally {
    await again.close();
  }
  assert.deepEqual(readdirSync(parent), ['data']);
});

test('50 open / append one / close cycles leave one segment file; ids dense, every record reads back', { timeout: 120_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-cycles-');
  t.after(cleanup);
  const options = { root };
  for (let i = 0; i < 50; i++) assert.equal(await cycle(options), i);
  assert.deepEqual(segmentFiles(root), { raw: ['00000000000000000000.seg'], tier1: [] });
  const back = await readBack(options);
  assert.deepEqual(back, { nextId: 50, read: 50, wrong: [] });
  // Reading opened and closed it once more without a record: still the same file.
  assert.deepEqual(segmentFiles(root), { raw: ['00000000000000000000.seg'], tier1: [] });
});

test('the same with SIGKILLs at random points of the cycles: one segment file, nothing acknowledged lost, ids dense', { timeout: 300_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-cycles-kill-');
  t.after(cleanup);
  const options = { root };
  const acked: number[] = [];
  for (let i = 0; i < 15; i++) acked.push(await cycle(options));
  // Runs of the cycling child (fsync 'always': each acknowledged id is durable), each killed in the
  // cycle after its fifth acknowledgement, at a fraction of a cycle (the kill lands where it lands:
  // closing, opening, recovering, appending), spread over the cycle by a seeded draw.
  const rand = seededRandom(14);
  for (let k = 0; k < 3; k++) {
    const fraction = (k + rand()) / 3;
    const { acked: ids, delayMs } = await killedChild(root, 5, fraction);
    t.diagnostic(`child ${k}: acknowledged ids ${ids.join(', ')}, killed ${delayMs} ms (${fraction.toFixed(2)} of a cycle) after the fifth`);
    acked.push(...ids);
    assert.deepEqual(segmentFiles(root).tier1, [], 'nothing sealed');
    assert.ok(segmentFiles(root).raw.length <= 1, `one raw file at most: ${segmentFiles(root).raw.join(', ')}`);
  }
  while (acked.length < 50) acked.push(await cycle(options));
  assert.deepEqual(segmentFiles(root), { raw: ['00000000000000000000.seg'], tier1: [] });
  const back = await readBack(options);
  assert.deepEqual(back.wrong, [], 'every record holds its own bytes');
  assert.equal(back.read, back.nextId, 'ids dense from 0');
  // Acknowledged ids are increasing; a kill may have cost an id that was written but not
  // acknowledged (it is then read back too), never an acknowledged one.
  for (let i = 1; i < acked.length; i++) assert.ok(acked[i]! > acked[i - 1]!, `ids increase: ${acked.join(', ')}`);
  assert.ok(acked[acked.length - 1]! < back.nextId, 'every acknowledged id is below nextId');
  assert.ok(back.nextId - acked.length <= 3, `at most one unacknowledged record per kill: ${back.nextId} ids for ${acked.length} acknowledged`);
});
