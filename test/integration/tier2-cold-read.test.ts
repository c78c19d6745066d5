/**
 * Cold reads from S3 cost one request per record read (issue 13, "single-request cold reads"):
 * the frame index of every uploaded segment is recorded in the manifest (FRAME_INDEX, with
 * UPLOADED), so a process that has nothing of a segment but the manifest (here a root rebuilt from
 * Tier 2 alone: no local file, no index in memory) reads a record with one ranged GET of exactly
 * its frame. Counted, not timed: every request the engine sends (main thread and worker threads)
 * goes through a logging proxy in front of moto (support/counting-proxy.ts).
 *
 * Old data still reads: a manifest written before FRAME_INDEX existed (made here by taking the
 * records out of the replicated chunks, support/legacy-manifest.ts) costs the old three requests
 * (header and index GETs, then the frame) on the first read of a segment; the engine then records
 * the index, so the next process reads that segment with one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AofManager, type AofLog, type AofManagerOptions } from '../../src/index.js';
import { TIER1_FOOTER_BYTES, TIER1_HEADER_BYTES, TIER1_INDEX_ENTRY_BYTES, type FrameIndexEntry } from '../../src/format/tier1.js';
import { readTier1Meta, type Tier1Meta } from '../../src/format/tier1-file.js';
import { segmentKey } from '../../src/format/root-layout.js';
import { openObjectStore, type Tier2StoreConfig } from '../../src/tier2/object-store.js';
import { CountingProxy, type ProxiedRequest } from '../../support/counting-proxy.js';
import { stripFrameIndexRecords } from '../../support/legacy-manifest.js';
import { startS3Server, type S3TestServer } from '../../support/s3-server.js';
import { streamFiles, t1File, withTimeout } from '../../support/tier1-engine.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';
import { logCore } from '../../src/log.js';

const STREAM = 'cold';
const SEGMENT_BYTES = 64 * 1024;
const RECORD_BYTES = 1000;
/** About eleven segments of 64 KiB, each of about eight 8 KiB frames. */
const RECORDS = 700;

let server: S3TestServer;
let proxy: CountingProxy | null = null;
let n = 0;
const cleanups: (() => void)[] = [];

before(async () => {
  server = await startS3Server();
  if (server.controllable) proxy = await CountingProxy.start(server.endpoint);
});
after(async () => {
  await proxy?.close();
  await server.close();
  cleanups.forEach((c) => c());
});

function scratch(): string {
  const t = tempRoot();
  cleanups.push(t.cleanup);
  return t.root;
}

/**
 * 8 KiB frames, so a segment has several and "exactly its frame" means something. A 1-byte Tier 1
 * budget (readers) evicts every local copy and never copies one back: every read is served by S3.
 */
function options(root: string, tier2: Tier2StoreConfig, budget: number): AofManagerOptions {
  return {
    root,
    tier0: { arenaBytes: 8 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES },
    tier1: { maxBytes: budget, frameBytes: 8 * 1024, compressionLevel: 1 },
    tier2,
  };
}

interface Dataset {
  /** The store as the engine reaches it: through the proxy. */
  viaProxy: Tier2StoreConfig;
  /** The same store, reached directly (test set-up, not counted). */
  direct: Tier2StoreConfig;
  /** Every segment's Tier 1 metadata, read from the writer's local files: the frames' true ranges. */
  segments: Tier1Meta[];
}

/** Writes RECORDS records through the proxy, closes (everything uploaded, manifest replicated). */
async function writeDataset(label: string): Promise<Dataset> {
  const direct = server.config(`${label}-${n++}`);
  const viaProxy = { ...direct, endpoint: proxy!.endpoint };
  const root = scratch();
  const manager = await AofManager.open(options(root, viaProxy, 1 << 30));
  try {
    const log = await manager.openStream(STREAM);
    for (let id = 0; id < RECORDS; id++) assert.equal(await log.append(payloadFor(id, RECORD_BYTES)), id);
  } finally {
    await manager.close(); // seals the tail, compresses, uploads, replicates the manifest
  }
  const segments = await Promise.all(streamFiles(root, STREAM).t1.map((id) => readTier1Meta(t1File(root, STREAM, id))));
  assert.ok(segments.length >= 8, `${segments.length} segments`);
  assert.ok(segments.every((s) => s.index.length >= 4), 'every full segment has several frames');
  return { viaProxy, direct, segments };
}

/** A record in the middle of a middle frame of `meta`'s segment: its id and its frame. */
function pick(meta: Tier1Meta, frame = Math.floor(meta.index.length / 2)): { id: number; entry: FrameIndexEntry } {
  const entry = meta.index[frame]!;
  return { id: meta.header.baseId + entry.firstRecord + Math.floor(entry.recordCount / 2), entry };
}

