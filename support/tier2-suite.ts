/**
 * The Tier 2 engine suite, run once per backend (test/integration/tier2-fs.test.ts against a local
 * directory, tier2-s3.test.ts against a real S3-compatible server over HTTP): upload and eviction,
 * reads from Tier 2, rebuilding a stream from the bucket alone, and retention across restarts.
 * Real engine, real workers, real files and a real server; nothing is mocked.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { TIER1_HEADER_BYTES } from '../src/format/tier1.js';
import { after, describe, test } from 'node:test';
import { AofError, AofManager, ErrorCode, WouldBlockError, type AofLog, type AofManagerOptions } from '../src/index.js';
import type { Tier2Options } from '../src/config.js';
import { openObjectStore, type ObjectStore, type Tier2StoreConfig } from '../src/tier2/object-store.js';
import { sleep } from './engine.js';
import { streamFiles, t1File, withTimeout } from './tier1-engine.js';
import { payloadFor, sameBytes, tempRoot } from './tmp.js';
import { logCore } from '../src/log.js';
import { parseSegmentKey, segmentKey, streamPrefix } from '../src/format/root-layout.js';

/** A Tier 2 store under test: its name in test titles and a way to get a fresh, unshared store config. */
export interface Backend {
  name: string;
  /** A store config under a prefix (or directory) no other test uses. */
  fresh(label: string): Tier2StoreConfig;
}

const SEGMENT_BYTES = 64 * 1024;
const RECORD_BYTES = 1000;

/** A small engine: 8 slots of 64 KiB, frames of 16 KiB, a Tier 1 budget of `budget` bytes. */
export function smallEngine(root: string, tier2: Tier2Options, budget: number, extra: Partial<AofManagerOptions> = {}): AofManagerOptions {
  return {
    root,
    tier0: { arenaBytes: 8 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES },
    tier1: { maxBytes: budget, frameBytes: 16 * 1024, compressionLevel: 1 },
    tier2,
    ...extra,
  };
}

/** Appends records `from..to-1` (payloadFor(id, RECORD_BYTES)), awaiting admission. */
export async function fill(log: AofLog, from: number, to: number): Promise<void> {
  for (let id = from; id < to; id++) assert.equal(await log.append(payloadFor(id, RECORD_BYTES)), id);
}

/** Reads [from, to) with the async reader and checks every byte. */
export async function readBack(log: AofLog, from: number, to: number): Promise<void> {
  const reader = log.openReader({ from });
  try {
    for (let id = from; id < to; id++) {
      const rec = await withTimeout(reader.next(), 20_000, `record ${id}`);
      assert.ok(rec !== null, `record ${id} missing`);
      assert.equal(rec.id, id);
      assert.ok(sameBytes(rec.payload, payloadFor(id, RECORD_BYTES)), `record ${id} differs`);
    }
  } finally {
    reader.close();
  }
}

/** Base ids of the stream's segment objects in the store. */
export async function objectIds(store: ObjectStore, stream: string): Promise<number[]> {
  return (await store.list(streamPrefix(stream))).map((o) => parseSegmentKey(o.key)!.baseId);
}

