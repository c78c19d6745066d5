/**
 * ManifestLog on real files: round trips, group commit, rotation, torn tails, corruption (counted,
 * skipped, or fatal under strict), incompatible records, snapshots, pruning and metrics.
 * Damage is made by editing the files between a close and a reopen, exactly where a crash or a bad
 * disk would leave it.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { crc32 } from 'node:zlib';
import { Registry } from 'prom-client';
import { AofError, ErrorCode } from '../../../src/errors.js';
import {
  CHUNK_HEADER_BYTES,
  ManifestRecordType as T,
  decodeChunkHeader,
  encodeChunkHeaderInto,
  encodeManifestRecordInto,
  manifestRecordLength,
  type ManifestRecord,
  type SealedRecord,
} from '../../../src/format/manifest.js';
import { FLAG_TIER1_EVICTED, SegmentState } from '../../../src/format/snapshot.js';
import { ManifestLog, type ManifestLogOptions } from '../../../src/manifest/manifest-log.js';
import { MANIFEST_METRIC_NAMES } from '../../../src/metrics/manifest-metrics.js';
import { tempRoot } from '../../../support/tmp.js';
import { workloadModel, workloadOps } from '../../../support/manifest-workload.js';
import { chunkFileName, snapshotFileName } from '../../../src/format/root-layout.js';

const sealed = (stream: string, baseId: number, recordCount = 10): SealedRecord => ({
  type: T.SEALED,
  stream,
  baseId,
  fields: { recordCount, dataBytes: recordCount * 64, dataCrc: (baseId * 31 + recordCount) >>> 0, maxTimeSec: 0 },
});
const evicted = (stream: string, baseId: number): ManifestRecord => ({ type: T.EVICTED, stream, baseId, fields: {} });

const isCode = (c: string) => (err: unknown) => err instanceof AofError && err.code === c;

function encode(records: readonly ManifestRecord[]): Uint8Array {
  let total = 0;
  for (const r of records) total += manifestRecordLength(r);
  const out = new Uint8Array(total);
  let off = 0;
  for (const r of records) off = encodeManifestRecordInto(out, off, r);
  return out;
}

function chunkFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.mlog')).sort();
}
function snapshotFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.snap')).sort();
}

async function metricValue(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `${name} registered`);
  return (await metric.get()).values[0]?.value ?? 0;
}

/** A temp dir plus an `open` that closes what it opened when the test ends. */
function setup(t: TestContext): { dir: string; open: (options?: Omit<ManifestLogOptions, 'dir'>) => ReturnType<typeof ManifestLog.open> } {
  const { root, cleanup } = tempRoot('aof2-manifest-');
  const opened: ManifestLog[] = [];
  t.after(async () => {
    for (const m of opened) await m.close();
    cleanup();
  });
  return {
    dir: root,
    open: async (options = {}) => {
      const result = await ManifestLog.open({ dir: root, ...options });
      opened.push(result.manifest);
      return result;
    },
  };
}

/** Writes `records` as three separate commits, closes, and returns the chunk path. */
async function threeCommits(open: ReturnType<typeof setup>['open'], dir: string, batches: ManifestRecord[][]): Promise<string> {
  const { manifest } = await open();
  for (const batch of batches) await manifest.append(batch);
  await manifest.close();
  const files = chunkFiles(dir);
  assert.equal(files.length, 1);
  return join(dir, files[0]!);
}

