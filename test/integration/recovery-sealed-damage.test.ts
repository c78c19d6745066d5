/**
 * A raw segment the catalog records as SEALED, damaged after a clean close (flat recovery, issue
 * 13: lazy footers). Recovery trusts such a segment from the manifest catalog without opening its
 * file, so the damage is found at the segment's first read, and must then be:
 * - a coded error (AOF_ERR_CORRUPT naming the file, `details.footerCheck` saying what disagrees)
 *   for every read of that segment, never records served from it;
 * - counted (`stats().recovery.badFooters`, `aof_recovery_bad_footers_total`) and noted, never silent;
 * - harmless to the rest of the stream: the segments around it stay readable, appends continue;
 * - never "repaired" by recovery: no file is trimmed, removed or rewritten (the regression this
 *   file was written for: a truncated sealed file was taken for a torn tail and trimmed, and every
 *   later segment removed as never acknowledged, so the stream silently came back shorter);
 * - found by `aof2-admin verify` without opening the engine.
 * Restoring the damaged file makes the whole stream readable again.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AofError, AofManager, ErrorCode, type AofLog, type AofManagerOptions } from '../../src/index.js';
import { SEGMENT_FOOTER_BYTES, encodeFooterInto, tryDecodeFooter } from '../../src/format/segment.js';
import { parseSegmentFileName, streamDir } from '../../src/format/root-layout.js';
import { runAdmin } from '../../support/admin-fixture.js';
import { verifyLog } from '../../support/engine.js';
import { parseExposition, valueOf } from '../../support/prom-text.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';

const RECORDS = 900;
const payload = (id: number): Uint8Array => payloadFor(id, 100 + (id % 400));

function options(root: string): AofManagerOptions {
  return { root, tier0: { arenaBytes: 8 * 16 * 1024, segmentBytes: 16 * 1024 }, tier1: { enabled: false }, tier2: { kind: 'none' } };
}

/**
 * Writes the stream and closes: every segment but the last is sealed and recorded; the last is
 * the open tail the close leaves (no Tier 2), with a footer the catalog does not record.
 */
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

/** The coded error reading ids [from, to) gives, or null when every one read back as written. */
async function readError(log: AofLog, from: number, to: number): Promise<AofError | null> {
  let id = from;
  try {
    for await (const rec of log.read({ from })) {
      assert.equal(rec.id, id);
      assert.ok(sameBytes(rec.payload, payload(id)), `record ${id} differs`);
      if (++id === to) break;
    }
  } catch (err) {
    if (err instanceof AofError) return err;
    throw err;
  }
  assert.equal(id, to, `read ${id - from} records from ${from}, expected ${to - from}`);
  return null;
}

/**
 * Opens the damaged root: the stream opens whole, reads of the damaged segment [first, end) fail
 * with AOF_ERR_CORRUPT (`footerCheck`), every record outside it reads back, the failure is counted
 * once, and no file changed. Appends go on after the stream's end.
 */
async function damageFoundAtFirstRead(root: string, victim: string, first: number, end: number, footerCheck: string, files: string[]): Promise<void> {
  const before = readFileSync(victim);
  const manager = await AofManager.open(options(root));
  try {
    const log = await manager.openStream('s');
    assert.equal(log.nextId, RECORDS, 'the stream opens whole: the catalog says where it ends');
    const deferred = manager.stats().recovery.deferredFooters;
    assert.equal(deferred, files.length - 1, 'every sealed segment was taken from the catalog, none opened (the open tail is read and continued)');
    assert.equal(manager.stats().recovery.badFooters, 0, 'nothing was read yet');

    // Records before the damaged segment read back, then its first record fails.
    const err = await readError(log, 0, RECORDS);
    assert.ok(err !== null, 'reading through the damaged segment fails');
    assert.equal(err.code, ErrorCode.CORRUPT);
    assert.equal(err.details?.['path'], victim);
    assert.equal(err.details?.['footerCheck'], footerCheck);
    assert.match(err.message, new RegExp(`recorded as sealed \\(ids ${first}\\.\\.${end - 1}, \\d+ data bytes\\)`));
    // A point read inside it: the same error, not retried into records.
    const again = await readError(log, first + 1, first + 2);
    assert.equal(again?.code, ErrorCode.CORRUPT);
    assert.equal(again.details?.['footerCheck'], footerCheck);
    // The rest of the stream stays readable.
    if (end < RECORDS) assert.equal(await readError(log, end, RECORDS), null);
    if (first > 0) assert.equal(await readError(log, 0, first), null);

    const stats = manager.stats();
    assert.equal(stats.recovery.badFooters, 1, 'counted once for the segment');
    assert.ok(stats.recovery.footersChecked >= 1, 'the segments read were checked');
    assert.match(stats.tier1.lastError ?? '', /AOF_ERR_CORRUPT: segment .* is recorded as sealed/);
    const metrics = parseExposition(await manager.registry.metrics());
    assert.equal(valueOf(metrics, 'aof_recovery_bad_footers_total'), 1);

    // Appends continue after the stream's end.
    assert.equal(await log.append(payload(RECORDS)), RECORDS);
  } finally {
    await manager.close();
  }
  assert.deepEqual(readdirSync(streamDir(root, 's')).sort().slice(0, files.length), files, 'no file was removed');
  assert.deepEqual(readFileSync(victim), before, 'the damaged file was not rewritten');
}

