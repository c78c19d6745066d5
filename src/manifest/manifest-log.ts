/**
 * The manifest log: a crash-safe journal of every tier transition, plus the catalog it rebuilds.
 *
 * Files (one directory, usually `<root>/manifest/`):
 * - `<seq>.mlog` chunks (src/format/manifest.ts): records appended in group commits; a new chunk
 *   when the current one would pass `chunkBytes`, and a new chunk after every open, so nothing is
 *   ever appended behind a tail that replay trimmed (the simplest rule that cannot go wrong);
 * - `<seq>.snap` catalog snapshots (src/format/snapshot.ts) with the watermark they cover;
 * - `*.tmp` files only while a chunk or snapshot is being created; removed at open.
 *
 * Commit (group commit): every `append()` made while a write is in flight joins the next batch,
 * so N concurrent callers cost one commit. A batch is: write its records after the committed end,
 * fdatasync, rewrite the chunk header (committed length, record count, running chunk CRC),
 * fdatasync, apply the records to the catalog, resolve every caller of the batch. The first sync
 * makes the records durable before the header names them (see the format file for why that needs
 * two syncs): a crash leaves either the old header, whose bytes past the committed length replay
 * trims, or the new one over durable records. The catalog only ever shows durable transitions.
 *
 * Snapshots: once `snapshotEvery` records have been committed since the last snapshot, the catalog
 * is written whole (temp name, fsync, rename, directory fsync) with the watermark = the committed
 * end, a SNAPSHOT marker is appended, then old files are pruned. Two snapshots are kept, and chunks
 * are pruned only when they are wholly older than the watermark of the OLDER of the two: replay
 * normally starts at the newest, but if that one is unreadable the previous one still has every
 * chunk it needs. Replay therefore reads at most the records since the newest snapshot (fewer than
 * `snapshotEvery` plus one batch), however long the history.
 *
 * Replay (open): every file is read, then replay.ts `replayManifest` (the one rule, shared with
 * aof2-admin) rebuilds the catalog from the newest valid snapshot (a corrupt one is counted and the
 * previous used) and the chunks from its watermark, and lists the problems and repairs. Inside a
 * committed length a record that fails its CRC is corruption: counted, skipped (resynchronising on
 * the next record that checks out), or with `strict` a rejection naming the file and offset of the
 * first problem. Bytes past the committed length are a torn tail: trimmed and reported as journal
 * lag. A damaged chunk header is recovered by scanning self-checking records. A record of a type or
 * version this aof2 does not know rejects open with AOF_ERR_INCOMPATIBLE. Files are repaired
 * (truncated, header rewritten, temp files removed) only after the whole replay succeeded: a
 * rejected open modifies nothing.
 *
 * Not on the append hot path: transitions happen per segment (megabytes of records), so the two
 * syncs per commit are cheap next to what they protect.
 */
import { rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { crc32 } from 'node:zlib';
import { fsyncDir, writeFully } from '../durable-file.js';
import { OpenMode, ensureDirectory, listFiles, openFile, readRegularFile } from '../safe-fs.js';
import type { Registry } from 'prom-client';
import { AofError, ErrorCode } from '../errors.js';
import {
  CHUNK_HEADER_BYTES,
  ManifestRecordType,
  copyManifestRecord,
  encodeChunkHeaderInto,
  encodeManifestRecordInto,
  manifestRecordLength,
  validateManifestRecord,
  type ManifestRecord,
} from '../format/manifest.js';
import { encodeSnapshot } from '../format/snapshot.js';
import { createManifestMetrics, recordReplay, type ManifestMetrics } from '../metrics/manifest-metrics.js';
import { validateStreamName } from '../stream-name.js';
import type { Catalog } from './catalog.js';
import { replayManifest, type ManifestFile } from './replay.js';
import { chunkFileName, isTempName, parseChunkFileName, parseSnapshotFileName, snapshotFileName, tempPath } from '../format/root-layout.js';
import { SPANS, type ManifestCompactionSpanContext } from '../tracing.js';

export interface ManifestLogOptions {
  /** Directory of the chunks and snapshots; created if missing. */
  dir: string;
  /** Rotate to a new chunk before a batch would make the current file larger than this. Default 1 MiB. */
  chunkBytes?: number;
  /** Committed records between automatic snapshots (`Infinity`: only on demand). Default 10,000. */
  snapshotEvery?: number;
  /** prom-client registry to publish the replay metrics on (src/metrics/manifest-metrics.ts). */
  registry?: Registry;
  /** Reject open with AOF_ERR_CORRUPT on any corruption instead of counting and skipping it. */
  strict?: boolean;
}

/** What replay found and did; also published as metrics. */
export interface ReplayReport {
  /** Sequence number of the snapshot replay started from, or null (replayed from the first chunk). */
  snapshotSeq: number | null;
  /** Chunks replayed (those at or after the snapshot's watermark; older ones are checked, not counted here). */
  chunkCount: number;
  /** Records decoded and handed to the catalog after the watermark (SNAPSHOT markers and orphans included). */
  recordsReplayed: number;
  /** Bytes past the committed lengths (torn tails), trimmed. */
  journalLagBytes: number;
  /** Wall-clock seconds spent loading the snapshot, replaying and trimming. */
  chunkLagSeconds: number;
  /**
   * Problems replay.ts found, one per damage: damaged records, chunk CRCs or record counts, chunk
   * headers, snapshots (the older one too), missing chunks. `aof2-admin manifest inspect` lists
   * exactly these.
   */
  corruptionEvents: number;
  /** Records of an unknown type or version. Always 0 in a report: any such record rejects open. */
  unknownRecords: number;
  /** Records about segments the catalog did not hold (counted, not applied). */
  orphanRecords: number;
  /** Chunks repaired: torn tail cut, or damaged header rebuilt from its records. */
  trimmedChunks: number;
  /** Leftover `*.tmp` files (a crash while creating a chunk or snapshot) removed. */
  tempFilesRemoved: number;
}

/** Counters of the live log (cheap fields, read with `stats()`). */
export interface ManifestStats {
  /** `append()` calls that were queued (empty ones excluded). */
  appendCalls: number;
  /** Batches made durable (group commits); fewer than appendCalls under concurrency. */
  commits: number;
  /** fdatasync/fsync calls on chunks, snapshots and the directory. */
  fsyncs: number;
  /** Records made durable by this instance, SNAPSHOT markers included. */
  records: number;
  /** Record bytes written (padding included). */
  bytes: number;
  /** Chunk being appended to (null until the first commit after open or a rotation). */
  chunkSeq: number | null;
  /** Committed bytes of that chunk's record area. */
  committedBytes: number;
  chunksCreated: number;
  snapshots: number;
  prunedChunks: number;
  prunedSnapshots: number;
  /** Records committed since the newest snapshot (replayed ones included): what the next replay would read. */
  recordsSinceSnapshot: number;
}

const DEFAULT_CHUNK_BYTES = 1024 * 1024;
const DEFAULT_SNAPSHOT_EVERY = 10_000;
/** Smallest chunk worth having: a header and a few records. Tests use small chunks to force rotation. */
const MIN_CHUNK_BYTES = 256;
/** committedBytes is a u32; keep a margin so one batch can always be added to a chunk below this. */
const MAX_CHUNK_BYTES = 1024 * 1024 * 1024;
const OPTION_KEYS = ['dir', 'chunkBytes', 'snapshotEvery', 'registry', 'strict'];

interface ResolvedOptions {
  dir: string;
  chunkBytes: number;
  snapshotEvery: number;
  registry: Registry | null;
  strict: boolean;
}

type Job =
  | { kind: 'append'; records: ManifestRecord[]; bytes: Uint8Array; resolve: () => void; reject: (err: unknown) => void }
  | { kind: 'snapshot'; resolve: () => void; reject: (err: unknown) => void };

interface OpenChunk {
  seq: number;
  handle: FileHandle;
  path: string;
  committed: number;
  recordCount: number;
  crc: number;
  createdAt: number;
}

function resolveOptions(input: unknown): ResolvedOptions {
  if (typeof input !== 'object' || input === null) throw AofError.invalidArgument('ManifestLog.open options must be an object');
  for (const key of Object.keys(input)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new AofError(ErrorCode.UNKNOWN_OPTION, `unknown option ${key}; expected one of: ${OPTION_KEYS.join(', ')}`, { details: { option: key } });
    }
  }
  const o = input as Record<string, unknown>;
  if (typeof o['dir'] !== 'string' || o['dir'].length === 0) throw AofError.invalidArgument('dir must be a non-empty string', { option: 'dir' });
  const chunkBytes = o['chunkBytes'] ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || (chunkBytes as number) < MIN_CHUNK_BYTES || (chunkBytes as number) > MAX_CHUNK_BYTES) {
    throw AofError.invalidArgument(`chunkBytes must be an integer in [${MIN_CHUNK_BYTES}, ${MAX_CHUNK_BYTES}], got ${String(chunkBytes)}`, {
      option: 'chunkBytes',
    });
  }
  const snapshotEvery = o['snapshotEvery'] ?? DEFAULT_SNAPSHOT_EVERY;
  if (typeof snapshotEvery !== 'number' || !(snapshotEvery === Infinity || (Number.isInteger(snapshotEvery) && snapshotEvery > 0))) {
    throw AofError.invalidArgument(`snapshotEvery must be a positive integer or Infinity, got ${String(snapshotEvery)}`, { option: 'snapshotEvery' });
  }
  const registry = o['registry'] ?? null;
  if (registry !== null && typeof (registry as { getSingleMetric?: unknown }).getSingleMetric !== 'function') {
    throw AofError.invalidArgument('registry must be a prom-client Registry', { option: 'registry' });
  }
  const strict = o['strict'] ?? false;
  if (typeof strict !== 'boolean') throw AofError.invalidArgument('strict must be a boolean', { option: 'strict' });
  return { dir: o['dir'], chunkBytes: chunkBytes as number, snapshotEvery, registry: registry as Registry | null, strict };
}