describe('ManifestLog basics', () => {
  test('round trip: every transition type survives close and reopen', async (t) => {
    const { dir, open } = setup(t);
    const first = await open();
    assert.deepEqual({ ...first.report, chunkLagSeconds: 0 }, {
      snapshotSeq: null,
      chunkCount: 0,
      recordsReplayed: 0,
      journalLagBytes: 0,
      chunkLagSeconds: 0,
      corruptionEvents: 0,
      unknownRecords: 0,
      orphanRecords: 0,
      trimmedChunks: 0,
      tempFilesRemoved: 0,
    });
    const records: ManifestRecord[] = [
      sealed('orders', 0, 4096),
      sealed('orders', 4096, 100),
      sealed('audit', 7, 1),
      { type: T.COMPRESSION_STARTED, stream: 'orders', baseId: 0, fields: { attempt: 1 } },
      { type: T.COMPRESSION_DONE, stream: 'orders', baseId: 0, fields: { compressedBytes: 5000, frameCount: 2 } },
      { type: T.UPLOADED, stream: 'orders', baseId: 0, fields: { objectBytes: 5064 } },
      evicted('orders', 0),
      { type: T.HYDRATED, stream: 'orders', baseId: 0, fields: {} },
      evicted('orders', 0),
      { type: T.COMPRESSION_FAILED, stream: 'orders', baseId: 4096, fields: { attempts: 4 } },
      { type: T.NEEDS_RECOVERY, stream: 'audit', baseId: 7, fields: {} },
      sealed('gone', 1),
      { type: T.DELETED, stream: 'gone', baseId: 1, fields: {} },
      evicted('never-sealed', 5),
    ];
    await first.manifest.append(records.slice(0, 5));
    await first.manifest.append(records.slice(5));
    const expected = first.catalog.toSnapshotStreams();
    assert.deepEqual([...expected.keys()], ['audit', 'orders']);
    assert.deepEqual(first.catalog.get('orders', 0), {
      baseId: 0,
      recordCount: 4096,
      dataBytes: 4096 * 64,
      dataCrc: 4096,
      state: SegmentState.TIER1,
      flags: 3,
      attempts: 0,
      compressedBytes: 5000,
      frameCount: 2,
      objectBytes: 5064,
      maxTimeSec: 0,
    });
    assert.equal(first.catalog.orphanCount, 1);
    await first.manifest.close();

    const second = await open();
    assert.deepEqual(second.catalog.toSnapshotStreams(), expected);
    assert.equal(second.report.recordsReplayed, records.length);
    assert.equal(second.report.orphanRecords, 1);
    assert.equal(second.report.chunkCount, 1);
    assert.equal(second.report.corruptionEvents, 0);
    assert.equal(second.manifest.catalog, second.catalog);
    // Appends after a reopen go to a fresh chunk.
    await second.manifest.append([sealed('orders', 8192)]);
    assert.deepEqual(chunkFiles(dir), [chunkFileName(0), chunkFileName(1)]);
  });

  test('opening an empty directory creates nothing until the first append; a missing dir is created', async (t) => {
    const { dir, open } = setup(t);
    const { manifest } = await ManifestLog.open({ dir: join(dir, 'nested', 'manifest') });
    await manifest.close();
    assert.deepEqual(readdirSync(join(dir, 'nested', 'manifest')), []);
    const again = await open();
    await again.manifest.close();
    assert.deepEqual(readdirSync(dir), ['nested']);
  });

  test('options are validated', async (t) => {
    const { dir } = setup(t);
    await assert.rejects(ManifestLog.open({ dir, chunkByte: 4096 } as unknown as ManifestLogOptions), isCode(ErrorCode.UNKNOWN_OPTION));
    await assert.rejects(ManifestLog.open({ dir: '' }), isCode(ErrorCode.INVALID_ARGUMENT));
    await assert.rejects(ManifestLog.open(null as unknown as ManifestLogOptions), isCode(ErrorCode.INVALID_ARGUMENT));
    for (const chunkBytes of [0, 100, 1.5, 2 ** 31]) await assert.rejects(ManifestLog.open({ dir, chunkBytes }), isCode(ErrorCode.INVALID_ARGUMENT));
    for (const snapshotEvery of [0, -1, 2.5, NaN]) await assert.rejects(ManifestLog.open({ dir, snapshotEvery }), isCode(ErrorCode.INVALID_ARGUMENT));
    await assert.rejects(ManifestLog.open({ dir, strict: 1 } as unknown as ManifestLogOptions), isCode(ErrorCode.INVALID_ARGUMENT));
    await assert.rejects(ManifestLog.open({ dir, registry: {} } as unknown as ManifestLogOptions), isCode(ErrorCode.INVALID_ARGUMENT));
    const ok = await ManifestLog.open({ dir, snapshotEvery: Infinity, chunkBytes: 256, strict: true });
    await ok.manifest.close();
  });

  test('bad records are refused before anything is written', async (t) => {
    const { open } = setup(t);
    const { manifest, catalog } = await open();
    const bad: [unknown, string][] = [
      [[{ ...sealed('s', 0), type: 42 }], ErrorCode.INVALID_ARGUMENT],
      [[{ type: T.SNAPSHOT, stream: '', baseId: 0, fields: { snapshotSeq: 1 } }], ErrorCode.INVALID_ARGUMENT],
      [[{ ...sealed('s', 0), stream: 'a/b' }], ErrorCode.INVALID_STREAM_NAME],
      [[{ ...sealed('s', 0), baseId: -5 }], ErrorCode.INVALID_ARGUMENT],
      [[{ ...sealed('s', 0), fields: { recordCount: 'x' } }], ErrorCode.INVALID_ARGUMENT],
      [[sealed('s', 0), null], ErrorCode.INVALID_ARGUMENT],
      ['not an array', ErrorCode.INVALID_ARGUMENT],
    ];
    for (const [records, expected] of bad) await assert.rejects(manifest.append(records as ManifestRecord[]), isCode(expected), JSON.stringify(records));
    await manifest.append([]);
    assert.deepEqual(manifest.stats().commits, 0);
    assert.deepEqual(catalog.streams(), []);
  });

  test('the caller may reuse its record objects; the catalog shows a record only once it is durable', async (t) => {
    const { open } = setup(t);
    const { manifest, catalog } = await open();
    const record = sealed('s', 0);
    const pending = manifest.append([record]);
    record.baseId = 999;
    record.fields.recordCount = 1;
    assert.equal(catalog.get('s', 0), undefined, 'not applied before it is durable');
    await pending;
    assert.equal(catalog.get('s', 0)?.recordCount, 10);
    assert.equal(catalog.get('s', 999), undefined);
  });

  test('close is idempotent, lets queued appends finish, and every later call rejects AOF_ERR_CLOSED', async (t) => {
    const { open } = setup(t);
    const { manifest, catalog } = await open();
    const queued = [manifest.append([sealed('s', 0)]), manifest.append([sealed('s', 1)]), manifest.snapshot()];
    const closing = manifest.close();
    assert.equal(manifest.close(), closing);
    await Promise.all([...queued, closing]);
    assert.equal(catalog.segmentCount, 2);
    assert.equal(manifest.closed, true);
    await assert.rejects(manifest.append([sealed('s', 2)]), isCode(ErrorCode.CLOSED));
    await assert.rejects(manifest.snapshot(), isCode(ErrorCode.CLOSED));
    await manifest.close();
    assert.equal(manifest.stats().snapshots, 1, 'stats() still answers after close');
  });
});

