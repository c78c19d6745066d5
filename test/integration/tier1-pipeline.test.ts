/**
 * The Tier 1 pipeline end to end (issue #3, first "Must show"): a 4 MiB arena (16 slots of
 * 256 KiB, 16 KiB zstd frames) takes a workload eight times its size of JSON-like records of
 * varied size. Every sealed segment leaves the arena as a compressed .t1 file smaller than its raw
 * bytes; reading everything back from id 0 returns the exact bytes on all three read paths, before
 * and after a reopen with nothing resident; a sync reader meets WouldBlock kind 'hydration' while an
 * async one never does; two readers of the same cold segments share their frame hydrations; and the
 * manifest catalog agrees with the files on disk.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofManager, WouldBlockError, type AofLog } from '../../src/index.js';
import { seededRandom } from '../../src/seeded-random.js';
import { readTier1Meta } from '../../src/format/tier1-file.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';
import { jsonLikePayload } from '../../support/tier1.js';
import {
  asyncPass,
  checkCatalogAgainstFiles,
  compressionSettled,
  fileSize,
  hydrationsDrained,
  iteratorPass,
  streamFiles,
  syncPass,
  t1File,
  withTimeout,
} from '../../support/tier1-engine.js';
import { logCore } from '../../src/log.js';

const STREAM = 'events';
const SEGMENT_BYTES = 256 * 1024;
const SLOTS = 16;
const FRAME_BYTES = 16 * 1024;
/** Eight arenas' worth of records. */
const WORKLOAD_BYTES = 8 * SLOTS * SEGMENT_BYTES;
const SEED = 0x7131_0001;

const options = (root: string): Parameters<typeof AofManager.open>[0] => ({
  root,
  tier0: { arenaBytes: SLOTS * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES },
  tier1: { frameBytes: FRAME_BYTES },
  fsync: 'never',
});

/** Mostly small records, some medium, a few that span most of a frame. */
function workload(): Uint8Array[] {
  const rand = seededRandom(SEED);
  const out: Uint8Array[] = [];
  let bytes = 0;
  while (bytes < WORKLOAD_BYTES) {
    const r = rand();
    const size = r < 0.7 ? 60 + Math.floor(rand() * 900) : r < 0.95 ? 1000 + Math.floor(rand() * 3000) : 4000 + Math.floor(rand() * 10_000);
    const payload = jsonLikePayload(out.length, size, rand);
    out.push(payload);
    bytes += payload.length;
  }
  return out;
}

async function append(log: AofLog, payloads: readonly Uint8Array[]): Promise<number> {
  let blocked = 0;
  for (let i = 0; i < payloads.length; i++) {
    let id: number;
    try {
      id = log.appendSync(payloads[i]!);
    } catch (err) {
      if (!(err instanceof WouldBlockError)) throw err;
      blocked++;
      id = await withTimeout(log.append(payloads[i]!), 10_000, `append of record ${i}`);
    }
    assert.equal(id, i);
  }
  return blocked;
}

