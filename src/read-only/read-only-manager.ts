/**
 * A read-only manager (`AofManager.open({ root, readOnly: true })`): reads a root another process
 * writes, beside that writer, and never writes to it: no lock entry, no recovery, no repair, no
 * manifest append, no directory created, no flush worker, compression, upload or retention.
 * Several may have the same root open at once.
 *
 * What runs: an arena of its own (a SharedArrayBuffer in this process: loaded chunks and frames
 * only, no write windows), a coordinator, and the read path with its hydrate pool (threads on
 * demand, ended after a second idle), the same as the writer's readers use; `fs.watch` on the
 * manifest directory and on each opened stream's directory; one unref'd interval timer.
 *
 * What it shows (docs/read-path.md, "Read-only opens from another process"): per stream, the
 * segments the writer's manifest records, in the tier it records (src/read-only/recorded-view.ts),
 * then the raw files past them as far as their frames are whole and CRC-valid
 * (src/read-only/stream-tail.ts). Every read goes through the read path, which CRC-checks every
 * frame it loads; the frames a refresh checked are handed to readers at the tail through it too,
 * as a read range (src/read/tail-publish.ts), without a second read. It follows the writer by
 * **refreshing**: a refresh replays the manifest when its directory changed and scans the tail of
 * each stream that changed, then hands each stream's new state to its log (`ReadOnlyLog.update`,
 * the one place the view changes). Refreshes run one at a time; whatever asks for one while one
 * runs (a watch event, the interval, `refresh()`, a reader that found a file gone) shares the
 * next, which starts after the request and so sees every change made before it.
 */