describe('group commit and rotation', () => {
  test('concurrent appends share commits: fewer commits (and fdatasyncs) than appends, call order kept', async (t) => {
    const { open } = setup(t);
    const { manifest, catalog } = await open();
    const calls: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      calls.push(manifest.append([sealed(`s${i % 4}`, i)]));
      // Every segment gets a later transition in a separate call: it must land after its SEALED.
      if (i % 2 === 0) calls.push(manifest.append([evicted(`s${i % 4}`, i)]));
    }
    await Promise.all(calls);
    const stats = manifest.stats();
    assert.equal(stats.appendCalls, 300);
    assert.equal(stats.records, 300);
    assert.ok(stats.commits >= 1 && stats.commits < stats.appendCalls, `commits ${stats.commits}`);
    // Two syncs per commit (records, then header), plus two to create the chunk (file + directory).
    assert.equal(stats.fsyncs, 2 * stats.commits + 2);
    assert.equal(catalog.segmentCount, 200);
    assert.equal(catalog.orphanCount, 0, 'no EVICTED overtook its SEALED');
    for (let i = 0; i < 200; i += 2) assert.equal(catalog.get(`s${i % 4}`, i)!.flags, FLAG_TIER1_EVICTED);

    // Appends issued while a commit is in flight join the next one.
    const before = manifest.stats().commits;
    const firstWave = manifest.append([sealed('w', 0)]);
    await new Promise((resolve) => setImmediate(resolve)); // the first commit is now writing
    const secondWave = Array.from({ length: 50 }, (_, i) => manifest.append([sealed('w', i + 1)]));
    await Promise.all([firstWave, ...secondWave]);
    assert.ok(manifest.stats().commits - before <= 3, `51 appends in ${manifest.stats().commits - before} commits`);
  });

  test('chunks rotate at chunkBytes, and replay crosses every chunk', async (t) => {
    const { dir, open } = setup(t);
    const { manifest, catalog } = await open({ chunkBytes: 512, snapshotEvery: Infinity });
    for (let i = 0; i < 60; i++) await manifest.append([sealed('orders', i * 100), evicted('orders', i * 100)]);
    const files = chunkFiles(dir);
    assert.ok(files.length >= 8, `${files.length} chunks`);
    assert.equal(manifest.stats().chunksCreated, files.length);
    for (const name of files) {
      const size = statSync(join(dir, name)).size;
      assert.ok(size <= 512, `${name} is ${size} bytes`);
      const header = decodeChunkHeader(new Uint8Array(readFileSync(join(dir, name))));
      assert.equal(CHUNK_HEADER_BYTES + header.committedBytes, size);
    }
    const expected = catalog.toSnapshotStreams();
    await manifest.close();
    const again = await open();
    assert.equal(again.report.chunkCount, files.length);
    assert.equal(again.report.recordsReplayed, 120);
    assert.deepEqual(again.catalog.toSnapshotStreams(), expected);
  });

  test('a single batch larger than chunkBytes still goes into one chunk', async (t) => {
    const { dir, open } = setup(t);
    const { manifest } = await open({ chunkBytes: 256 });
    await manifest.append(Array.from({ length: 40 }, (_, i) => sealed('big', i)));
    assert.equal(chunkFiles(dir).length, 1);
    await manifest.append([sealed('big', 41)]);
    assert.equal(chunkFiles(dir).length, 2);
  });
});

