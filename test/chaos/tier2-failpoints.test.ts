/**
 * Chaos (issue #4, "Must show"): with `AOF2_FAILPOINTS=upload.crash=0.2,upload.error=0.2,
 * hydrate.crash=0.2` (fixed seed) upload workers die or fail after their put on about one task in
 * three, and hydrate workers die on one frame fetch in five, while a writer fills a stream whose
 * Tier 1 budget holds a few segments only: nearly everything is uploaded, evicted and read back
 * from Tier 2 frame by frame. At least 200 failures are injected. Every record reads back intact,
 * nothing hangs (every await is bounded), the bucket holds exactly one object per segment (no
 * duplicate, no orphan, no temp file) and, after a reopen without failpoints, the catalog records
 * every segment as uploaded and the stream reads back again.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AofManager } from '../../src/index.js';
import { openObjectStore, type Tier2StoreConfig } from '../../src/tier2/object-store.js';
import { ManifestLog } from '../../src/manifest/manifest-log.js';
import { FLAG_UPLOADED } from '../../src/format/snapshot.js';
import { withTimeout } from '../../support/tier1-engine.js';
import { fill, objectIds, readBack } from '../../support/tier2-suite.js';
import { tempRoot } from '../../support/tmp.js';
import { withFailpoints } from '../../support/failpoints-env.js';
import { logCore } from '../../src/log.js';
import { manifestDir } from '../../src/format/root-layout.js';

const FAILPOINTS = 'upload.crash=0.2,upload.error=0.2,hydrate.crash=0.2';
const SEED = '4040';
const SEGMENT_BYTES = 16 * 1024;
const RECORDS = 4000; // 1000-byte records: about 250 segments
const STREAM = 'chaos2';

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

test('tier 2 chaos: 200+ injected upload and fetch failures, nothing lost, nothing hung, no orphan object', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  const storeDir = `${root}-tier2`;
  const tier2: Tier2StoreConfig = { kind: 'fs', root: storeDir };
  const options = {
    root,
    tier0: { arenaBytes: 8 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES },
    tier1: { maxBytes: 4 * SEGMENT_BYTES, frameBytes: 4096, compressionLevel: 1 },
    tier2,
  };
  let sealed: number[] = [];
  // Each phase's bound detects a hang, not slowness: a phase that still moves under the failpoints'
  // retries finishes in 20-60 s on a quiet machine; under coverage or a loaded machine read back
  // took over 120 s once while still progressing, so the bound leaves room for that.
  const HANG_MS = 300_000;
  await withFailpoints(FAILPOINTS, SEED, async () => {
    const manager = await AofManager.open(options);
    try {
      const log = await manager.openStream(STREAM);
      await withTimeout(fill(log, 0, RECORDS), HANG_MS, 'ingest');
      await withTimeout(manager.settle(), HANG_MS, 'settle');
      await withTimeout(readBack(log, 0, RECORDS), HANG_MS, 'read back under failpoints');
      const stats = manager.stats();
      const injected = stats.tier2!.uploadRetries + stats.tier1.hydrateRetries;
      t.diagnostic(`segments ${stats.tier2!.segmentsUploaded}, upload failures ${stats.tier2!.uploadRetries}, fetch failures ${stats.tier1.hydrateRetries}, evicted ${stats.tier2!.segmentsEvicted}`);
      assert.ok(injected >= 200, `at least 200 injected failures, got ${injected}`);
      assert.ok(stats.tier2!.uploadRetries > 50 && stats.tier1.hydrateRetries > 50, 'both kinds of failure were injected');
      assert.equal(stats.tier2!.uploadFailures, 0, 'no upload gave up');
      assert.equal(stats.tier1.hydrateFailures, 0, 'no fetch gave up');
      sealed = logCore(log).segments.filter((s) => s.sealed).map((s) => s.baseId);
    } finally {
      await withTimeout(manager.close(), 60_000, 'close');
    }
  });
  const store = await openObjectStore(tier2);
  try {
    const ids = await objectIds(store, STREAM);
    // Close sealed the tail, so the bucket holds the segments sealed before close plus that one.
    assert.deepEqual(ids.slice(0, sealed.length), sealed, 'one object per segment, in order, none missing');
    assert.equal(new Set(ids).size, ids.length, 'no duplicate');
    assert.deepEqual(walk(storeDir).filter((p) => p.endsWith('.tmp')), [], 'no temp file left in the store');
    const { manifest, catalog } = await ManifestLog.open({ dir: manifestDir(root) });
    const entries = catalog.entries(STREAM);
    await manifest.close();
    assert.deepEqual(entries.map((e) => e.baseId), ids, 'every object is a recorded segment: no orphan');
    assert.ok(entries.every((e) => (e.flags & FLAG_UPLOADED) !== 0), 'every segment recorded as uploaded');
  } finally {
    await store.close();
  }
  const manager = await AofManager.open(options);
  try {
    const log = await manager.openStream(STREAM);
    assert.equal(log.nextId, RECORDS);
    await withTimeout(readBack(log, 0, RECORDS), HANG_MS, 'read back after reopen');
  } finally {
    await manager.close();
  }
});