/** `aof2-admin verify` on the closed root: exit 1, naming the file. */
async function verifyFinds(root: string, victimName: string): Promise<void> {
  const verify = await runAdmin(['verify', root]);
  assert.equal(verify.code, 1, `verify: exit ${verify.code}\n${verify.stdout}\n${verify.stderr}`);
  assert.match(verify.stdout, new RegExp(`CORRUPT: .*problem`));
  assert.match(verify.stdout, new RegExp(victimName.replace('.', '\\.')));
  assert.match(verify.stdout, /the next open serves the stream, but every read of segment \d+ fails \(AOF_ERR_CORRUPT\)/);
}

async function readsEverything(root: string, end: number): Promise<void> {
  const manager = await AofManager.open(options(root));
  try {
    const log = await manager.openStream('s');
    assert.equal(log.nextId, end);
    await verifyLog(log, payload, end);
    assert.equal(manager.stats().recovery.badFooters, 0);
  } finally {
    await manager.close();
  }
}

test('a sealed segment in the middle truncated after a clean close: AOF_ERR_CORRUPT at its first read, the rest readable, counted, no file changed; verify finds it; readable again once restored', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  const files = await writeStream(root);
  assert.ok(files.length > 10, `${files.length} segments`);
  const dir = streamDir(root, 's');
  const victim = join(dir, files[4]!);
  const first = parseSegmentFileName(files[4]!)!;
  const end = parseSegmentFileName(files[5]!)!;
  const original = readFileSync(victim);
  truncateSync(victim, Math.floor(original.length / 2));
  await verifyFinds(root, files[4]!);
  await damageFoundAtFirstRead(root, victim, first, end, 'footer', files);
  writeFileSync(victim, original);
  await readsEverything(root, RECORDS + 1);
});

test('the last sealed segment with a damaged header: AOF_ERR_CORRUPT at its first read, not removed as a torn tail', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  const files = await writeStream(root);
  // The last segment the catalog records as sealed: the one before the open tail.
  const victim = join(streamDir(root, 's'), files.at(-2)!);
  const original = readFileSync(victim);
  const damaged = Buffer.from(original);
  damaged.fill(0, 0, 64);
  writeFileSync(victim, damaged);
  await verifyFinds(root, files.at(-2)!);
  await damageFoundAtFirstRead(root, victim, parseSegmentFileName(files.at(-2)!)!, parseSegmentFileName(files.at(-1)!)!, 'header', files);
  writeFileSync(victim, original);
  await readsEverything(root, RECORDS + 1);
});

test('a sealed segment whose valid footer disagrees with the manifest (another data CRC): AOF_ERR_CORRUPT at its first read', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  const files = await writeStream(root);
  const victim = join(streamDir(root, 's'), files[2]!);
  const original = readFileSync(victim);
  const changed = new Uint8Array(original);
  const at = changed.length - SEGMENT_FOOTER_BYTES;
  const footer = tryDecodeFooter(changed, at)!;
  encodeFooterInto(changed, at, { ...footer, dataCrc: (footer.dataCrc ^ 0x5a5a) >>> 0 });
  writeFileSync(victim, changed);
  await verifyFinds(root, files[2]!);
  await damageFoundAtFirstRead(root, victim, parseSegmentFileName(files[2]!)!, parseSegmentFileName(files[3]!)!, 'mismatch', files);
  writeFileSync(victim, original);
  await readsEverything(root, RECORDS + 1);
});