describe('torn tails', () => {
  test('whole records past the committed length are trimmed and reported as journal lag', async (t) => {
    const { dir, open } = setup(t);
    const path = await threeCommits(open, dir, [[sealed('s', 0)], [sealed('s', 1)]]);
    const committedSize = statSync(path).size;
    // A crash after the records of a third batch were written, before its header: not committed.
    const uncommitted = encode([sealed('s', 2), evicted('s', 0)]);
    appendFileSync(path, uncommitted);
    const registry = new Registry();
    const { catalog, report } = await open({ registry });
    assert.equal(report.journalLagBytes, uncommitted.length);
    assert.equal(report.trimmedChunks, 1);
    assert.equal(report.corruptionEvents, 0);
    assert.equal(await metricValue(registry, MANIFEST_METRIC_NAMES.journalLagBytes), uncommitted.length);
    assert.match(await registry.getSingleMetricAsString(MANIFEST_METRIC_NAMES.journalLagBytes), new RegExp(`^aof_manifest_replay_journal_lag_bytes ${uncommitted.length}$`, 'm'));
    assert.equal(catalog.get('s', 2), undefined, 'uncommitted records are not applied');
    assert.equal(catalog.get('s', 0)!.flags, 0);
    assert.equal(statSync(path).size, committedSize, 'the tail is cut from the file');
    const again = await open({ registry });
    assert.equal(again.report.journalLagBytes, 0);
    assert.equal(await metricValue(registry, MANIFEST_METRIC_NAMES.journalLagBytes), 0);
  });

  test('a half-written record is trimmed', async (t) => {
    const { dir, open } = setup(t);
    const path = await threeCommits(open, dir, [[sealed('s', 0)], [sealed('s', 1)]]);
    const half = encode([sealed('s', 2)]).subarray(0, 21);
    appendFileSync(path, half);
    const { catalog, report } = await open();
    assert.equal(report.journalLagBytes, 21);
    assert.equal(report.trimmedChunks, 1);
    assert.equal(report.corruptionEvents, 0);
    assert.equal(catalog.segmentCount, 2);
  });

  test('a damaged chunk header is rebuilt by scanning the self-checking records', async (t) => {
    const { dir, open } = setup(t);
    const path = await threeCommits(open, dir, [[sealed('s', 0)], [sealed('s', 1), evicted('s', 0)]]);
    const bytes = readFileSync(path);
    bytes[13]! ^= 0xff; // inside committedBytes: the header CRC no longer matches
    const committedSize = bytes.length;
    writeFileSync(path, Buffer.concat([bytes, Buffer.from(encode([sealed('s', 9)]).subarray(0, 30))]));
    await assert.rejects(open({ strict: true }), (err: unknown) => isCode(ErrorCode.CORRUPT)(err) && (err as AofError).details?.['path'] === path);
    const { catalog, report } = await open();
    assert.equal(report.corruptionEvents, 1);
    assert.equal(report.trimmedChunks, 1);
    assert.equal(report.journalLagBytes, 30);
    assert.equal(catalog.segmentCount, 2);
    assert.equal(catalog.get('s', 0)!.flags, FLAG_TIER1_EVICTED);
    const header = decodeChunkHeader(new Uint8Array(readFileSync(path)));
    assert.equal(header.committedBytes, committedSize - CHUNK_HEADER_BYTES);
    assert.equal(header.recordCount, 3);
    const again = await open({ strict: true });
    assert.equal(again.report.corruptionEvents, 0, 'the rebuilt header checks out');
  });
});