/** A name the manifest reads, repairs or removes: a chunk, a snapshot or a temp file. */
function isManifestName(name: string): boolean {
  return isTempName(name) || parseChunkFileName(name) !== null || parseSnapshotFileName(name) !== null;
}

async function io<T>(action: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AofError) throw err;
    throw AofError.io(action, path, err);
  }
}



function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function encodeRecords(records: readonly ManifestRecord[]): Uint8Array {
  let total = 0;
  for (const r of records) total += manifestRecordLength(r);
  const out = new Uint8Array(total);
  let off = 0;
  for (const r of records) off = encodeManifestRecordInto(out, off, r);
  return out;
}

/**
 * The manifest log of one root. Open it with {@link ManifestLog.open}; it owns its directory.
 * Only this class should call `catalog.apply`: the catalog must equal what replay would rebuild.
 */
export class ManifestLog {
  readonly #options: ResolvedOptions;
  readonly #catalog: Catalog;
  readonly #queue: Job[] = [];
  #running = false;
  #drainPromise: Promise<void> = Promise.resolve();
  #closed = false;
  #closePromise: Promise<void> | null = null;
  #failure: AofError | null = null;
  #chunk: OpenChunk | null = null;
  #nextChunkSeq: number;
  #nextSnapshotSeq: number;
  /** The newest snapshot on disk that is known to be valid (kept as the fallback of the next one). */
  #lastSnapshot: { seq: number; watermarkChunk: number } | null;
  /** Chunk and snapshot files on disk, ascending. */
  #chunkSeqs: number[];
  #snapshotSeqs: number[];
  readonly #stats: ManifestStats;
  readonly #headerBuffer = new Uint8Array(CHUNK_HEADER_BYTES);