import { constants } from 'node:fs';
import { access, readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { Arena } from '../arena/arena.js';
import { resolveStreamOptions, type ResolvedConfig, type StreamOptions } from '../config.js';
import { Coordinator } from '../coordinator/coordinator.js';
import type { ShareHandle } from '../share/share-host.js';
import { AofError, ErrorCode } from '../errors.js';
import { EngineEvents } from '../events.js';
import { MANIFEST_DIR, STREAMS_DIR, streamDir } from '../format/root-layout.js';
import { logFacade, type AofLog } from '../log.js';
import { checkRegistryFree, type ManagerStats, type ReadOnlyStats } from '../manager.js';
import { EngineCounters } from '../metrics/engine-counters.js';
import { registerEngineMetrics } from '../metrics/engine-metrics.js';
import { ReadPath } from '../read/read-path.js';
import { isRealDirectory } from '../safe-fs.js';
import { isValidStreamName, validateStreamName } from '../stream-name.js';
import { tier1Source } from '../tier1/local-source.js';
import { openObjectStore } from '../tier2/object-store.js';
import { DirectoryWatch, type DirectoryChange } from './directory-watch.js';
import { ManifestView } from './manifest-view.js';
import { NonWriterStats } from './non-writer-stats.js';
import { ReadOnlyLog } from './read-only-log.js';
import { recordedStream, type RecordedStream } from './recorded-view.js';
import { RemoteReads } from './remote-reads.js';
import { StreamTail, newScanScratch } from './stream-tail.js';
import { syncTailReads } from './tail-reads.js';
import { PresenceLine } from '../follower-presence.js';

/** How much a stream's tail needs looking at in the next refresh. */
const Look = {
  /** Nothing changed in its directory. */
  NONE: 0,
  /** A file was written: scan the files already followed. */
  GROWTH: 1,
  /** A file was created or removed, or the interval: list the directory again too. */
  LISTING: 2,
} as const;
type LookValue = (typeof Look)[keyof typeof Look];

/** One opened stream: its log, its tail files, its watch. */
interface Followed {
  readonly log: ReadOnlyLog;
  readonly tail: StreamTail;
  readonly watch: DirectoryWatch | null;
  look: LookValue;
  /** Where the recorded segments ended at the last refresh (the tail's scan starts there); -1 before the first. */
  recordedEnd: number;
  /** The stream as the catalog recorded it at the last manifest change (null before the first look). */
  recorded: RecordedStream | null;
  /** A failure of its first refresh, which openStream reports (null: none). */
  openError: AofError | null;
}

/** An AOF_ERR_IO for a path that is not there, as the fs would report it (`details.errno` 'ENOENT'). */
function notThere(action: string, path: string, what: string): AofError {
  const cause: NodeJS.ErrnoException = Object.assign(new Error(`ENOENT: no such file or directory, ${what} '${path}'`), { code: 'ENOENT', path });
  return AofError.io(action, path, cause);
}

export class ReadOnlyManager {
  readonly #config: ResolvedConfig;
  readonly #registry: Registry;
  readonly #metricNames: string[];
  readonly #arena: Arena;
  readonly #coordinator: Coordinator;
  readonly #counters: EngineCounters;
  readonly #read: ReadPath;
  readonly #manifest: ManifestView;
  readonly #manifestWatch: DirectoryWatch;
  readonly #snapshots: NonWriterStats;
  readonly #streams = new Map<string, Promise<AofLog>>();
  readonly #followed = new Map<string, Followed>();
  /**
   * Tells the writer a reader here follows the tail, so it writes each append at once
   * (src/follower-presence.ts): connected at the first wait at a tail, again after a writer restart.
   */
  readonly #presence: PresenceLine;
  /** Tail scans read synchronously (src/read-only/tail-reads.ts). */
  readonly #syncReads: boolean;
  /** The first read of every tail scan lands here: refreshes run one at a time, streams in turn. */
  readonly #scanScratch: Uint8Array;
  readonly #timer: NodeJS.Timeout;
  /** Tier 2, read only (with the writer's `tier2` option), or null. */
  readonly #remote: RemoteReads | null;
  readonly #stats: Pick<ReadOnlyStats, 'refreshes' | 'lastError'> = { refreshes: 0, lastError: null };
  /** Read path failures (`stats().tier1.lastError`). */
  #readError: string | null = null;
  #manifestDirty = false;
  /** The refresh running, and the one queued behind it (shared by every request made meanwhile). */
  #running: Promise<void> | null = null;
  #queued: Promise<void> | null = null;
  #closing: Promise<void> | null = null;

  private constructor(config: ResolvedConfig, manifest: ManifestView, remote: RemoteReads | null, syncReads: boolean) {
    this.#config = config;
    this.#syncReads = syncReads;
    this.#manifest = manifest;
    this.#remote = remote;
    this.#scanScratch = newScanScratch(config.segmentBytes);
    this.#registry = config.metrics.registry ?? new Registry();
    checkRegistryFree(this.#registry);
    // Loads only: no write windows, so no reader reserve to keep from them.
    this.#arena = new Arena(config.slotCount, config.segmentBytes, 0);
    this.#coordinator = new Coordinator(this.#arena.ctrl);
    this.#counters = new EngineCounters(config.metrics.admissionSampleEvery);
    this.#read = new ReadPath({
      arena: this.#arena,
      coordinator: this.#coordinator,
      config,
      events: new EngineEvents(config.logger),
      counters: this.#counters,
      local: tier1Source,
      // Without the writer's tier2 option, reads of segments only Tier 2 holds fail with
      // AOF_ERR_UNAVAILABLE (docs/read-path.md).
      remote,
      // No write window to park: loads take CLEAN runs the arena evicts by itself.
      relievePressure: () => undefined,
      noteError: (message) => {
        this.#readError = message;
      },
      // The writer moved a segment on after this process last looked: look again first, at the
      // manifest above all (the move is recorded there before the file goes), watch event or not.
      sourceGone: () => this.#lookAgain(),
    });
    this.#snapshots = new NonWriterStats({ config, arena: this.#arena, read: this.#read, counters: this.#counters });
    this.#metricNames = registerEngineMetrics(this.#registry, () => this.stats());
    this.#manifestWatch = new DirectoryWatch(join(config.root, MANIFEST_DIR), () => {
      this.#manifestDirty = true;
      void this.#request();
    });
    this.#presence = new PresenceLine(config.root, config.readOnly!.refreshMs);
    this.#timer = setInterval(() => {
      this.#presence.keepUp(); // a writer restarted since: the new one counts this manager too
      void this.#lookAgain();
    }, config.readOnly!.refreshMs);
    this.#timer.unref();
  }

  /**
   * Opens `config.root` read-only: it must exist and hold the writer's `manifest/` and `streams/`
   * directories (any manager that ever opened the root created them). Creates nothing.
   * @throws AOF_ERR_IO (`details.errno` 'ENOENT': no such root, or not an aof2 root),
   *   AOF_ERR_UNSAFE_PATH, AOF_ERR_INCOMPATIBLE, AOF_ERR_INVALID_ARGUMENT (a registry in use)
   */
  static async open(requested: ResolvedConfig): Promise<ReadOnlyManager> {
    let root: string;
    try {
      root = await realpath(requested.root);
    } catch (err) {
      throw AofError.io('open root read-only', requested.root, err);
    }
    const config: ResolvedConfig = { ...requested, root };
    for (const dir of [MANIFEST_DIR, STREAMS_DIR]) {
      const path = join(root, dir);
      if (!(await isRealDirectory(path).catch((err: unknown) => Promise.reject(err instanceof AofError ? err : AofError.io('open root read-only', path, err))))) {
        throw notThere('open root read-only (not an aof2 root: open it once with a writer first)', path, 'lstat');
      }
    }
    // Readable at all (a root of another user, say): said now rather than at the first refresh.
    await access(join(root, MANIFEST_DIR), constants.R_OK | constants.X_OK).catch((err: unknown) => {
      throw AofError.io('open root read-only', join(root, MANIFEST_DIR), err);
    });
    const manifest = new ManifestView(join(root, MANIFEST_DIR));
    await manifest.refresh();
    const syncReads = await syncTailReads(root, config.readOnly!.syncTailReads);
    const store = config.tier2.kind === 'none' ? null : await openObjectStore(config.tier2);
    try {
      return new ReadOnlyManager(config, manifest, store === null || config.tier2.kind === 'none' ? null : new RemoteReads(store, config.tier2), syncReads);
    } catch (err) {
      await store?.close().catch(() => undefined);
      throw err;
    }
  }

  /** The options as resolved; `root` is the real path of the root. */
  get config(): ResolvedConfig {
    return this.#config;
  }

  /** prom-client registry holding this manager's metrics. */
  get registry(): Registry {
    return this.#registry;
  }

  /**
   * Opens a stream the writer has (its directory, or segments the manifest records), as far as
   * the files hold it; creates nothing. The same name twice gives the same log.
   * @throws AOF_ERR_INVALID_STREAM_NAME, AOF_ERR_CLOSED, AOF_ERR_IO (no such stream: `details.errno`
   *   'ENOENT'), AOF_ERR_INVALID_ARGUMENT (segments larger than `tier0.segmentBytes`),
   *   AOF_ERR_UNSAFE_PATH, AOF_ERR_INCOMPATIBLE
   */
  openStream(name: string, options?: StreamOptions): Promise<AofLog> {
    try {
      this.#checkOpen();
      validateStreamName(name);
      resolveStreamOptions(options, this.#config.retention);
    } catch (err) {
      return Promise.reject(err);
    }
    let log = this.#streams.get(name);
    if (log === undefined) {
      log = this.#openStream(name);
      this.#streams.set(name, log);
      log.catch(() => this.#streams.delete(name));
    }
    return log;
  }

  async #openStream(name: string): Promise<AofLog> {
    const dir = streamDir(this.#config.root, name);
    const hasDir = await isRealDirectory(dir).catch((err: unknown) => Promise.reject(err instanceof AofError ? err : AofError.io('open stream', dir, err)));
    if (!hasDir && this.#manifest.replayed.catalog.entries(name).length === 0) {
      throw notThere(`open stream ${name} read-only (the writer has not created it; a read-only manager creates nothing)`, dir, 'lstat');
    }
    this.#checkOpen();
    const log = new ReadOnlyLog(name, dir, {
      root: this.#config.root,
      arena: this.#arena,
      read: this.#read,
      coordinator: this.#coordinator,
      counters: this.#counters,
      publishTail: this.#config.readOnly!.publishTail,
      tailWaitStarted: () => this.#presence.announce(),
    });
    const followed: Followed = {
      log,
      tail: new StreamTail(dir, this.#config.segmentBytes, this.#scanScratch, this.#syncReads),
      watch: hasDir ? new DirectoryWatch(dir, (change) => this.#streamChanged(followed, change)) : null,
      look: Look.LISTING,
      recordedEnd: -1,
      recorded: null,
      openError: null,
    };
    this.#followed.set(name, followed);
    // Its first look runs inside a refresh, like every later one: one scan of a tail at a time.
    await this.#request();
    if (followed.openError !== null) {
      this.#followed.delete(name);
      followed.watch?.close();
      await followed.tail.close();
      log.close();
      throw followed.openError;
    }
    return logFacade(log);
  }

  /**
   * Streams under the root's `streams/` or recorded in the manifest, sorted (as the writer's).
   * @throws AOF_ERR_CLOSED
   */
  async listStreams(): Promise<string[]> {
    this.#checkOpen();
    const entries = await readdir(join(this.#config.root, STREAMS_DIR), { withFileTypes: true });
    const names = new Set(entries.filter((e) => e.isDirectory() && isValidStreamName(e.name)).map((e) => e.name));
    for (const name of this.#manifest.replayed.catalog.streams()) names.add(name);
    return [...names].sort();
  }

  /**
   * Brings the view up to date with the files now (see the module comment): resolves once a
   * refresh that started after the call is done.
   * @throws (rejects) AOF_ERR_CLOSED
   */
  refresh(): Promise<void> {
    try {
      this.#checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#lookAgain();
  }

  /** @throws (rejects) AOF_ERR_READ_ONLY (the writer applies retention) */
  enforceRetention(): Promise<void> {
    return Promise.reject(this.#closing !== null ? AofError.closed('manager') : AofError.readOnly('enforceRetention', this.#config.root));
  }

  /** @throws (rejects) AOF_ERR_READ_ONLY (only the writer compresses and uploads) */
  settle(): Promise<void> {
    return Promise.reject(this.#closing !== null ? AofError.closed('manager') : AofError.readOnly('settle', this.#config.root));
  }

  /** @throws AOF_ERR_READ_ONLY (durability is the writer's) */
  flushSync(_options?: { timeoutMs?: number }): void {
    throw AofError.readOnly('flushSync', this.#config.root);
  }

  /** Stops following: closes readers, watches, files, the hydrate pool. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#timer);
    this.#presence.close();
    this.#manifestWatch.close();
    await Promise.allSettled([...this.#streams.values()]);
    // A refresh under way finishes first (it may hold a tail file); none starts after #closing.
    await this.#running?.catch(() => undefined);
    await this.#queued?.catch(() => undefined);
    for (const followed of this.#followed.values()) {
      followed.watch?.close();
      followed.log.close();
      await followed.tail.close();
    }
    await this.#read.close();
    await this.#remote?.store.close();
    this.#coordinator.close();
    for (const name of this.#metricNames) this.#registry.removeSingleMetric(name);
  }

  /** @throws AOF_ERR_READ_ONLY: only the writer's manager shares its arena (open one of these in the worker instead) */
  shareHandle(): ShareHandle {
    throw AofError.readOnly('shareHandle', this.#config.root, 'readOnly');
  }

  /** A snapshot of what this manager does (see ManagerStats: zeros for what only a writer does). */
  stats(): ManagerStats {
    const followed = [...this.#followed.values()];
    const watches = [this.#manifestWatch, ...followed.flatMap((f) => (f.watch === null ? [] : [f.watch]))];
    return this.#snapshots.snapshot({
      logs: followed.map((f) => f.log),
      manifest: this.#manifest.replayed.report,
      readError: this.#readError ?? this.#remote?.lastError ?? null,
      readOnly: {
        refreshMs: this.#config.readOnly!.refreshMs,
        refreshes: this.#stats.refreshes,
        manifestReplays: this.#manifest.replayed.replays,
        tailBytesScanned: followed.reduce((sum, f) => sum + f.tail.scannedBytes, 0),
        tailBytesPublished: followed.reduce((sum, f) => sum + f.log.publishedBytes, 0),
        syncTailReads: this.#syncReads,
        announced: this.#presence.connected,
        watchedDirectories: watches.filter((w) => w.active).length,
        watchFailures: watches.filter((w) => w.failed).length,
        lastError: this.#stats.lastError,
      },
      follower: null,
    });
  }

  /** A refresh that looks at everything again: the manifest and every stream's directory. */
  #lookAgain(): Promise<void> {
    this.#manifestDirty = true;
    for (const followed of this.#followed.values()) followed.look = Look.LISTING;
    return this.#request();
  }

  #streamChanged(followed: Followed, change: DirectoryChange): void {
    const look = change === 'rename' ? Look.LISTING : Look.GROWTH;
    if (look > followed.look) followed.look = look;
    void this.#request();
  }

  /**
   * A refresh that starts after this call (see the module comment); every request made while one
   * runs shares the next. Never rejects: failures go to `lastError`.
   */
  #request(): Promise<void> {
    if (this.#closing !== null) return this.#running ?? Promise.resolve();
    if (this.#queued !== null) return this.#queued;
    const start = (): Promise<void> => {
      this.#queued = null;
      const run: Promise<void> = this.#refreshOnce().finally(() => {
        if (this.#running === run) this.#running = null;
      });
      this.#running = run;
      return run;
    };
    if (this.#running === null) return start();
    this.#queued = this.#running.then(start, start);
    return this.#queued;
  }

  async #refreshOnce(): Promise<void> {
    this.#stats.refreshes++;
    let manifestChanged = false;
    if (this.#manifestDirty) {
      this.#manifestDirty = false;
      try {
        manifestChanged = await this.#manifest.refresh();
      } catch (err) {
        this.#noteError(err);
      }
    }
    const catalog = this.#manifest.replayed.catalog;
    for (const followed of this.#followed.values()) {
      if (followed.look === Look.NONE && !manifestChanged) continue;
      const recorded = manifestChanged || followed.recorded === null ? recordedStream(catalog.entries(followed.log.name)) : followed.recorded;
      followed.recorded = recorded;
      const relist = followed.look === Look.LISTING || recorded.endId !== followed.recordedEnd;
      followed.look = Look.NONE;
      try {
        for (const seg of recorded.segments) checkFits(followed.log.name, seg.baseId, seg.dataBytes, this.#config.segmentBytes);
        const settled = await followed.tail.settle(recorded.endId);
        const tail = await followed.tail.scan(recorded.endId, relist);
        followed.recordedEnd = recorded.endId;
        const problems = followed.log.update({ recorded, tail, settled });
        if (problems.length > 0) this.#stats.lastError = problems[problems.length - 1]!;
      } catch (err) {
        const error = err instanceof AofError ? err : AofError.io('follow stream', followed.log.name, err);
        if (followed.recordedEnd < 0) followed.openError = error;
        this.#noteError(error);
        // Looked at again by the next interval.
        followed.look = Look.LISTING;
      }
    }
  }

  #noteError(err: unknown): void {
    this.#stats.lastError = err instanceof AofError ? `${err.code}: ${err.message}` : String(err);
  }

  #checkOpen(): void {
    if (this.#closing !== null) throw AofError.closed('manager');
  }
}

/**
 * A recorded segment larger than this manager's segments: its records could not fit a run of the
 * arena (the read would wait forever), so it is refused, as the writer's recovery refuses it.
 * @throws AOF_ERR_INVALID_ARGUMENT
 */
function checkFits(stream: string, baseId: number, dataBytes: number, segmentBytes: number): void {
  if (dataBytes <= segmentBytes) return;
  throw new AofError(
    ErrorCode.INVALID_ARGUMENT,
    `segment ${baseId} of stream ${stream} holds ${dataBytes} bytes of records but tier0.segmentBytes is ${segmentBytes}; open the read-only manager with the writer's tier0 options`,
    { details: { stream, baseId, dataBytes, segmentBytes } },
  );
}