describe('corruption inside the committed length', () => {
  /** Three commits of one record each; returns the chunk path and each record's file offset. */
  async function threeRecords(t: TestContext) {
    const ctx = setup(t);
    const records = [sealed('s', 0), sealed('s', 1), sealed('s', 2)];
    const path = await threeCommits(ctx.open, ctx.dir, records.map((r) => [r]));
    // 12 + 2 + 1 + 8 + 12 = 35 bytes, padded to 40.
    const offsets = [CHUNK_HEADER_BYTES, CHUNK_HEADER_BYTES + 40, CHUNK_HEADER_BYTES + 80];
    assert.equal(manifestRecordLength(records[0]!), 40);
    return { ...ctx, path, offsets };
  }

  test('a flipped bit in a committed record: counted, skipped, the rest applied; strict rejects naming file and offset', async (t) => {
    const { open, path, offsets } = await threeRecords(t);
    const bytes = readFileSync(path);
    bytes[offsets[1]! + 20]! ^= 0x04; // inside the middle record's body (its baseId)
    writeFileSync(path, bytes);
    await assert.rejects(open({ strict: true }), (err: unknown) => {
      assert.ok(isCode(ErrorCode.CORRUPT)(err));
      const e = err as AofError;
      assert.deepEqual([e.details?.['path'], e.details?.['offset']], [path, offsets[1]]);
      assert.match(e.message, new RegExp(`${chunkFileName(0)} is corrupt at offset ${offsets[1]}`));
      return true;
    });
    const registry = new Registry();
    const { catalog, report } = await open({ registry });
    assert.equal(report.corruptionEvents, 1);
    assert.equal(report.recordsReplayed, 2);
    assert.ok((await metricValue(registry, MANIFEST_METRIC_NAMES.corruptionEvents)) > 0);
    assert.deepEqual(catalog.entries('s').map((e) => e.baseId), [0, 2], 'the records around the damage are applied');
    assert.equal(statSync(path).size, CHUNK_HEADER_BYTES + 120, 'damage inside the committed length is never trimmed away');
    // The log stays usable: appends continue in a new chunk and the damaged one is replayed the same way.
    const { manifest } = await open({ registry });
    await manifest.append([sealed('s', 3)]);
    await manifest.close();
    const later = await open({ registry });
    assert.deepEqual(later.catalog.entries('s').map((e) => e.baseId), [0, 2, 3]);
    assert.equal(await metricValue(registry, MANIFEST_METRIC_NAMES.corruptionEvents), 3, 'the counter accumulates over replays');
  });

  test('a damaged length field: replay resynchronises on the next record', async (t) => {
    const { open, path, offsets } = await threeRecords(t);
    const bytes = readFileSync(path);
    bytes.writeUInt32LE(0x00ff_0000, offsets[0]!); // first record's bodyBytes
    writeFileSync(path, bytes);
    const { catalog, report } = await open();
    assert.equal(report.corruptionEvents, 1);
    assert.deepEqual(catalog.entries('s').map((e) => e.baseId), [1, 2]);
  });

  test('a flipped bit in padding is caught by the chunk CRC', async (t) => {
    const { dir, open } = setup(t);
    const record = sealed('odd', 0); // 12 + 2 + 3 + 8 + 16 = 41 bytes: 7 bytes of padding
    assert.equal(manifestRecordLength(record), 48);
    const path = await threeCommits(open, dir, [[record]]);
    const bytes = readFileSync(path);
    bytes[CHUNK_HEADER_BYTES + 46]! ^= 1;
    writeFileSync(path, bytes);
    await assert.rejects(open({ strict: true }), isCode(ErrorCode.CORRUPT));
    const { catalog, report } = await open();
    assert.equal(report.corruptionEvents, 1);
    assert.equal(catalog.segmentCount, 1);
  });

  test('a file cut inside its committed length and a missing chunk are corruption', async (t) => {
    const { dir, open } = setup(t);
    for (let round = 0; round < 3; round++) {
      const { manifest } = await open();
      await manifest.append([sealed('s', round * 2), sealed('s', round * 2 + 1)]);
      await manifest.close();
    }
    assert.deepEqual(chunkFiles(dir), [0, 1, 2].map(chunkFileName));
    const last = join(dir, chunkFileName(2));
    writeFileSync(last, readFileSync(last).subarray(0, CHUNK_HEADER_BYTES + 40));
    const cut = await open();
    assert.equal(cut.report.corruptionEvents, 1);
    assert.deepEqual(cut.catalog.entries('s').map((e) => e.baseId), [0, 1, 2, 3, 4]);
    unlinkSync(join(dir, chunkFileName(1)));
    await assert.rejects(open({ strict: true }), /missing/);
    const gap = await open();
    assert.ok(gap.report.corruptionEvents >= 2);
    assert.deepEqual(gap.catalog.entries('s').map((e) => e.baseId), [0, 1, 4]);
  });
});

