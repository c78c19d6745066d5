/**
 * A deterministic stream of manifest transitions for the crash and scale tests, and a way to tell
 * from a catalog alone how many of them it reflects.
 *
 * Op `2m` seals segment m (stream `WORKLOAD_STREAMS[m % 3]`, baseId m * 1000); op `2m + 1` is a
 * transition on an earlier segment, cycling through every type (compression, upload, eviction,
 * hydration, failure, recovery, deletion of segment m - 12, and transitions on already-deleted
 * segments, which are orphans). The newest sealed segment is never deleted, so the largest baseId
 * in a catalog names the last even op applied, and only two op counts can match it.
 */
import { ManifestRecordType as T, type ManifestRecord } from '../src/format/manifest.js';
import { Catalog } from '../src/manifest/catalog.js';

/** Streams of the manifest workload: names of several lengths, so record padding varies. */
export const WORKLOAD_STREAMS = ['orders', 'payments.eu', 'audit-log'] as const;
const BASE_STEP = 1000;

const streamOf = (m: number): string => WORKLOAD_STREAMS[m % WORKLOAD_STREAMS.length]!;

/** Transition number `i` of the workload (a fresh object). */
export function workloadOp(i: number): ManifestRecord {
  const m = Math.floor(i / 2);
  if (i % 2 === 0) {
    return { type: T.SEALED, stream: streamOf(m), baseId: m * BASE_STEP, fields: { recordCount: 1000 + (m % 17), dataBytes: 65_536 + m, dataCrc: (m * 2654435761) >>> 0, maxTimeSec: 0 } };
  }
  const on = (back: number): { stream: string; baseId: number } => {
    const j = Math.max(0, m - back);
    return { stream: streamOf(j), baseId: j * BASE_STEP };
  };
  switch (m % 9) {
    case 0:
      return { type: T.COMPRESSION_STARTED, ...on(0), fields: { attempt: 1 } };
    case 1:
      return { type: T.COMPRESSION_DONE, ...on(1), fields: { compressedBytes: 20_000 + m, frameCount: 1 + (m % 7) } };
    case 2:
      return { type: T.UPLOADED, ...on(2), fields: { objectBytes: 20_064 + m } };
    case 3:
      return { type: T.EVICTED, ...on(3), fields: {} };
    case 4:
      return { type: T.COMPRESSION_FAILED, ...on(4), fields: { attempts: 1 + (m % 5) } };
    case 5:
      return { type: T.HYDRATED, ...on(5), fields: {} };
    case 6:
      return { type: T.NEEDS_RECOVERY, ...on(6), fields: {} };
    case 7:
      return m >= 12 ? { type: T.DELETED, ...on(12), fields: {} } : { type: T.EVICTED, ...on(0), fields: {} };
    default:
      // Segment m - 30 was deleted at op 2(m - 18) + 1 when (m - 18) % 9 === 7: then this is an orphan.
      return { type: T.EVICTED, ...on(30), fields: {} };
  }
}

/** Ops [from, to) of the workload. */
export function workloadOps(from: number, to: number): ManifestRecord[] {
  const out: ManifestRecord[] = [];
  for (let i = from; i < to; i++) out.push(workloadOp(i));
  return out;
}

/** The catalog after ops [0, n). */
export function workloadModel(n: number): Catalog {
  const c = new Catalog();
  for (let i = 0; i < n; i++) c.apply(workloadOp(i));
  return c;
}

function sameCatalog(a: Catalog, b: Catalog): boolean {
  return JSON.stringify([...a.toSnapshotStreams()]) === JSON.stringify([...b.toSnapshotStreams()]);
}

/**
 * How many workload ops `catalog` reflects: the largest n in the two candidates whose model equals
 * it (0 for an empty catalog), or null if neither does (the catalog is not a prefix of the workload).
 */
export function locateWorkload(catalog: Catalog): number | null {
  let maxSegment = -1;
  for (const stream of catalog.streams()) for (const e of catalog.entries(stream)) maxSegment = Math.max(maxSegment, e.baseId / BASE_STEP);
  if (maxSegment < 0) return catalog.streams().length === 0 ? 0 : null;
  const model = workloadModel(2 * maxSegment + 1);
  const odd = sameCatalog(model, catalog);
  model.apply(workloadOp(2 * maxSegment + 1));
  if (sameCatalog(model, catalog)) return 2 * maxSegment + 2;
  return odd ? 2 * maxSegment + 1 : null;
}
