/**
 * Helpers for the Tier 1 engine tests (pipeline, point read, chaos, crash): bounded waits on the
 * manager's Tier 1 counters, read-back passes over the three read paths, and the check that the
 * manifest catalog agrees with the files in a stream directory. Real engine only.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { AofError, ErrorCode, WouldBlockError, type AofLog, type AofManager } from '../src/index.js';
import { SegmentState, type CatalogEntry } from '../src/format/snapshot.js';
import { ManifestLog, type ReplayReport } from '../src/manifest/manifest-log.js';
import { Deadline, sleep, waitFor } from './engine.js';
import { isTempName, manifestDir, parseSegmentFileName, parseTier1FileName, segmentPath, streamDir, tier1Path } from '../src/format/root-layout.js';
import { scanFrames } from '../src/format/record.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, tryDecodeFooter } from '../src/format/segment.js';
import { payloadFor, sameBytes } from './tmp.js';
import { logCore } from '../src/log.js';

/** Rejects (failing the test) when `promise` does not settle within `ms`: nothing may hang. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Bounded poll (the Tier 1 tests' default of 10 s): {@link waitFor} with a longer deadline. */
export function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  return waitFor(predicate, what, timeoutMs);
}

/**
 * Waits until no frame hydration is running. Counters are bumped when the piscina result reaches
 * the main thread, which can be after a reader saw the frame's residency bit.
 */
export function hydrationsDrained(manager: AofManager, timeoutMs = 10_000): Promise<void> {
  return until(() => manager.stats().tier1.hydrateQueue === 0, 'the hydrate queue to drain', timeoutMs);
}

/** Sealed segments of `log` (every segment but the active one). */
export function sealedCount(log: AofLog): number {
  const d = logCore(log).describe();
  return d.segments - (d.active ? 1 : 0);
}

/** Waits until every sealed segment of `log` was compressed or given up on, and the queue is empty. */
export function compressionSettled(manager: AofManager, log: AofLog, timeoutMs = 15_000): Promise<void> {
  return until(() => {
    const t1 = manager.stats().tier1;
    return t1.compressQueue === 0 && t1.segmentsCompressed + t1.compressFailures >= sealedCount(log);
  }, 'compression of every sealed segment', timeoutMs);
}

/** Files of a stream directory, by kind. */
export interface StreamFiles {
  seg: number[];
  t1: number[];
  tmp: string[];
  other: string[];
}

/** The files of a stream's directory, sorted into segment and Tier 1 base ids, temporaries and anything else. */
export function streamFiles(root: string, stream: string): StreamFiles {
  const out: StreamFiles = { seg: [], t1: [], tmp: [], other: [] };
  for (const name of readdirSync(streamDir(root, stream))) {
    const segId = parseSegmentFileName(name);
    const t1Id = parseTier1FileName(name);
    if (isTempName(name)) out.tmp.push(name);
    else if (segId !== null) out.seg.push(segId);
    else if (t1Id !== null) out.t1.push(t1Id);
    else out.other.push(name);
  }
  out.seg.sort((a, b) => a - b);
  out.t1.sort((a, b) => a - b);
  return out;
}

/** Path of the Tier 1 file of segment `baseId` of `stream`. */
export function t1File(root: string, stream: string, baseId: number): string {
  return tier1Path(streamDir(root, stream), baseId);
}

/** Size in bytes of the file at `path`. */
export function fileSize(path: string): number {
  return statSync(path).size;
}

/** What {@link checkCatalogAgainstFiles} found. */
export interface CatalogCheck {
  entries: CatalogEntry[];
  files: StreamFiles;
  report: ReplayReport;
  /** Id one past the last segment's records, the open tail's included (= the stream's nextId after a graceful close). */
  endId: number;
  tier1: number;
  /** Raw segments the catalog records (SEALED, COMPRESSION_FAILED); the open tail is not one of them. */
  raw: number;
  compressionFailed: number;
  /**
   * Base id of the stream's open tail, or null: the last raw file, which the catalog does not record
   * (a close without Tier 2 leaves the active segment open with a footer; a crash leaves it unsealed).
   */
  openTail: number | null;
}

/** Records in a raw segment file: its footer's count, or (no footer: a crash) its valid frames. */
function recordsIn(path: string): number {
  const bytes = readFileSync(path);
  const footer = bytes.length >= SEGMENT_HEADER_BYTES + SEGMENT_FOOTER_BYTES ? tryDecodeFooter(bytes, bytes.length - SEGMENT_FOOTER_BYTES) : null;
  if (footer !== null && SEGMENT_HEADER_BYTES + footer.dataBytes + SEGMENT_FOOTER_BYTES === bytes.length) return footer.recordCount;
  return scanFrames(bytes, SEGMENT_HEADER_BYTES, bytes.length).count;
}