describe('records from a newer aof2', () => {
  /** Commits `extra` raw bytes at the end of the only chunk, with a header that commits them. */
  function commitRaw(path: string, extra: Uint8Array): void {
    const bytes = new Uint8Array(readFileSync(path));
    const header = decodeChunkHeader(bytes);
    const out = new Uint8Array(bytes.length + extra.length);
    out.set(bytes);
    out.set(extra, bytes.length);
    encodeChunkHeaderInto(out, 0, {
      ...header,
      committedBytes: header.committedBytes + extra.length,
      recordCount: header.recordCount + 1,
      chunkCrc: crc32(extra, header.chunkCrc),
    });
    writeFileSync(path, out);
  }

  function retyped(record: ManifestRecord, type: number, version = 1): Uint8Array {
    const bytes = encode([record]);
    const v = new DataView(bytes.buffer);
    v.setUint16(4, type, true);
    v.setUint16(6, version, true);
    const body = v.getUint32(0, true);
    v.setUint32(8, crc32(bytes.subarray(12, 12 + body), crc32(bytes.subarray(4, 8))), true);
    return bytes;
  }

  test('an unknown record type rejects open with AOF_ERR_INCOMPATIBLE, and nothing is modified', async (t) => {
    const { dir, open } = setup(t);
    const path = await threeCommits(open, dir, [[sealed('s', 0)]]);
    commitRaw(path, retyped(evicted('s', 0), 99));
    appendFileSync(path, encode([sealed('s', 5)])); // a torn tail that a successful open would trim
    const before = readFileSync(path);
    await assert.rejects(open(), (err: unknown) => {
      assert.ok(isCode(ErrorCode.INCOMPATIBLE)(err));
      const details = (err as AofError).details!;
      assert.deepEqual([details['type'], details['version'], details['path'], details['offset'], details['unknownRecords']], [99, 1, path, CHUNK_HEADER_BYTES + 40, 1]);
      return true;
    });
    assert.deepEqual(readFileSync(path), before, 'the file of a newer aof2 is left untouched');
  });

  test('a newer record version and a newer chunk version are AOF_ERR_INCOMPATIBLE too', async (t) => {
    const { dir, open } = setup(t);
    const path = await threeCommits(open, dir, [[sealed('s', 0)]]);
    const original = readFileSync(path);
    commitRaw(path, retyped(evicted('s', 0), T.EVICTED, 2));
    await assert.rejects(open(), isCode(ErrorCode.INCOMPATIBLE));
    const newer = new Uint8Array(original);
    new DataView(newer.buffer).setUint16(8, 2, true);
    new DataView(newer.buffer).setUint32(60, crc32(newer.subarray(0, 60)), true);
    writeFileSync(path, newer);
    await assert.rejects(open(), (err: unknown) => isCode(ErrorCode.INCOMPATIBLE)(err) && (err as AofError).details?.['path'] === path);
  });
});