const rangeOf = (offset: number, length: number): string => `bytes=${offset}-${offset + length - 1}`;
const isSegmentObject = (r: ProxiedRequest): boolean => r.path.includes(`/streams/${STREAM}/`);
const describeAll = (rs: ProxiedRequest[]): string => rs.map((r) => `${r.method} ${r.path} ${r.range ?? ''}`).join('; ') || '(none)';

/**
 * Reads record `id` with a fresh reader once the manager is quiet, and returns every request sent
 * meanwhile (the read and anything it set off, up to the next quiet point).
 */
async function countedRead(manager: AofManager, log: AofLog, id: number): Promise<ProxiedRequest[]> {
  await manager.settle();
  const mark = proxy!.mark();
  const reader = log.openReader({ from: id });
  try {
    const rec = await withTimeout(reader.next(), 20_000, `record ${id}`);
    assert.ok(rec !== null && rec.id === id, `record ${id} read`);
    assert.ok(sameBytes(rec.payload, payloadFor(id, RECORD_BYTES)), `record ${id} has its bytes`);
  } finally {
    reader.close();
  }
  await manager.settle();
  return proxy!.since(mark);
}

/** The requests for segment objects must be exactly `expected`; anything else may only touch the manifest. */
function assertSegmentRequests(all: ProxiedRequest[], key: string, expected: { method: string; range: string | null }[], what: string): void {
  const segment = all.filter(isSegmentObject);
  assert.ok(
    segment.every((r) => r.path.endsWith(`/${key}`)),
    `${what}: only ${key} was asked for, got ${describeAll(all)}`,
  );
  assert.deepEqual(
    segment.map((r) => ({ method: r.method, range: r.range })),
    expected,
    `${what}: requests were ${describeAll(all)}`,
  );
  const others = all.filter((r) => !isSegmentObject(r));
  assert.ok(others.every((r) => r.path.includes('/manifest/')), `${what}: nothing but the manifest besides, got ${describeAll(others)}`);
}