/**
 * Replays the manifest of a CLOSED root (exactly what the next open will see) and checks it against
 * the stream's files: no temp file (unless `allowTmp`: a compress worker that crashed leaves its
 * `.t1.tmp` for the startup sweep, so only a root that was opened since is free of them), every segment id in exactly one local form (.seg xor .t1), the
 * catalog naming exactly those ids, each in the state its file says (TIER1 ⇔ .t1; SEALED or
 * COMPRESSION_FAILED ⇔ .seg), ids dense from 0, and a replay free of corruption. One file may
 * be missing from the catalog: the stream's open tail (the newest raw file, continuing the
 * catalog's ids), which a close without Tier 2 leaves for the next session.
 */
export async function checkCatalogAgainstFiles(root: string, stream: string, where = '', opts: { allowTmp?: boolean } = {}): Promise<CatalogCheck> {
  const files = streamFiles(root, stream);
  const at = where === '' ? stream : `${where}: ${stream}`;
  if (opts.allowTmp !== true) assert.deepEqual(files.tmp, [], `${at}: no temp file may remain`);
  assert.deepEqual(files.other, [], `${at}: unexpected files`);
  const both = files.seg.filter((id) => files.t1.includes(id));
  assert.deepEqual(both, [], `${at}: segments present both raw and compressed`);
  const { manifest, catalog, report } = await ManifestLog.open({ dir: manifestDir(root) });
  try {
    const entries = catalog.entries(stream);
    assert.equal(report.corruptionEvents, 0, `${at}: manifest replay found corruption`);
    const recorded = new Set(entries.map((e) => e.baseId));
    const unrecorded = files.seg.filter((id) => !recorded.has(id));
    const newest = Math.max(-1, ...files.seg, ...files.t1);
    assert.ok(unrecorded.length === 0 || (unrecorded.length === 1 && unrecorded[0] === newest), `${at}: raw files the catalog does not record: ${unrecorded.join(', ')} (only the newest, the open tail, may be)`);
    const openTail = unrecorded[0] ?? null;
    assert.deepEqual(
      entries.map((e) => e.baseId),
      [...files.seg, ...files.t1].filter((id) => id !== openTail).sort((a, b) => a - b),
      `${at}: catalog segments and files differ`,
    );
    let next = 0;
    let tier1 = 0;
    let raw = 0;
    let compressionFailed = 0;
    for (const e of entries) {
      assert.equal(e.baseId, next, `${at}: catalog ids must be dense (segment ${e.baseId}, expected ${next})`);
      assert.ok(e.recordCount > 0, `${at}: empty segment ${e.baseId} in the catalog`);
      next = e.baseId + e.recordCount;
      if (e.state === SegmentState.TIER1) {
        assert.ok(files.t1.includes(e.baseId), `${at}: catalog says segment ${e.baseId} is Tier 1, no .t1 file`);
        tier1++;
      } else {
        assert.ok(
          e.state === SegmentState.SEALED || e.state === SegmentState.COMPRESSION_FAILED,
          `${at}: segment ${e.baseId} in unexpected state ${e.state}`,
        );
        assert.ok(files.seg.includes(e.baseId), `${at}: catalog says segment ${e.baseId} is raw, no .seg file`);
        raw++;
        if (e.state === SegmentState.COMPRESSION_FAILED) compressionFailed++;
      }
    }
    if (openTail !== null) {
      assert.equal(openTail, next, `${at}: the open tail must continue the catalog's ids`);
      next += recordsIn(segmentPath(streamDir(root, stream), openTail));
    }
    return { entries, files, report, endId: next, tier1, raw, compressionFailed, openTail };
  } finally {
    await manifest.close();
  }
}

/** How one read pass went. */
export interface PassResult {
  records: number;
  /** WouldBlockError (kind hydration) thrown by nextSync. */
  wouldBlocks: number;
  /** Rejections with a non-corrupt code that were retried (the engine reports a failed load once). */
  retriedFailures: number;
}

/** The codes a retried read may reject with: a worker that kept failing, an I/O error. */
const RETRYABLE = new Set<string>([ErrorCode.WORKER_FAILED, ErrorCode.INJECTED, ErrorCode.IO]);

function retryable(err: unknown): boolean {
  return err instanceof AofError && !(err instanceof WouldBlockError) && RETRYABLE.has(err.code);
}

/**
 * Reads `log` from `from` to `end` with `nextSync()` only: on WouldBlock (which must be of kind
 * hydration) it yields to the event loop (or sleeps `waitMs`, so as not to spin a core away from
 * the workers) and tries again. Checks every record against `expected`. Fails when no record
 * came for `timeoutMs` (default 20 s): a stall, not a slow machine, is what it catches.
 */