describe('snapshots and pruning', () => {
  test('automatic snapshots prune old chunks and snapshots; replay starts at the watermark', async (t) => {
    const { dir, open } = setup(t);
    const registry = new Registry();
    const { manifest, catalog } = await open({ chunkBytes: 512, snapshotEvery: 20, registry });
    const total = 400;
    for (let i = 0; i < total; i += 5) await manifest.append(workloadOps(i, i + 5));
    // append() resolves before the snapshot its batch triggers; close() waits for it.
    await manifest.close();
    const stats = manifest.stats();
    assert.equal(stats.snapshots, total / 20);
    assert.ok(stats.prunedChunks > 0 && stats.prunedSnapshots === stats.snapshots - 2, JSON.stringify(stats));
    assert.equal(snapshotFiles(dir).length, 2);
    assert.deepEqual(catalog.toSnapshotStreams(), workloadModel(total).toSnapshotStreams());
    const chunksLeft = chunkFiles(dir).length;
    assert.ok(chunksLeft < stats.chunksCreated / 3, `${chunksLeft} of ${stats.chunksCreated} chunks left`);

    const again = await open({ registry });
    assert.equal(again.report.snapshotSeq, stats.snapshots);
    assert.equal(snapshotFiles(dir).at(-1), snapshotFileName(stats.snapshots));
    assert.ok(again.report.recordsReplayed <= 1, `replayed ${again.report.recordsReplayed} (the SNAPSHOT marker)`);
    assert.ok(again.report.chunkCount <= 2);
    assert.equal(await metricValue(registry, MANIFEST_METRIC_NAMES.chunkCount), again.report.chunkCount);
    assert.deepEqual(again.catalog.toSnapshotStreams(), workloadModel(total).toSnapshotStreams());
  });

  test('a corrupt newest snapshot falls back to the previous one, whose chunks were kept', async (t) => {
    const { dir, open } = setup(t);
    const { manifest } = await open({ chunkBytes: 512, snapshotEvery: 20 });
    for (let i = 0; i < 205; i += 5) await manifest.append(workloadOps(i, i + 5));
    await manifest.close();
    const [older, newest] = snapshotFiles(dir);
    const bytes = readFileSync(join(dir, newest!));
    bytes[bytes.length - 3]! ^= 0x20;
    writeFileSync(join(dir, newest!), bytes);
    await assert.rejects(open({ strict: true }), isCode(ErrorCode.CORRUPT));
    const { catalog, report } = await open();
    assert.equal(report.snapshotSeq, Number(older!.slice(0, 20)));
    assert.equal(report.corruptionEvents, 1);
    assert.ok(report.recordsReplayed > 20);
    assert.deepEqual(catalog.toSnapshotStreams(), workloadModel(205).toSnapshotStreams());
  });

  test('snapshot() on demand: the next replay reads only the SNAPSHOT marker; temp files are cleaned up', async (t) => {
    const { dir, open } = setup(t);
    const { manifest } = await open();
    await manifest.append(workloadOps(0, 50));
    await manifest.snapshot();
    assert.equal(manifest.stats().recordsSinceSnapshot, 0);
    await manifest.close();
    writeFileSync(join(dir, `${snapshotFileName(9)}.tmp`), 'half a snapshot');
    writeFileSync(join(dir, `${chunkFileName(4)}.tmp`), 'half a chunk');
    const { catalog, report } = await open();
    assert.equal(report.tempFilesRemoved, 2);
    assert.equal(report.snapshotSeq, 1);
    assert.equal(report.recordsReplayed, 1);
    assert.deepEqual(catalog.toSnapshotStreams(), workloadModel(50).toSnapshotStreams());
    assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), []);
  });

  test('a snapshot taken before any chunk exists points at the first chunk to come', async (t) => {
    const { dir, open } = setup(t);
    const first = await open();
    await first.manifest.snapshot();
    await first.manifest.append(workloadOps(0, 10));
    await first.manifest.close();
    assert.deepEqual(chunkFiles(dir), [chunkFileName(0)]);
    const { catalog, report } = await open({ strict: true });
    assert.equal(report.snapshotSeq, 1);
    assert.equal(report.recordsReplayed, 11);
    assert.deepEqual(catalog.toSnapshotStreams(), workloadModel(10).toSnapshotStreams());
  });
});