test('Tier 1 pipeline: a workload 8x the arena is compressed, read back on every path, reopened cold and catalogued', async (t) => {
  const { root, cleanup } = tempRoot('aof2-t1pipe-');
  t.after(cleanup);
  const payloads = workload();
  const expected = (id: number): Uint8Array => payloads[id]!;
  const n = payloads.length;
  const rawTotal = payloads.reduce((s, p) => s + p.length, 0);

  // --- Write: the arena holds 1/8 of the data, so segments are sealed, compressed and evicted.
  let manager = await AofManager.open(options(root));
  let log = await manager.openStream(STREAM);
  const writeBlocked = await append(log, payloads);
  await withTimeout(log.flush(), 10_000, 'flush');
  await compressionSettled(manager, log);
  let stats = manager.stats().tier1;
  const described = logCore(log).describe();
  const sealed = described.segments - (described.active ? 1 : 0);
  assert.ok(sealed >= 8 * SLOTS - 8, `expected well over ${8 * SLOTS - 8} sealed segments, got ${sealed}`);
  assert.ok(described.resident <= SLOTS);
  assert.equal(stats.compressFailures, 0, `no compression may fail: ${stats.lastError}`);
  assert.equal(stats.segmentsCompressed, sealed);
  assert.equal(stats.segmentsSealed, sealed);
  assert.ok(stats.compressedBytes < stats.rawBytesCompressed, `compressed ${stats.compressedBytes} >= raw ${stats.rawBytesCompressed}`);
  let files = streamFiles(root, STREAM);
  assert.equal(files.t1.length, sealed, 'every sealed segment is a .t1 file');
  assert.equal(files.seg.length, described.active ? 1 : 0, 'only the active segment stays raw');
  assert.deepEqual(files.tmp, []);
  if (described.active) assert.ok(files.seg[0]! > files.t1[files.t1.length - 1]!, 'the raw file is the newest segment');
  // Each file is smaller than the records it holds.
  let frames = 0;
  for (const id of files.t1) {
    const meta = await readTier1Meta(t1File(root, STREAM, id));
    assert.ok(fileSize(t1File(root, STREAM, id)) < meta.header.dataBytes, `segment ${id}: .t1 not smaller than raw`);
    frames += meta.index.length;
  }

  // --- Read back before reopen: the oldest segments are cold (evicted), the newest resident.
  const sync1 = await syncPass(log, expected, n);
  assert.ok(sync1.wouldBlocks > 0, 'a sync reader of cold Tier 1 data meets WouldBlock kind hydration');
  await asyncPass(log, expected, n);
  await iteratorPass(log, expected, n);
  await hydrationsDrained(manager);
  const decompressedBeforeReopen = manager.stats().tier1.framesDecompressed;
  assert.ok(decompressedBeforeReopen > 0);
  const compressedBeforeClose = files.t1.length;
  await manager.close();

  // After a graceful close every sealed segment is compressed; the active one stays raw, open for
  // the next session (no Tier 2: its footer is not recorded in the catalog); the catalog matches.
  files = streamFiles(root, STREAM);
  const catalog = await checkCatalogAgainstFiles(root, STREAM);
  assert.equal(files.t1.length, compressedBeforeClose, 'close() compressed nothing more');
  assert.deepEqual(files.seg, described.active ? [catalog.openTail] : [], 'after close() only the open tail is raw');
  assert.equal(catalog.tier1, files.t1.length);
  assert.equal(catalog.raw, 0);
  assert.equal(catalog.endId, n);

  // --- Reopen: nothing is resident. Two readers in lockstep over the cold log share hydrations.
  manager = await AofManager.open(options(root));
  log = await manager.openStream(STREAM);
  const reopened = manager.stats();
  assert.equal(reopened.manifest.corruptionEvents, 0);
  assert.equal(reopened.recovery.scannedSegments, 0, 'a clean close leaves nothing to scan');
  assert.equal(reopened.recovery.removedFiles, 0, 'a clean close leaves nothing to clean up');
  assert.equal(reopened.recovery.resumedSegments, described.active ? 1 : 0, 'the open tail is continued');
  assert.equal(log.nextId, n);
  assert.equal(logCore(log).describe().resident, 0, 'nothing is resident after reopen');
  const a = log.openReader({ from: 0 });
  const b = log.openReader({ from: 0 });
  try {
    for (let id = 0; id < n; id++) {
      const [ra, rb] = await withTimeout(Promise.all([a.next(), b.next()]), 10_000, `lockstep read of ${id}`);
      assert.ok(ra !== null && rb !== null && ra.id === id && rb.id === id, `lockstep: record ${id}`);
      if (!sameBytes(ra.payload, expected(id)) || !sameBytes(rb.payload, expected(id))) assert.fail(`lockstep: record ${id} differs`);
    }
  } finally {
    a.close();
    b.close();
  }
  await hydrationsDrained(manager);
  const shared = manager.stats().tier1.framesDecompressed;
  // Every frame is needed once; a second reader must not add a second decompression of any of
  // them. Read-ahead stays inside a segment, so the only slack allowed is a frame or two.
  assert.ok(shared >= frames, `every frame must be decompressed at least once: ${shared} < ${frames}`);
  assert.ok(shared <= frames + 2, `two lockstep readers decompressed ${shared} frames for ${frames}: hydrations not shared`);

  // The three read paths again, on the reopened root.
  const sync2 = await syncPass(log, expected, n);
  assert.ok(sync2.wouldBlocks > 0, 'after reopen a sync reader meets WouldBlock kind hydration again');
  await asyncPass(log, expected, n);
  await iteratorPass(log, expected, n);
  await hydrationsDrained(manager);
  stats = manager.stats().tier1;
  assert.equal(stats.hydrateFailures, 0);
  assert.equal(stats.hydrateRetries, 0);
  await manager.close();
  assert.equal((await checkCatalogAgainstFiles(root, STREAM)).endId, n);

  t.diagnostic(
    `${n} records, ${(rawTotal / 2 ** 20).toFixed(1)} MiB payload into a ${(SLOTS * SEGMENT_BYTES) / 2 ** 20} MiB arena; ` +
      `${catalog.tier1} segments, ${frames} frames of ${FRAME_BYTES / 1024} KiB; writer WouldBlocks ${writeBlocked}; ` +
      `compressed ${(catalog.entries.reduce((s, e) => s + e.compressedBytes, 0) / 2 ** 20).toFixed(2)} MiB of ` +
      `${(catalog.entries.reduce((s, e) => s + e.dataBytes, 0) / 2 ** 20).toFixed(2)} MiB; ` +
      `sync WouldBlocks ${sync1.wouldBlocks} / ${sync2.wouldBlocks} (after reopen); frames decompressed before reopen ${decompressedBeforeReopen}, ` +
      `by two lockstep readers ${shared} (of ${frames})`,
  );
});