export async function syncPass(
  log: AofLog,
  expected: (id: number) => Uint8Array,
  end: number,
  opts: { from?: number; timeoutMs?: number; retry?: boolean; waitMs?: number } = {},
): Promise<PassResult> {
  const from = opts.from ?? 0;
  const stallMs = opts.timeoutMs ?? 20_000;
  const reader = log.openReader({ from });
  const result: PassResult = { records: 0, wouldBlocks: 0, retriedFailures: 0 };
  try {
    let id = from;
    let stall = new Deadline(`the sync pass to read record ${id} of ${end}`, stallMs);
    while (id < end) {
      stall.check();
      let rec;
      try {
        rec = reader.nextSync();
      } catch (err) {
        if (err instanceof WouldBlockError) {
          assert.equal(err.kind, 'hydration', `a reader may only block on hydration, got ${err.kind}`);
          result.wouldBlocks++;
          if (opts.waitMs === undefined) await new Promise<void>((resolve) => setImmediate(resolve));
          else await sleep(opts.waitMs);
          continue;
        }
        if (opts.retry === true && retryable(err)) {
          result.retriedFailures++;
          continue;
        }
        throw err;
      }
      assert.ok(rec !== null, `sync pass: null (caught up) at ${id}, expected ${end}`);
      assert.equal(rec.id, id, 'sync pass: ids dense');
      if (!sameBytes(rec.payload, expected(id))) assert.fail(`sync pass: record ${id} differs`);
      id++;
      result.records++;
      stall = new Deadline(`the sync pass to read record ${id} of ${end}`, stallMs);
    }
    assert.equal(reader.nextSync(), null, 'sync pass: caught up at the end');
  } finally {
    reader.close();
  }
  return result;
}

/** Reads `log` from `from` to `end` with `await next()`; every call bounded by `stepTimeoutMs`. */
export async function asyncPass(log: AofLog, expected: (id: number) => Uint8Array, end: number, opts: { from?: number; stepTimeoutMs?: number; retry?: boolean } = {}): Promise<PassResult> {
  const from = opts.from ?? 0;
  const reader = log.openReader({ from });
  const result: PassResult = { records: 0, wouldBlocks: 0, retriedFailures: 0 };
  try {
    let id = from;
    while (id < end) {
      let rec;
      try {
        rec = await withTimeout(reader.next(), opts.stepTimeoutMs ?? 10_000, `reader.next() at record ${id}`);
      } catch (err) {
        assert.ok(!(err instanceof WouldBlockError), 'an async reader never sees WouldBlock');
        if (opts.retry === true && retryable(err)) {
          result.retriedFailures++;
          continue;
        }
        throw err;
      }
      assert.ok(rec !== null, `async pass: null (caught up) at ${id}, expected ${end}`);
      assert.equal(rec.id, id, 'async pass: ids dense');
      if (!sameBytes(rec.payload, expected(id))) assert.fail(`async pass: record ${id} differs`);
      id++;
      result.records++;
    }
    assert.equal(await reader.next(), null, 'async pass: caught up at the end');
  } finally {
    reader.close();
  }
  return result;
}

/** Reads `log` whole with `log.read()` (copies), bounded by `timeoutMs`. */
export async function iteratorPass(log: AofLog, expected: (id: number) => Uint8Array, end: number, timeoutMs = 20_000): Promise<number> {
  const run = async (): Promise<number> => {
    let id = 0;
    for await (const rec of log.read({ from: 0 })) {
      assert.equal(rec.id, id, 'log.read(): ids dense');
      if (!sameBytes(rec.payload, expected(id))) assert.fail(`log.read(): record ${id} differs`);
      id++;
    }
    return id;
  };
  const n = await withTimeout(run(), timeoutMs, 'log.read() pass');
  assert.equal(n, end, `log.read() returned ${n} records, expected ${end}`);
  return n;
}

/**
 * Appends records `from..to-1` (`payloadFor(id, payloadBytes)`) with appendSync, waiting out a
 * WouldBlock with `await append()`; `sample` runs at every WouldBlock (given the error) and every
 * 16 records. Each id is checked.
 */
export async function writeInOrder(log: AofLog, from: number, to: number, payloadBytes: number, sample: (wouldBlock?: WouldBlockError) => void): Promise<void> {
  for (let id = from; id < to; id++) {
    const payload = payloadFor(id, payloadBytes);
    try {
      assert.equal(log.appendSync(payload), id);
    } catch (err) {
      if (!(err instanceof WouldBlockError)) throw err;
      sample(err);
      assert.equal(await withTimeout(log.append(payload), 60_000, `append of ${id} after WouldBlock ${err.kind}`), id);
    }
    if (id % 16 === 0) sample();
  }
}

/** Reads the whole log and checks it holds exactly ids 0..end-1 written by {@link writeInOrder}. */
export async function readBackInOrder(log: AofLog, end: number, payloadBytes: number): Promise<void> {
  let id = 0;
  for await (const rec of log.read()) {
    assert.equal(rec.id, id);
    assert.deepEqual(rec.payload, payloadFor(id, payloadBytes));
    id++;
  }
  assert.equal(id, end);
}
