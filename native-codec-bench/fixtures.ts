/**
 * What the Tier 1 suites share: the engine settings they measure (the shipped defaults: 4 MiB
 * segments, zstd level 3, 256 KiB frames), a compression pool built exactly like the engine's,
 * the fast ingest used to build datasets, the walk to one record inside a decompressed frame, and
 * the Tier 1 dataset that point-read and cold-scan read (built once per run, removed by the
 * runner).
 *
 * Cold means "not resident in the arena": the Tier 1 files were just written, so they sit in the
 * OS page cache on both sides of every comparison (dropping the cache needs root). What a cold
 * read pays is therefore one positional read from the page cache, one zstd frame and, for the
 * engine, the hand-off to a hydrate worker and back.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { AofManager, WouldBlockError, type AofLog, type AofManagerOptions } from '../src/index.js';
import { decodeFrame, frameOffsetOf } from '../src/format/record.js';
import type { FrameIndexEntry } from '../src/format/tier1.js';
import { readTier1Meta, type Tier1Meta } from '../src/format/tier1-file.js';
import { tempRoot } from '../native-free-bench/fixtures.js';
import type { SuiteOptions } from '../native-free-bench/shared.js';
import { LogRecords } from './records.js';
import { SEGMENT_FILE_SUFFIX, STREAMS_DIR, TIER1_FILE_SUFFIX, segmentPath } from '../src/format/root-layout.js';

export const MiB = 1024 * 1024;
/** Engine defaults (src/config.ts DEFAULTS), spelled out so a change of default does not move the figures silently. */
export const SEGMENT_BYTES = 4 * MiB;
export const ARENA_BYTES = 128 * MiB;
export const FRAME_BYTES = 256 * 1024;
export const LEVEL = 3;
export const STREAM = 'events';
/** Seed of the record generator: the same records in every run and on every machine. */
export const SEED = 20_261_122;

/** The compress worker entry file, resolved from dist/native-codec-bench/. */
export const COMPRESS_WORKER = new URL('../workers/compress.js', import.meta.url).href;

/**
 * A compression pool with the engine's settings (src/tier1/tier1.ts): one thread on two cores,
 * atomics disabled, bounded queue, no inherited flags. The engine keeps two tasks submitted at a
 * time; the baseline does the same.
 */
export function compressPool(): Piscina {
  return new Piscina({ filename: COMPRESS_WORKER, minThreads: 0, maxThreads: 1, idleTimeout: 1000, maxQueue: 64, atomics: 'disabled', execArgv: [] });
}
/** Compression tasks in flight at once, as the engine's pump keeps them. */
export const COMPRESS_IN_FLIGHT = 2;

/** Records that fill one segment exactly (fixed-size records: every segment holds the same count). */
export function recordsPerSegment(records: LogRecords): number {
  return Math.floor(SEGMENT_BYTES / records.frameBytes);
}

/** The directory of stream `stream` under `root`. */
export function streamDir(root: string, stream = STREAM): string {
  return join(root, STREAMS_DIR, stream);
}

/** Files of a stream directory by kind (Tier 1 sorted by name, which sorts by base id). */
export function listSegments(dir: string): { tier1: string[]; raw: string[]; temp: string[] } {
  const names = readdirSync(dir).sort();
  return {
    tier1: names.filter((n) => n.endsWith(TIER1_FILE_SUFFIX)).map((n) => join(dir, n)),
    raw: names.filter((n) => n.endsWith(SEGMENT_FILE_SUFFIX)).map((n) => join(dir, n)),
    temp: names.filter((n) => n.endsWith('.tmp')).map((n) => join(dir, n)),
  };
}

/**
 * Writes `count` records into `stream` of a manager opened with `options`, so that every segment
 * they fill ends as a compressed Tier 1 file and nothing else is left: a segment seals when the
 * next record does not fit, so one record more seals the last full one; `settle()` compresses
 * them all; the close (no Tier 2) leaves that one extra record's segment open, and it is removed,
 * so the stream ends at `count`. For datasets of whole Tier 1 segments, not measured.
 * @returns the stream directory
 */
export async function writeCompressedSegments(options: AofManagerOptions, stream: string, records: LogRecords, count: number): Promise<string> {
  const manager = await AofManager.open(options);
  try {
    const log = await manager.openStream(stream);
    await fill(log, records, 0, count + 1);
    await manager.settle();
  } finally {
    await manager.close();
  }
  const dir = streamDir(options.root, stream);
  // The one-record segment the close left open (its base id is `count`): the manifest does not record it.
  rmSync(segmentPath(dir, count), { force: true });
  return dir;
}

/**
 * Appends records `from .. from + count - 1` with appendSync, waiting out WouldBlock with an
 * awaited append (the fastest correct way to fill a stream; used to build datasets, not measured).
 */
export async function fill(log: AofLog, records: LogRecords, from: number, count: number): Promise<void> {
  let id = from;
  const end = from + count;
  while (id < end) {
    try {
      for (; id < end; id++) log.appendSync(records.payload(id));
    } catch (err) {
      if (!(err instanceof WouldBlockError)) throw err;
      await log.append(records.payload(id));
      id++;
    }
  }
}

/** Polls `done` until it returns true (one implementation for both runners: native-free-bench/fixtures.ts). */
export { waitFor as waitUntil } from '../native-free-bench/fixtures.js';