/** Registers the Tier 2 behaviour tests against `backend`: upload and eviction, rebuild from the bucket (also across late uploads and gaps), a damaged local copy, retention. */
export function tier2Suite(backend: Backend): void {
  describe(`Tier 2 on ${backend.name}`, () => {
    const cleanups: (() => void)[] = [];
    after(() => cleanups.forEach((c) => c()));
    const scratch = (): string => {
      const t = tempRoot();
      cleanups.push(t.cleanup);
      return t.root;
    };

    test('every sealed segment is uploaded; past the budget local copies are evicted and read back from Tier 2', async () => {
      const root = scratch();
      const cfg = backend.fresh('evict');
      const store = await openObjectStore(cfg);
      const manager = await AofManager.open(smallEngine(root, cfg, 256 * 1024));
      try {
        const log = await manager.openStream('orders');
        const total = 2000; // ~2 MB: about 32 segments, 8 times the budget
        await fill(log, 0, total);
        await withTimeout(manager.settle(), 30_000, 'settle');
        const stats = manager.stats();
        const t2 = stats.tier2!;
        const sealed = logCore(log).segments.filter((s) => s.sealed).length;
        assert.equal(stats.tier1.segmentsCompressed, sealed);
        assert.equal(t2.segmentsUploaded, sealed, 'every compressed segment uploaded exactly once');
        assert.ok(t2.segmentsEvicted > 0, 'some local copies were evicted');
        assert.ok(t2.localBytes <= 256 * 1024, `local Tier 1 bytes ${t2.localBytes} within the budget`);
        assert.equal(t2.pendingBytes, 0);
        const ids = await objectIds(store, 'orders');
        assert.deepEqual(ids, logCore(log).segments.filter((s) => s.sealed).map((s) => s.baseId), 'one object per sealed segment, nothing else');
        const files = streamFiles(root, 'orders');
        assert.ok(files.t1.length < ids.length, 'fewer local Tier 1 files than objects');
        // The oldest segments are remote only now: a sync reader meets WouldBlock, an async one waits.
        const sync = log.openReader({ from: 0 });
        assert.throws(() => sync.nextSync(), (err: unknown) => err instanceof WouldBlockError && err.kind === 'hydration');
        sync.close();
        await readBack(log, 0, total);
      } finally {
        await manager.close();
        await store.close();
      }
    });

    test('rebuild: a fresh root on the same bucket lists the stream, reads every record and appends after them', async () => {
      const cfg = backend.fresh('rebuild');
      const first = scratch();
      let end: number;
      {
        const manager = await AofManager.open(smallEngine(first, cfg, 1 << 30));
        const log = await manager.openStream('events');
        await fill(log, 0, 1500);
        await manager.close(); // seals the tail, compresses, uploads, replicates the manifest
        end = 1500;
      }
      rmSync(first, { recursive: true, force: true });
      assert.equal(existsSync(first), false);
      const second = scratch();
      const manager = await AofManager.open(smallEngine(second, cfg, 1 << 30));
      try {
        assert.ok(manager.stats().restoredManifestFiles > 0, 'the manifest came from Tier 2');
        assert.deepEqual(await manager.listStreams(), ['events']);
        const log = await manager.openStream('events');
        assert.equal(log.nextId, end, 'appends continue after the last uploaded id');
        await readBack(log, 0, end);
        await fill(log, end, end + 300);
        await readBack(log, end - 5, end + 300);
      } finally {
        await manager.close();
      }
    });

    test('rebuild adopts segments uploaded after the last manifest sync', async () => {
      const cfg = backend.fresh('adopt');
      const first = scratch();
      const store = await openObjectStore(cfg);
      const manager = await AofManager.open(smallEngine(first, cfg, 1 << 30));
      const log = await manager.openStream('late');
      await fill(log, 0, 300);
      await manager.settle();
      // Keep the replicated manifest as it is now, then let more segments be uploaded and recorded.
      const saved = new Map<string, Uint8Array>();
      for (const o of await store.list('manifest/')) saved.set(o.key, (await store.get(o.key))!);
      const namedBefore = (await objectIds(store, 'late')).length;
      await fill(log, 300, 600);
      await manager.close();
      // Put the old manifest back: the bucket now holds objects the manifest does not name.
      for (const o of await store.list('manifest/')) if (!saved.has(o.key)) await store.delete(o.key);
      for (const [key, bytes] of saved) await store.put(key, bytes);
      try {
        const objects = await objectIds(store, 'late');
        assert.ok(objects.length > namedBefore, 'segments were uploaded after the saved manifest');
        const second = scratch();
        const rebuilt = await AofManager.open(smallEngine(second, cfg, 1 << 30));
        try {
          const again = await rebuilt.openStream('late');
          assert.equal(again.nextId, 600);
          assert.equal(logCore(again).segments.length, objects.length);
          await readBack(again, 0, 600);
        } finally {
          await rebuilt.close();
        }
      } finally {
        await store.close();
      }
    });

    test('rebuild across a gap in late uploads: appends continue before the gap, objects past it are deleted', async () => {
      const cfg = backend.fresh('gap');
      const store = await openObjectStore(cfg);
      try {
        const first = scratch();
        const manager = await AofManager.open(smallEngine(first, cfg, 1 << 30));
        const log = await manager.openStream('gap');
        await fill(log, 0, 300);
        await manager.settle();
        const saved = new Map<string, Uint8Array>();
        for (const o of await store.list('manifest/')) saved.set(o.key, (await store.get(o.key))!);
        const named = await objectIds(store, 'gap');
        await fill(log, 300, 900);
        await manager.close();
        // The manifest mirror as it was at 300 records, and one late upload missing: a gap.
        for (const o of await store.list('manifest/')) if (!saved.has(o.key)) await store.delete(o.key);
        for (const [key, bytes] of saved) await store.put(key, bytes);
        const late = (await objectIds(store, 'gap')).filter((id) => !named.includes(id));
        assert.ok(late.length >= 3, 'several segments were uploaded after the saved mirror');
        const missing = late[1]!;
        await store.delete(segmentKey('gap', missing));
        const rebuilt = await AofManager.open(smallEngine(scratch(), cfg, 1 << 30));
        try {
          const again = await rebuilt.openStream('gap');
          assert.equal(again.nextId, missing, 'ids continue where the gap starts');
          assert.ok((await objectIds(store, 'gap')).every((id) => id < missing), 'objects past the gap were deleted');
          assert.equal(rebuilt.stats().recovery.staleObjectsDeleted, late.length - 2);
          await readBack(again, 0, missing);
          await fill(again, missing, missing + 100);
          await readBack(again, missing - 10, missing + 100);
        } finally {
          await rebuilt.close();
        }
      } finally {
        await store.close();
      }
    });

    test('a damaged local Tier 1 copy is dropped and its frames are fetched from Tier 2', async () => {
      const root = scratch();
      const cfg = backend.fresh('damaged');
      {
        const manager = await AofManager.open(smallEngine(root, cfg, 1 << 30));
        const log = await manager.openStream('dmg');
        await fill(log, 0, 400);
        await manager.close();
      }
      // Flip a byte inside the first frame of the first segment's local copy (after its header).
      const path = t1File(root, 'dmg', 0);
      const bytes = readFileSync(path);
      bytes[TIER1_HEADER_BYTES + 40]! ^= 0xff;
      writeFileSync(path, bytes);
      const manager = await AofManager.open(smallEngine(root, cfg, 1 << 30));
      try {
        const log = await manager.openStream('dmg');
        await readBack(log, 0, 400);
        assert.equal(manager.stats().tier1.localCorruptRefetches, 1, 'the damaged copy was dropped once');
        assert.equal(manager.stats().tier1.hydrateFailures, 0, 'no read failed');
      } finally {
        await manager.close();
      }
      // Whatever is local now is a good copy (re-cached from Tier 2) or nothing; the next open agrees.
      if (existsSync(path)) assert.notDeepEqual(readFileSync(path), bytes);
      const again = await AofManager.open(smallEngine(root, cfg, 1 << 30));
      try {
        await readBack(await again.openStream('dmg'), 0, 400);
      } finally {
        await again.close();
      }
    });

    test('retention by bytes and by age removes old segments from every tier, also across a restart', async () => {
      const root = scratch();
      const cfg = backend.fresh('retention');
      const store = await openObjectStore(cfg);
      const opts = smallEngine(root, cfg, 1 << 30, { retention: { checkIntervalMs: 3_600_000 } });
      try {
        let firstId: number;
        {
          const manager = await AofManager.open(opts);
          const log = await manager.openStream('metrics', { retention: { maxBytes: 5 * SEGMENT_BYTES } });
          await fill(log, 0, 1200);
          await manager.settle();
          await manager.enforceRetention();
          firstId = log.firstId;
          assert.ok(firstId > 0, 'the oldest segments expired');
          assert.ok(logCore(log).liveBytes <= 5 * SEGMENT_BYTES + SEGMENT_BYTES, `stream holds ${logCore(log).liveBytes} bytes`);
          const ids = await objectIds(store, 'metrics');
          assert.ok(ids.every((id) => id >= firstId), `objects below ${firstId} deleted: ${ids.join(',')}`);
          const files = streamFiles(root, 'metrics');
          assert.ok([...files.seg, ...files.t1].every((id) => id >= firstId), 'local files below the first id removed');
          assert.throws(() => log.openReader({ from: 0 }), (err: unknown) => err instanceof AofError && err.code === ErrorCode.OUT_OF_RANGE);
          await readBack(log, firstId, 1200);
          assert.ok(manager.stats().retention.expiredSegments > 0);
          await manager.close();
        }
        {
          const manager = await AofManager.open(opts);
          const log = await manager.openStream('metrics', { retention: { maxAgeMs: 50 } });
          assert.equal(log.firstId, firstId, 'the first id survives a restart');
          assert.equal(log.nextId, 1200);
          await sleep(1100); // maxTimeSec has one-second resolution
          await manager.enforceRetention();
          assert.equal(log.firstId, 1200, 'every sealed segment is older than 50 ms');
          assert.deepEqual(await objectIds(store, 'metrics'), []);
          await fill(log, 1200, 1210);
          await manager.close();
        }
        const manager = await AofManager.open(opts);
        try {
          const log = await manager.openStream('metrics');
          assert.equal(log.firstId, 1200);
          assert.equal(log.nextId, 1210, 'ids stay dense after everything expired');
          await readBack(log, 1200, 1210);
        } finally {
          await manager.close();
        }
      } finally {
        await store.close();
      }
    });
  });
}