describe('cold reads from S3 (moto), counted by a proxy', () => {
  test('after a rebuild from Tier 2 (index absent locally): the first read of a record is one ranged GET, of exactly its frame', async (t) => {
    if (proxy === null) return t.skip(server.skipReason ?? 'external S3 endpoint: the counting proxy needs plain HTTP moto');
    const ds = await writeDataset('rebuild');
    const root = scratch();
    const manager = await AofManager.open(options(root, ds.viaProxy, 1));
    try {
      assert.ok(manager.stats().restoredManifestFiles > 0, 'a rebuild: the manifest came from Tier 2');
      const log = await manager.openStream(STREAM);
      assert.deepEqual(streamFiles(root, STREAM).t1, [], 'no local Tier 1 file: nothing but the manifest');
      // A segment the rebuild adopted from the bucket listing (its upload missing from the
      // replicated manifest: the loss window, src/tier2/rebuild.ts) had its index read at open, so
      // it reads in one GET too, without the manifest. Every other one must take the recorded index.
      const segs = logCore(log).segments;
      const adopted = segs.filter((s) => s.frameIndex !== null).map((s) => s.baseId);
      assert.ok(segs.every((s) => s.frameIndex !== null || s.recordedIndex !== null), 'every segment has its index recorded, or adopted at open');
      if (adopted.length > 0) t.diagnostic(`adopted from the bucket listing at open (not in the replicated manifest): ${adopted.join(', ')}`);
      for (const meta of ds.segments) {
        const { id, entry } = pick(meta);
        const key = segmentKey(STREAM, meta.header.baseId);
        const requests = await countedRead(manager, log, id);
        assertSegmentRequests(requests, key, [{ method: 'GET', range: rangeOf(entry.fileOffset, entry.compressedBytes) }], `first read of segment ${meta.header.baseId}`);
      }
      // A later read of the same segment, another frame: still one GET (the index is in memory now).
      const meta = ds.segments[1]!;
      const { id, entry } = pick(meta, 0);
      assertSegmentRequests(await countedRead(manager, log, id), segmentKey(STREAM, meta.header.baseId), [{ method: 'GET', range: rangeOf(entry.fileOffset, entry.compressedBytes) }], 'second read');
      const stats = manager.stats();
      assert.equal(stats.tier2!.indexFetches, 0, 'no index was read from an object');
      assert.equal(stats.tier2!.indexesFromManifest, ds.segments.length - adopted.length, 'every segment not adopted at open took its index from the manifest');
      assert.ok(adopted.length < ds.segments.length / 2, `most segments came from the manifest (adopted: ${adopted.join(', ')})`);
      assert.equal(stats.tier1.framesDecompressed, ds.segments.length + 1, 'one frame per read');
      assert.equal(stats.tier2!.segmentsRecached, 0);
      assert.deepEqual(streamFiles(root, STREAM).t1, [], 'every frame came from S3');
      const scraped = await manager.registry.metrics();
      assert.match(scraped, new RegExp(`^aof_tier2_index_manifest_reads_total ${stats.tier2!.indexesFromManifest}$`, 'm'));
      assert.match(scraped, /^aof_tier2_index_fetches_total 0$/m);
    } finally {
      await manager.close();
    }
  });

  test('a manifest from before FRAME_INDEX: the first read fetches the index (3 requests) and records it; the next process reads in 1', async (t) => {
    if (proxy === null) return t.skip(server.skipReason ?? 'external S3 endpoint: the counting proxy needs plain HTTP moto');
    const ds = await writeDataset('legacy');
    const store = await openObjectStore(ds.direct);
    try {
      // One per uploaded segment, but the last ones may be missing from the replicated copy (the
      // loss window a rebuild recovers from the listing: see the test above).
      const dropped = await stripFrameIndexRecords(store);
      assert.ok(dropped > 0 && dropped <= ds.segments.length, `${dropped} FRAME_INDEX records taken out`);
      if (dropped < ds.segments.length) t.diagnostic(`the replicated manifest held ${dropped} of ${ds.segments.length} FRAME_INDEX records`);
    } finally {
      await store.close();
    }
    const meta = ds.segments[2]!;
    const key = segmentKey(STREAM, meta.header.baseId);
    const root = scratch();
    {
      const manager = await AofManager.open(options(root, ds.viaProxy, 1));
      try {
        assert.ok(manager.stats().restoredManifestFiles > 0, 'a rebuild from the old manifest');
        const log = await manager.openStream(STREAM);
        const old = logCore(log).segments.filter((s) => s.baseId === meta.header.baseId || s.baseId === ds.segments[3]!.header.baseId);
        assert.deepEqual(old.map((s) => [s.recordedIndex, s.frameIndex]), [[null, null], [null, null]], 'segments 2 and 3: no index recorded, none in memory');
        const { id, entry } = pick(meta);
        const requests = await countedRead(manager, log, id);
        const objectBytes = meta.fileBytes;
        const tailBytes = meta.index.length * TIER1_INDEX_ENTRY_BYTES + TIER1_FOOTER_BYTES;
        const segment = requests.filter(isSegmentObject);
        // The header and the index + footer in parallel (either order), then the frame.
        assert.equal(segment.length, 3, `the old path: ${describeAll(requests)}`);
        assert.deepEqual(
          new Set(segment.slice(0, 2).map((r) => r.range)),
          new Set([rangeOf(0, TIER1_HEADER_BYTES), rangeOf(objectBytes - tailBytes, tailBytes + 1)]),
        );
        assertSegmentRequests(requests.filter((r) => r !== segment[0] && r !== segment[1]), key, [{ method: 'GET', range: rangeOf(entry.fileOffset, entry.compressedBytes) }], 'then the frame');
        assert.equal(manager.stats().tier2!.indexFetches, 1);
        assert.equal(manager.stats().tier2!.indexesFromManifest, 0);
      } finally {
        await manager.close(); // the recorded index goes into the replicated manifest too
      }
    }
    {
      // The same root again (not a rebuild): the index the first read recorded is in the manifest now.
      const manager = await AofManager.open(options(root, ds.viaProxy, 1));
      try {
        assert.equal(manager.stats().restoredManifestFiles, 0);
        const log = await manager.openStream(STREAM);
        const { id, entry } = pick(meta, meta.index.length - 1);
        assertSegmentRequests(await countedRead(manager, log, id), key, [{ method: 'GET', range: rangeOf(entry.fileOffset, entry.compressedBytes) }], 'first read in the next process');
        assert.equal(manager.stats().tier2!.indexFetches, 0);
        assert.equal(manager.stats().tier2!.indexesFromManifest, 1);
      } finally {
        await manager.close();
      }
    }
    {
      // And a rebuild elsewhere from the replicated manifest: the recorded index travelled with it.
      const manager = await AofManager.open(options(scratch(), ds.viaProxy, 1));
      try {
        assert.ok(manager.stats().restoredManifestFiles > 0);
        const log = await manager.openStream(STREAM);
        const { id, entry } = pick(meta, 0);
        assertSegmentRequests(await countedRead(manager, log, id), key, [{ method: 'GET', range: rangeOf(entry.fileOffset, entry.compressedBytes) }], 'first read after a second rebuild');
        // Another segment was never read: still the old path (its index was never recorded).
        const other = ds.segments[3]!;
        const segment = (await countedRead(manager, log, pick(other).id)).filter(isSegmentObject);
        assert.equal(segment.length, 3, 'a segment never read still fetches its index');
      } finally {
        await manager.close();
      }
    }
  });
});