/**
 * Payload of record `recordIndex` (within the segment) in a decompressed frame, found the way the
 * reader finds it: by walking the length fields from the frame's first record. A view into `raw`.
 */
export function recordInFrame(raw: Uint8Array, entry: FrameIndexEntry, recordIndex: number): Uint8Array {
  return decodeFrame(raw, frameOffsetOf(raw, 0, raw.length, recordIndex - entry.firstRecord)).payload;
}

// -------------------------------------------------------------------------------------------------
// The Tier 1 dataset of point-read and cold-scan

export interface Tier1File {
  path: string;
  baseId: number;
  meta: Tier1Meta;
}

export interface Tier1Dataset {
  root: string;
  records: LogRecords;
  segments: number;
  perSegment: number;
  recordCount: number;
  /** Tier 1 files in id order, with their validated metadata (header, footer, frame index). */
  files: Tier1File[];
  frames: number;
  /** Bytes of record frames (header + payload + padding) in all segments. */
  rawBytes: number;
  /** Bytes of the .t1 files. */
  compressedBytes: number;
  buildMs: number;
}

const datasets = new Map<string, { promise: Promise<Tier1Dataset>; cleanup: () => void }>();

/** Segments in the dataset: 128 MiB of records (48 MiB under --quick). */
function datasetSegments(quick: boolean): number {
  return quick ? 12 : 32;
}

/**
 * The dataset, built on first use in this run: a stream of `segments` full 4 MiB segments of
 * JSON log lines, appended, closed (which compresses every segment) and checked (every segment a
 * .t1 file, no raw file left).
 */
export function tier1Dataset(options: SuiteOptions): Promise<Tier1Dataset> {
  const key = options.quick ? 'quick' : 'full';
  let entry = datasets.get(key);
  if (entry === undefined) {
    const { root, cleanup } = tempRoot(`tier1-${key}`);
    entry = { promise: buildDataset(root, datasetSegments(options.quick), options), cleanup };
    datasets.set(key, entry);
  }
  return entry.promise;
}

/** Removes every dataset built in this run (idempotent). */
export function disposeDatasets(): void {
  for (const { cleanup } of datasets.values()) cleanup();
  datasets.clear();
}

/** Manager options for reading the dataset back with an arena of `slots` segments. */
export function readerOptions(root: string, slots: number): AofManagerOptions {
  return {
    root,
    tier0: { arenaBytes: slots * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES },
    tier1: { compressionLevel: LEVEL, frameBytes: FRAME_BYTES },
    fsync: 'never',
  };
}

async function buildDataset(root: string, segments: number, options: SuiteOptions): Promise<Tier1Dataset> {
  const t0 = Date.now();
  const records = new LogRecords(SEED);
  const perSegment = recordsPerSegment(records);
  const recordCount = segments * perSegment;
  options.progress(`building the Tier 1 dataset: ${segments} segments of ${SEGMENT_BYTES / MiB} MiB (${recordCount} records of ${records.size} B)`);
  const found = listSegments(await writeCompressedSegments(readerOptions(root, 16), STREAM, records, recordCount));
  if (found.tier1.length !== segments || found.raw.length !== 0 || found.temp.length !== 0) {
    throw new Error(`dataset: expected ${segments} .t1 files and nothing else, found ${found.tier1.length} .t1, ${found.raw.length} .seg, ${found.temp.length} .tmp`);
  }
  const files: Tier1File[] = [];
  for (const path of found.tier1) {
    const meta = await readTier1Meta(path);
    files.push({ path, baseId: meta.header.baseId, meta });
  }
  for (const [i, f] of files.entries()) {
    if (f.baseId !== i * perSegment || f.meta.header.recordCount !== perSegment) {
      throw new Error(`dataset: ${f.path} holds ${f.meta.header.recordCount} records from ${f.baseId}, expected ${perSegment} from ${i * perSegment}`);
    }
  }
  return {
    root,
    records,
    segments,
    perSegment,
    recordCount,
    files,
    frames: files.reduce((n, f) => n + f.meta.index.length, 0),
    rawBytes: files.reduce((n, f) => n + f.meta.header.dataBytes, 0),
    compressedBytes: files.reduce((n, f) => n + f.meta.fileBytes, 0),
    buildMs: Date.now() - t0,
  };
}

/** Deterministic Fisher-Yates shuffle of 0..n-1. */
/**
 * Picks a record of segment `seg` in the frame after the one picked at the segment's last visit
 * (the first frame random per segment), so a frame comes back only after every other frame of its
 * segment. Since Tier 0 stage 3 the arena caches frames (a run each), not segments: a revisited
 * segment is cold only if the frame read is, and this keeps any frame's revisits further apart
 * than the arena holds runs (segments x frames per segment reads, against arenaBytes / run size).
 */
export function frameRotatingPicker(files: readonly Tier1File[], rand: () => number): (seg: number) => number {
  const next = files.map((f) => Math.floor(rand() * f.meta.index.length));
  return (seg) => {
    const file = files[seg]!;
    const frame = next[seg]!;
    next[seg] = (frame + 1) % file.meta.index.length;
    const entry = file.meta.index[frame]!;
    return file.baseId + entry.firstRecord + Math.floor(rand() * entry.recordCount);
  };
}

export function shuffled(n: number, rand: () => number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** MB/s (10^6 bytes) of `bytes` over `ns`. */
export function mbPerSec(bytes: number, ns: number): number {
  return ns <= 0 ? 0 : bytes / 1e6 / (ns / 1e9);
}
