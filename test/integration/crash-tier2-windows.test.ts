/**
 * Crash windows of Tier 2 too narrow for the random kills of crash-tier2.test.ts to hit reliably,
 * each set up deterministically with real components (real manager, fs store, manifest files) and
 * checked against the contract. The durable state a kill leaves is produced directly where a real
 * kill cannot be timed: e.g. an EXPIRED record made durable with `ManifestLog` and nothing after it
 * is exactly what a kill between `#expire`'s manifest append and its replica sync leaves; a copy
 * of the store directory taken at some moment is exactly what a rebuild sees if the machine dies
 * at that moment.
 *
 * Each test once reproduced an engine bug (sweep before the mirror, expiry while the breaker was
 * open, the rebuild state of streams opened later, a mirrored chunk read mid-commit, a reader in
 * an expired segment); they guard the fixes.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AofError, AofManager, ErrorCode, type AofLog, type AofManagerOptions } from '../../src/index.js';
import { ManifestRecordType } from '../../src/format/manifest.js';
import { SegmentState } from '../../src/format/snapshot.js';
import { ManifestLog } from '../../src/manifest/manifest-log.js';
import { BreakerState, CircuitBreaker } from '../../src/tier2/circuit-breaker.js';
import { ManifestReplica } from '../../src/tier2/manifest-replica.js';
import { openObjectStore, type ObjectStore } from '../../src/tier2/object-store.js';
import { restoreManifest } from '../../src/tier2/rebuild.js';
import { fill, objectIds, readBack } from '../../support/tier2-suite.js';
import { until, withTimeout } from '../../support/tier1-engine.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';
import { CHUNK_FILE_SUFFIX, MANIFEST_PREFIX, manifestDir } from '../../src/format/root-layout.js';

const SEGMENT_BYTES = 16 * 1024;

/** 8 slots of 16 KiB, 4 KiB frames, no eviction, retention only when called. */
function engine(root: string, storeDir: string, extra: Partial<AofManagerOptions> = {}): AofManagerOptions {
  return {
    root,
    tier0: { arenaBytes: 8 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES },
    tier1: { maxBytes: 1 << 30, frameBytes: 4096, compressionLevel: 1 },
    tier2: { kind: 'fs', root: storeDir },
    retention: { checkIntervalMs: 3_600_000 },
    ...extra,
  };
}

/** A temp root and a store directory beside it, both removed after the test. */
function scratch(t: { after: (fn: () => void) => void }, label: string): { root: string; storeDir: string } {
  const { root, cleanup } = tempRoot(`aof2-t2win-${label}-`);
  const storeDir = `${root}-store`;
  t.after(() => {
    cleanup();
    rmSync(storeDir, { recursive: true, force: true });
  });
  return { root, storeDir };
}