describe('metrics', () => {
  test('replay publishes the four metrics under their exact names; reopening on the same registry reuses them', async (t) => {
    const { open } = setup(t);
    const registry = new Registry();
    const first = await open({ registry });
    await first.manifest.append([sealed('s', 0)]);
    await first.manifest.close();
    const second = await open({ registry });
    const names = registry.getMetricsAsArray().map((m) => m.name).sort();
    assert.deepEqual(names, [
      'aof_manifest_replay_chunk_count',
      'aof_manifest_replay_chunk_lag_seconds',
      'aof_manifest_replay_corruption_events',
      'aof_manifest_replay_journal_lag_bytes',
    ]);
    assert.equal(await metricValue(registry, MANIFEST_METRIC_NAMES.chunkCount), 1);
    assert.equal(await metricValue(registry, MANIFEST_METRIC_NAMES.chunkLagSeconds), second.report.chunkLagSeconds);
    assert.ok(second.report.chunkLagSeconds > 0 && second.report.chunkLagSeconds < 5);
    assert.equal(await metricValue(registry, MANIFEST_METRIC_NAMES.corruptionEvents), 0);
    const text = await registry.metrics();
    assert.match(text, /# TYPE aof_manifest_replay_corruption_events counter/);
    assert.match(text, /# TYPE aof_manifest_replay_chunk_lag_seconds gauge/);
  });
});