  private constructor(
    options: ResolvedOptions,
    catalog: Catalog,
    state: {
      nextChunkSeq: number;
      nextSnapshotSeq: number;
      lastSnapshot: { seq: number; watermarkChunk: number } | null;
      chunkSeqs: number[];
      snapshotSeqs: number[];
      recordsSinceSnapshot: number;
    },
  ) {
    this.#options = options;
    this.#catalog = catalog;
    this.#nextChunkSeq = state.nextChunkSeq;
    this.#nextSnapshotSeq = state.nextSnapshotSeq;
    this.#lastSnapshot = state.lastSnapshot;
    this.#chunkSeqs = state.chunkSeqs;
    this.#snapshotSeqs = state.snapshotSeqs;
    this.#stats = {
      appendCalls: 0,
      commits: 0,
      fsyncs: 0,
      records: 0,
      bytes: 0,
      chunkSeq: null,
      committedBytes: 0,
      chunksCreated: 0,
      snapshots: 0,
      prunedChunks: 0,
      prunedSnapshots: 0,
      recordsSinceSnapshot: state.recordsSinceSnapshot,
    };
  }

  /**
   * Opens (creating if needed) the manifest in `options.dir`: removes temp files, loads the newest
   * valid snapshot, replays the chunks after its watermark, trims torn tails, and publishes the
   * replay metrics. Appends go to a fresh chunk.
   * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION (options), AOF_ERR_IO (file system),
   *   AOF_ERR_CORRUPT (only with `strict`: names the file and offset), AOF_ERR_INCOMPATIBLE (a
   *   chunk, snapshot or record written by a newer aof2; nothing is modified)
   */
  static async open(options: ManifestLogOptions): Promise<{ manifest: ManifestLog; catalog: Catalog; report: ReplayReport }> {
    const opts = resolveOptions(options);
    const { dir } = opts;
    const metrics: ManifestMetrics | null = opts.registry === null ? null : createManifestMetrics(opts.registry);
    // A real directory, and real files in it: the manifest is repaired in place (safe-fs.ts).
    await io('mkdir', dir, () => ensureDirectory(dir));
    const started = performance.now();
    const names = await io('readdir', dir, () => listFiles(dir, isManifestName));

    // Read every file first (never through a link: safe-fs.ts), replay in memory (replay.ts, the
    // rule aof2-admin shares), and only then change files: a rejected open modifies nothing.
    const files: { chunks: ManifestFile[]; snapshots: ManifestFile[]; tempFiles: string[] } = { chunks: [], snapshots: [], tempFiles: [] };
    for (const name of names) {
      const path = join(dir, name);
      if (isTempName(name)) {
        files.tempFiles.push(path);
        continue;
      }
      const c = parseChunkFileName(name);
      const s = parseSnapshotFileName(name);
      const seq = c ?? s;
      if (seq === null) continue;
      const bytes = await io('read', path, () => readRegularFile(path));
      (c !== null ? files.chunks : files.snapshots).push({ seq, file: path, bytes });
    }
    const chunkSeqs = files.chunks.map((f) => f.seq).sort((a, b) => a - b);
    const snapshotSeqs = files.snapshots.map((f) => f.seq).sort((a, b) => a - b);

    let corruption = 0;
    try {
      const result = replayManifest(files, { now: Date.now() });
      corruption = result.counts.corruptionEvents;
      const first = result.problems[0];
      if (opts.strict && first !== undefined) {
        throw AofError.corrupt(`manifest file ${first.file} is corrupt at offset ${first.offset}: ${first.message}`, {
          path: first.file,
          offset: first.offset,
          reason: first.message,
          problems: result.problems.length,
        });
      }
      let tempFilesRemoved = 0;
      for (const repair of result.repairs) {
        if (repair.kind === 'remove') {
          await io('unlink', repair.file, () => unlink(repair.file));
          tempFilesRemoved++;
          continue;
        }
        const { file, truncateTo, header } = repair;
        await io('repair', file, async () => {
          const handle = await openFile(file, OpenMode.UPDATE);
          try {
            await handle.truncate(truncateTo);
            if (header !== null) await writeFully(handle, header, 0);
            await handle.datasync();
          } finally {
            await handle.close();
          }
        });
      }

      const report: ReplayReport = {
        ...result.counts,
        unknownRecords: 0,
        chunkLagSeconds: (performance.now() - started) / 1000,
        tempFilesRemoved,
      };
      if (metrics !== null) recordReplay(metrics, report);

      const base = result.base;
      const maxChunk = chunkSeqs.length === 0 ? -1 : chunkSeqs[chunkSeqs.length - 1]!;
      const manifest = new ManifestLog(opts, result.catalog, {
        nextChunkSeq: Math.max(maxChunk + 1, result.startChunk),
        nextSnapshotSeq: (snapshotSeqs.length === 0 ? 0 : snapshotSeqs[snapshotSeqs.length - 1]!) + 1,
        lastSnapshot: base === null ? null : { seq: base.header.snapshotSeq, watermarkChunk: base.header.watermarkChunk },
        chunkSeqs,
        snapshotSeqs,
        recordsSinceSnapshot: report.recordsReplayed,
      });
      return { manifest, catalog: result.catalog, report };
    } catch (err) {
      // A rejected open still publishes what it saw: the corruption counter is what alerts.
      if (metrics !== null && corruption > 0) metrics.corruptionEvents.inc(corruption);
      throw err;
    }
  }

  /** The catalog this log keeps up to date (the same object `open` returned). */
  get catalog(): Catalog {
    return this.#catalog;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A copy of the counters. Works after close. */
  stats(): ManifestStats {
    return { ...this.#stats };
  }

  /**
   * Appends transitions; resolves once they are durable and applied to the catalog. Calls made
   * while a commit is in flight are committed together in the next one (group commit); records
   * keep call order. The records are copied: the caller may reuse its objects. An empty array
   * resolves at once.
   * @throws (rejects) AOF_ERR_CLOSED after close(); AOF_ERR_INVALID_ARGUMENT for a malformed record
   *   or a SNAPSHOT marker (the log writes those itself); AOF_ERR_INVALID_STREAM_NAME; AOF_ERR_IO
   *   when a write or sync failed (then every later call rejects with that error: after a failed
   *   fsync the file's state is unknown, and reopening replays what is durable)
   */
  append(records: readonly ManifestRecord[]): Promise<void> {
    if (this.#closed) return Promise.reject(AofError.closed('manifest log'));
    if (this.#failure !== null) return Promise.reject(this.#failure);
    let copies: ManifestRecord[];
    let bytes: Uint8Array;
    try {
      if (!Array.isArray(records)) throw AofError.invalidArgument('append takes an array of manifest records');
      copies = records.map((r: ManifestRecord) => {
        validateManifestRecord(r);
        if (r.type === ManifestRecordType.SNAPSHOT) throw AofError.invalidArgument('SNAPSHOT records are written by the manifest log itself');
        validateStreamName(r.stream);
        return copyManifestRecord(r);
      });
      bytes = encodeRecords(copies);
    } catch (err) {
      return Promise.reject(err);
    }
    if (copies.length === 0) return Promise.resolve();
    this.#stats.appendCalls++;
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ kind: 'append', records: copies, bytes, resolve, reject });
      this.#kick();
    });
  }

  /**
   * Writes a catalog snapshot now (after every append already queued), appends its SNAPSHOT
   * marker, then prunes (see the file comment).
   * @throws (rejects) AOF_ERR_CLOSED, AOF_ERR_IO
   */
  snapshot(): Promise<void> {
    if (this.#closed) return Promise.reject(AofError.closed('manifest log'));
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ kind: 'snapshot', resolve, reject });
      this.#kick();
    });
  }

  /**
   * Lets queued work finish, then closes the chunk. Idempotent; every later append/snapshot
   * rejects with AOF_ERR_CLOSED. Never rejects: a failed write already rejected its callers.
   */
  close(): Promise<void> {
    if (this.#closePromise === null) {
      this.#closed = true;
      this.#closePromise = (async () => {
        while (this.#running) await this.#drainPromise;
        const chunk = this.#chunk;
        this.#chunk = null;
        await chunk?.handle.close().catch(() => undefined);
      })();
    }
    return this.#closePromise;
  }

  /** Starts the drain loop on the next microtask, so calls made in the same run share a batch. */
  #kick(): void {
    if (this.#running) return;
    this.#running = true;
    this.#drainPromise = (async () => {
      await null;
      await this.#drain();
    })();
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      if (this.#failure !== null) {
        for (const job of this.#queue.splice(0)) job.reject(this.#failure);
        break;
      }
      const first = this.#queue[0]!;
      if (first.kind === 'snapshot') {
        this.#queue.shift();
        try {
          await this.#compact('request');
          first.resolve();
        } catch (err) {
          first.reject(this.#fail(err));
        }
        continue;
      }
      let n = 0;
      while (n < this.#queue.length && this.#queue[n]!.kind === 'append') n++;
      const batch = this.#queue.splice(0, n) as Extract<Job, { kind: 'append' }>[];
      try {
        await this.#commit(
          batch.flatMap((j) => j.records),
          concat(batch.map((j) => j.bytes)),
        );
      } catch (err) {
        const failure = this.#fail(err);
        for (const job of batch) job.reject(failure);
        continue;
      }
      for (const job of batch) job.resolve();
      if (this.#stats.recordsSinceSnapshot >= this.#options.snapshotEvery) {
        try {
          await this.#compact('records');
        } catch (err) {
          this.#fail(err);
        }
      }
    }
    // Cleared in the same synchronous step as the final empty-queue check: a job queued after this
    // line finds #running false and starts a new loop, so none is ever stranded.
    this.#running = false;
  }

  #fail(err: unknown): AofError {
    const failure = err instanceof AofError ? err : AofError.io('manifest write', this.#options.dir, err);
    this.#failure ??= failure;
    return failure;
  }

  /** Writes one batch durably (see the file comment), then applies it to the catalog. */
  async #commit(records: readonly ManifestRecord[], bytes: Uint8Array): Promise<void> {
    let chunk = this.#chunk;
    if (chunk !== null && chunk.committed > 0 && CHUNK_HEADER_BYTES + chunk.committed + bytes.length > this.#options.chunkBytes) {
      this.#chunk = null;
      await chunk.handle.close().catch(() => undefined);
      chunk = null;
    }
    const current = chunk ?? (await this.#createChunk());
    const { handle, path } = current;
    await io('write', path, () => writeFully(handle, bytes, CHUNK_HEADER_BYTES + current.committed));
    await io('fdatasync', path, () => handle.datasync());
    this.#stats.fsyncs++;
    const committed = current.committed + bytes.length;
    const recordCount = current.recordCount + records.length;
    const crc = crc32(bytes, current.crc);
    encodeChunkHeaderInto(this.#headerBuffer, 0, { committedBytes: committed, chunkSeq: current.seq, recordCount, chunkCrc: crc, createdAt: current.createdAt });
    await io('write', path, () => writeFully(handle, this.#headerBuffer, 0));
    await io('fdatasync', path, () => handle.datasync());
    this.#stats.fsyncs++;
    current.committed = committed;
    current.recordCount = recordCount;
    current.crc = crc;
    this.#stats.commits++;
    this.#stats.records += records.length;
    this.#stats.bytes += bytes.length;
    this.#stats.committedBytes = committed;
    for (const record of records) {
      this.#catalog.apply(record);
      if (record.type !== ManifestRecordType.SNAPSHOT) this.#stats.recordsSinceSnapshot++;
    }
  }

  /** Creates the next chunk: header written and synced under a temp name, renamed, directory synced. */
  async #createChunk(): Promise<OpenChunk> {
    const seq = this.#nextChunkSeq;
    const path = join(this.#options.dir, chunkFileName(seq));
    const temp = tempPath(path);
    const createdAt = Date.now();
    const header = new Uint8Array(CHUNK_HEADER_BYTES);
    encodeChunkHeaderInto(header, 0, { committedBytes: 0, chunkSeq: seq, recordCount: 0, chunkCrc: 0, createdAt });
    const handle = await io('create', temp, () => openFile(temp, OpenMode.REPLACE_READ));
    try {
      await io('write', temp, () => writeFully(handle, header, 0));
      await io('fdatasync', temp, () => handle.datasync());
      await io('rename', temp, () => rename(temp, path));
      await io('fsync', this.#options.dir, () => fsyncDir(this.#options.dir));
      this.#stats.fsyncs += 2;
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    this.#nextChunkSeq = seq + 1;
    this.#chunkSeqs.push(seq);
    this.#stats.chunksCreated++;
    this.#stats.chunkSeq = seq;
    this.#stats.committedBytes = 0;
    const chunk: OpenChunk = { seq, handle, path, committed: 0, recordCount: 0, crc: 0, createdAt };
    this.#chunk = chunk;
    return chunk;
  }

  /** A compaction (snapshot, marker, pruning), inside its `aof2:manifest.compaction` span when anyone subscribes. */
  #compact(trigger: ManifestCompactionSpanContext['trigger']): Promise<void> {
    if (!SPANS.manifestCompaction.active) return this.#writeSnapshot(null);
    const span: ManifestCompactionSpanContext = { trigger, snapshotSeq: -1, segments: 0, bytes: 0, prunedChunks: 0, prunedSnapshots: 0 };
    return SPANS.manifestCompaction.run(span, () => this.#writeSnapshot(span)).then(
      () => SPANS.manifestCompaction.end(span),
      (err: unknown) => {
        SPANS.manifestCompaction.fail(span, err);
        throw err;
      },
    );
  }

  /** Snapshot + SNAPSHOT marker + pruning; runs inside the drain loop, so no batch interleaves. */
  async #writeSnapshot(span: ManifestCompactionSpanContext | null): Promise<void> {
    const dir = this.#options.dir;
    const watermark =
      this.#chunk === null ? { watermarkChunk: this.#nextChunkSeq, watermarkOffset: 0 } : { watermarkChunk: this.#chunk.seq, watermarkOffset: this.#chunk.committed };
    const seq = this.#nextSnapshotSeq++;
    const streams = this.#catalog.toSnapshotStreams();
    const bytes = encodeSnapshot(streams, { ...watermark, snapshotSeq: seq, createdAt: Date.now() });
    if (span !== null) {
      span.snapshotSeq = seq;
      span.bytes = bytes.length;
      for (const entries of streams.values()) span.segments += entries.length;
    }
    const path = join(dir, snapshotFileName(seq));
    const temp = tempPath(path);
    await io('write snapshot', temp, async () => {
      const handle = await openFile(temp, OpenMode.REPLACE);
      try {
        await writeFully(handle, bytes, 0);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    });
    await io('rename', temp, () => rename(temp, path));
    await io('fsync', dir, () => fsyncDir(dir));
    this.#stats.fsyncs += 2;
    this.#stats.snapshots++;
    this.#stats.recordsSinceSnapshot = 0;
    this.#snapshotSeqs.push(seq);
    const previous = this.#lastSnapshot;
    this.#lastSnapshot = { seq, watermarkChunk: watermark.watermarkChunk };

    const marker: ManifestRecord = { type: ManifestRecordType.SNAPSHOT, stream: '', baseId: 0, fields: { snapshotSeq: seq } };
    await this.#commit([marker], encodeRecords([marker]));

    // Keep this snapshot and the previous valid one; chunks only once the older of the two no longer needs them.
    const keep = new Set([seq, ...(previous === null ? [] : [previous.seq])]);
    for (const old of this.#snapshotSeqs.filter((s) => !keep.has(s))) {
      await io('unlink', join(dir, snapshotFileName(old)), () => unlink(join(dir, snapshotFileName(old))));
      this.#stats.prunedSnapshots++;
      if (span !== null) span.prunedSnapshots++;
    }
    this.#snapshotSeqs = this.#snapshotSeqs.filter((s) => keep.has(s));
    if (previous !== null) {
      const bound = previous.watermarkChunk;
      for (const old of this.#chunkSeqs.filter((c) => c < bound && c !== this.#chunk?.seq)) {
        await io('unlink', join(dir, chunkFileName(old)), () => unlink(join(dir, chunkFileName(old))));
        this.#stats.prunedChunks++;
        if (span !== null) span.prunedChunks++;
      }
      this.#chunkSeqs = this.#chunkSeqs.filter((c) => c >= bound || c === this.#chunk?.seq);
    }
  }
}