async function withStore<T>(storeDir: string, fn: (store: ObjectStore) => Promise<T>): Promise<T> {
  const store = await openObjectStore({ kind: 'fs', root: storeDir });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Reads [from, to) and returns the first failure's code, or null when every record read back. */
async function firstReadFailure(log: AofLog, from: number, to: number): Promise<string | null> {
  try {
    await withTimeout(readBack(log, from, to), 30_000, `read [${from}, ${to})`);
    return null;
  } catch (err) {
    return err instanceof AofError ? err.code : String(err);
  }
}

test(
  'a kill between EXPIRED and the replica sync, then the sweep: a rebuild must still read every id from its firstId',
  async (t) => {
    const { root, storeDir } = scratch(t, 'sweep');
    const total = 16 * 20; // 1000-byte records, 16 per segment: 20 segments
    {
      const manager = await AofManager.open(engine(root, storeDir));
      const log = await manager.openStream('swept');
      await fill(log, 0, total);
      await manager.close(); // everything compressed, uploaded, and the manifest replicated
    }
    // The durable state of a kill right after #expire's EXPIRED append: the record is in the local
    // manifest; the replica has not seen it, no file or object is removed yet.
    const floorSegment = 16 * 8; // expire segments [0, 9): the floor becomes 144
    {
      const { manifest } = await ManifestLog.open({ dir: manifestDir(root) });
      await manifest.append([{ type: ManifestRecordType.EXPIRED, stream: 'swept', baseId: floorSegment, fields: {} }]);
      await manifest.close();
    }
    const machineDied = `${storeDir}-at-death`;
    t.after(() => rmSync(machineDied, { recursive: true, force: true }));
    {
      // The restart finishes the expiry: the sweep deletes the objects below the new first id.
      const manager = await AofManager.open(engine(root, storeDir, { retention: { maxBytes: 1 << 30, checkIntervalMs: 3_600_000 } }));
      try {
        const log = await manager.openStream('swept');
        assert.equal(log.firstId, floorSegment + 16);
        await manager.enforceRetention();
        assert.deepEqual((await withStore(storeDir, (s) => objectIds(s, 'swept')))[0], floorSegment + 16, 'the sweep deleted the objects below firstId');
        // The machine dies now: what the bucket holds is all a rebuild gets.
        cpSync(storeDir, machineDied, { recursive: true });
      } finally {
        await manager.close();
      }
    }
    const fresh = scratch(t, 'sweep-rebuilt');
    const manager = await AofManager.open(engine(fresh.root, machineDied));
    try {
      const log = await manager.openStream('swept');
      assert.equal(log.nextId, total);
      const failure = await firstReadFailure(log, log.firstId, total);
      assert.equal(failure, null, `rebuilt stream holds [${log.firstId}, ${total}) but reading it failed with ${failure}`);
    } finally {
      await manager.close();
    }
  },
);

test(
  'retention while the breaker is open after an outage: a rebuild must still read every id from its firstId',
  async (t) => {
    const { root, storeDir } = scratch(t, 'breaker');
    const manager = await AofManager.open(engine(root, storeDir));
    const away = `${storeDir}-away`;
    const machineDied = `${storeDir}-at-death`;
    t.after(() => {
      rmSync(away, { recursive: true, force: true });
      rmSync(machineDied, { recursive: true, force: true });
    });
    let total = 16 * 20;
    try {
      const log = await manager.openStream('outage');
      await fill(log, 0, total);
      await manager.settle(); // 19 segments uploaded, the manifest replicated
      // The store goes away (a file where its directory was: every put fails) while writing goes on.
      renameSync(storeDir, away);
      writeFileSync(storeDir, '');
      await fill(log, total, total + 16 * 6);
      total += 16 * 6;
      await until(() => manager.stats().tier2!.breakerState === BreakerState.open, 'the breaker to open', 15_000);
      // The store is back; the breaker stays open for its cool-down (1 s), and retention runs now.
      rmSync(storeDir);
      renameSync(away, storeDir);
      await manager.openStream('outage', { retention: { maxBytes: 8 * SEGMENT_BYTES } });
      await manager.enforceRetention();
      assert.equal(manager.stats().tier2!.breakerState, BreakerState.open, 'still in the cool-down (the test was too slow)');
      assert.ok(log.firstId > 0, 'retention expired the uploaded prefix');
      // The machine dies now: what the bucket holds is all a rebuild gets.
      cpSync(storeDir, machineDied, { recursive: true });
    } finally {
      await manager.close();
    }
    const fresh = scratch(t, 'breaker-rebuilt');
    const rebuilt = await AofManager.open(engine(fresh.root, machineDied));
    try {
      const log = await rebuilt.openStream('outage');
      const failure = await firstReadFailure(log, log.firstId, log.nextId);
      assert.equal(failure, null, `rebuilt stream holds [${log.firstId}, ${log.nextId}) but reading it failed with ${failure}`);
    } finally {
      await rebuilt.close();
    }
  },
);

test(
  'a rebuilt root whose first session opened only some streams: a stream opened later still adopts its late uploads',
  async (t) => {
    const { root, storeDir } = scratch(t, 'late');
    const saved = new Map<string, Uint8Array>();
    {
      const manager = await AofManager.open(engine(root, storeDir));
      const a = await manager.openStream('a');
      const b = await manager.openStream('b');
      await fill(a, 0, 100);
      await fill(b, 0, 100);
      await manager.settle();
      await withStore(storeDir, async (store) => {
        for (const o of await store.list(MANIFEST_PREFIX)) saved.set(o.key, (await store.get(o.key))!);
      });
      await fill(b, 100, 300); // uploaded by close, and recorded in the manifest the rebuild will not see
      await manager.close();
    }
    // The machine died after those uploads, before the replica synced them: put the old manifest back.
    await withStore(storeDir, async (store) => {
      for (const o of await store.list(MANIFEST_PREFIX)) if (!saved.has(o.key)) await store.delete(o.key);
      for (const [key, bytes] of saved) await store.put(key, bytes);
    });
    rmSync(root, { recursive: true, force: true });
    const fresh = scratch(t, 'late-rebuilt');
    {
      // First session on the new machine: only stream a is opened (a kill -9 here leaves the same).
      const manager = await AofManager.open(engine(fresh.root, storeDir));
      assert.ok(manager.stats().restoredManifestFiles > 0);
      const a = await manager.openStream('a');
      assert.equal(a.nextId, 100);
      await manager.close();
    }
    const manager = await AofManager.open(engine(fresh.root, storeDir));
    try {
      const b = await manager.openStream('b');
      // Opened in the first session, b would have adopted its objects up to 300 (the suite's
      // "rebuild adopts segments uploaded after the last manifest sync" test).
      assert.equal(b.nextId, 300, 'b must adopt the segments uploaded after the last manifest sync');
      await readBack(b, 0, 300);
    } finally {
      await manager.close();
    }
  },
);

test(
  'a replica sync that read a manifest chunk mid-commit is corrected by the next sync',
  async (t) => {
    const { root, storeDir } = scratch(t, 'replica');
    const dir = manifestDir(root);
    const { manifest } = await ManifestLog.open({ dir });
    const store = await openObjectStore({ kind: 'fs', root: storeDir });
    const replica = new ManifestReplica(dir, store, new CircuitBreaker());
    try {
      const sealed = (baseId: number): Parameters<typeof manifest.append>[0][number] => ({
        type: ManifestRecordType.SEALED,
        stream: 'r',
        baseId,
        fields: { recordCount: 10, dataBytes: 160, dataCrc: 1, maxTimeSec: 0 },
      });
      await manifest.append([sealed(0), sealed(10)]);
      await replica.sync();
      const chunk = (await store.list(MANIFEST_PREFIX)).map((o) => o.key.slice(MANIFEST_PREFIX.length)).find((n) => n.endsWith(CHUNK_FILE_SUFFIX))!;
      const path = join(dir, chunk);
      const before = statSync(path).size;
      // The next commit: its records are written past the committed end, fdatasynced, then the
      // header is rewritten (ManifestLog#commit). Only microtasks run until the write is issued,
      // so the loop below sees the file grow while the header rewrite still waits for this
      // thread: readFileSync returns exactly what the replica's readFile gets in that window.
      const committing = manifest.append([{ type: ManifestRecordType.EXPIRED, stream: 'r', baseId: 0, fields: {} }]);
      for (let i = 0; i < 20; i++) await Promise.resolve();
      const deadline = Date.now() + 5_000;
      while (statSync(path).size === before) if (Date.now() > deadline) assert.fail('the commit never wrote its records');
      const midCommit = new Uint8Array(readFileSync(path));
      await committing;
      const committed = new Uint8Array(readFileSync(path));
      assert.equal(midCommit.length, committed.length, 'the header rewrite does not change the size');
      assert.ok(!sameBytes(midCommit, committed), 'mid-commit the header is the old one');
      // A sync interleaved there uploads the mid-commit copy and remembers its size, which is the
      // final size. A second replica instance, whose first sync lists the store, starts from
      // exactly that state (the same instance would too, through #remote.set after its put).
      await store.put(MANIFEST_PREFIX + chunk, midCommit);
      const after = new ManifestReplica(dir, store, new CircuitBreaker());
      await after.sync();
      await after.close();
      const remote = (await store.get(MANIFEST_PREFIX + chunk))!;
      // A rebuild from the replica would replay the chunk without the EXPIRED record (past the stale
      // committed length: a torn tail), and name segments whose objects #expire deletes next.
      assert.ok(sameBytes(remote, committed), 'the replicated chunk must end up equal to the local one');
    } finally {
      await replica.close();
      await manifest.close();
      await store.close();
    }
    // Show the consequence on a restore as well (only reached once the assertion above holds).
    const restoredDir = join(root, 'restored');
    assert.ok((await withStore(storeDir, (s) => restoreManifest(restoredDir, s))) > 0);
    const { manifest: replayed, catalog } = await ManifestLog.open({ dir: restoredDir });
    await replayed.close();
    assert.equal(catalog.get('r', 0)?.state, SegmentState.DELETED, 'the restored catalog holds the EXPIRED tombstone');
  },
);

test(
  'a reader inside a segment that retention expires gets AOF_ERR_OUT_OF_RANGE, promptly',
  async (t) => {
    const { root, storeDir } = scratch(t, 'reader');
    const manager = await AofManager.open(engine(root, storeDir));
    try {
      const log = await manager.openStream('expiring', { retention: { maxBytes: 8 * SEGMENT_BYTES } });
      const total = 16 * 24; // 24 segments: the first ones left the 8-slot arena long ago
      await fill(log, 0, total);
      await manager.settle();
      const reader = log.openReader({ from: 0 });
      try {
        // Record 0 hydrates frame 0 of segment 0 (and reads frame 1 ahead); the rest is on disk only.
        const first = await withTimeout(reader.next(), 10_000, 'record 0');
        assert.ok(first !== null && sameBytes(first.payload, payloadFor(0, 1000)));
        await manager.enforceRetention();
        assert.ok(log.firstId > 16, 'segment 0 expired under the reader');
        const started = Date.now();
        let code: string | null = null;
        try {
          for (let id = 1; id < 16; id++) await withTimeout(reader.next(), 10_000, `record ${id}`);
        } catch (err) {
          code = err instanceof AofError ? err.code : String(err);
        }
        const ms = Date.now() - started;
        assert.equal(code, ErrorCode.OUT_OF_RANGE, `reading on in an expired segment failed with ${code} after ${ms} ms`);
        assert.ok(ms < 500, `the reader learnt after ${ms} ms`);
      } finally {
        reader.close();
      }
    } finally {
      await manager.close();
    }
  },
);
