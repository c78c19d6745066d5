/**
 * A follower (`AofManager.open({ root: cacheDir, tier2, follower: true })`): a read-only replica,
 * usually on another machine, whose only source is the writer's Tier 2 bucket. It never writes to
 * the bucket (no put, no delete: only LIST and GET), and writes to its own `root` nothing but its
 * lock (docs/read-path.md, "Followers from the bucket"; docs/decisions.md).
 *
 * What it shows: per stream, the segments the writer's replicated manifest records as uploaded,
 * contiguous from the retention floor, each read from Tier 2 (src/read-only/recorded-view.ts
 * `uploadedView`). Reads go through the same read path as the writer's readers: the frame index
 * the manifest recorded with the upload (no request), frames by ranged GET in the hydrate pool,
 * every frame CRC-checked. Its logs are `ReadOnlyLog`s, so readers, `read()`, read streams and
 * `follow` work as on a read-only manager, and `update` is the one place the view changes.
 *
 * How it follows: a **poll** every `follower.pollMs` lists `manifest/` (src/read-only/
 * manifest-objects.ts); when the listing changed it fetches the objects whose ETag changed, replays
 * the manifest, and hands each opened stream its new view. Polls run one at a time; a request made
 * while one runs (the timer, `refresh()`, a reader that found an object gone) shares the next, which
 * starts after the request. The poll timer keeps the process alive only while someone waits at a
 * tail (`follow`, `reader.next({ wait })`): records come from another machine, so such a wait is
 * pending I/O, like a socket read; otherwise it is unref'd like every aof2 timer.
 *
 * The writer's restarts change nothing here (its manifest continues), and neither does a rebuild
 * on a new machine: the rebuild keeps every segment the mirrored manifest recorded as uploaded,
 * which is all a follower can have shown, and continues after them. Retention is recorded
 * (DELETED) and mirrored before the writer deletes objects: the next poll expires those segments
 * and readers below the new first id get AOF_ERR_OUT_OF_RANGE; a reader inside a segment whose
 * object was deleted before that poll gets AOF_ERR_UNAVAILABLE (the store has no such object),
 * then AOF_ERR_OUT_OF_RANGE once a poll has seen the DELETED record.
 */
import { realpath } from 'node:fs/promises';
import { Registry } from 'prom-client';
import { Arena } from '../arena/arena.js';
import { resolveStreamOptions, type ResolvedConfig, type StreamOptions } from '../config.js';
import { Coordinator } from '../coordinator/coordinator.js';
import type { ShareHandle } from '../share/share-host.js';
import { AofError, ErrorCode } from '../errors.js';
import { EngineEvents } from '../events.js';
import { streamDir, streamPrefix } from '../format/root-layout.js';
import { logFacade, type AofLog } from '../log.js';
import { makeDirectory } from '../make-directory.js';
import { checkRegistryFree, type FollowerLag, type FollowerStats, type ManagerStats } from '../manager.js';
import { EngineCounters } from '../metrics/engine-counters.js';
import { registerEngineMetrics } from '../metrics/engine-metrics.js';
import { registerFollowerMetrics } from '../metrics/follower-metrics.js';
import { ReadPath } from '../read/read-path.js';
import { RootLock } from '../root-lock.js';
import { validateStreamName } from '../stream-name.js';
import { tier1Source } from '../tier1/local-source.js';
import { openObjectStore, type ObjectStore, type Tier2StoreConfig } from '../tier2/object-store.js';
import { ManifestObjects } from './manifest-objects.js';
import { NonWriterStats } from './non-writer-stats.js';
import { ReadOnlyLog } from './read-only-log.js';
import { recordedStream, uploadedView } from './recorded-view.js';
import { RemoteReads } from './remote-reads.js';

/** One opened stream and what the last poll knew of it. */
interface Followed {
  readonly log: ReadOnlyLog;
  /** Records the manifest records past what the bucket holds (FollowerLag.recordsNotUploaded). */
  recordsNotUploaded: number;
}

export class FollowerManager {
  readonly #config: ResolvedConfig;
  readonly #lock: RootLock;
  readonly #registry: Registry;
  readonly #metricNames: string[];
  readonly #arena: Arena;
  readonly #coordinator: Coordinator;
  readonly #counters: EngineCounters;
  readonly #read: ReadPath;
  readonly #remote: RemoteReads;
  readonly #manifest: ManifestObjects;
  readonly #snapshots: NonWriterStats;
  readonly #streams = new Map<string, Promise<AofLog>>();
  readonly #followed = new Map<string, Followed>();
  readonly #timer: NodeJS.Timeout;
  readonly #stats: Pick<FollowerStats, 'polls' | 'lastChangeAt' | 'lastPollAt' | 'lastError'> = { polls: 0, lastChangeAt: null, lastPollAt: null, lastError: null };
  #readError: string | null = null;
  /** The poll running, and the one queued behind it (shared by every request made meanwhile). */
  #running: Promise<void> | null = null;
  #queued: Promise<void> | null = null;
  #closing: Promise<void> | null = null;

  private constructor(config: ResolvedConfig, lock: RootLock, store: ObjectStore, manifest: ManifestObjects) {
    this.#config = config;
    this.#lock = lock;
    this.#manifest = manifest;
    this.#remote = new RemoteReads(store, config.tier2 as Tier2StoreConfig);
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
      // Never asked: every segment a follower shows is TIER2.
      local: tier1Source,
      remote: this.#remote,
      relievePressure: () => undefined,
      noteError: (message) => {
        this.#readError = message;
      },
      // No local files: an object gone under a reader fails with the store's AOF_ERR_UNAVAILABLE,
      // and the next poll records the expiry.
    });
    this.#snapshots = new NonWriterStats({ config, arena: this.#arena, read: this.#read, counters: this.#counters });
    this.#metricNames = [
      ...registerEngineMetrics(this.#registry, () => this.stats()),
      ...registerFollowerMetrics(this.#registry, () => this.stats().follower!),
    ];
    this.#timer = setInterval(() => void this.#request(), config.follower!.pollMs);
    this.#timer.unref();
  }

  /** Refs the poll timer while a log has a wait at its tail, unrefs it otherwise (module comment). */
  #keepAlive(): void {
    if (this.#closing !== null) return;
    const waiting = [...this.#followed.values()].some((f) => f.log.waitingAtTail);
    if (waiting) this.#timer.ref();
    else this.#timer.unref();
  }

  /**
   * Opens a follower on `config.root` (its own directory: created if needed, then locked) reading
   * the bucket `config.tier2` names; the first poll runs before it returns.
   * @throws AOF_ERR_LOCKED (another manager holds the directory), AOF_ERR_IO, AOF_ERR_UNAVAILABLE
   *   (the bucket does not answer), AOF_ERR_INCOMPATIBLE (a manifest written by a newer aof2),
   *   AOF_ERR_INVALID_ARGUMENT (a registry in use)
   */
  static async open(requested: ResolvedConfig): Promise<FollowerManager> {
    let root: string;
    try {
      await makeDirectory(requested.root);
      root = await realpath(requested.root);
    } catch (err) {
      throw AofError.io('open follower directory', requested.root, err);
    }
    const config: ResolvedConfig = { ...requested, root };
    const lock = RootLock.acquire(root);
    let store: ObjectStore | null = null;
    try {
      store = await openObjectStore(config.tier2 as Tier2StoreConfig);
      const manifest = new ManifestObjects(store);
      await manifest.refresh();
      const manager = new FollowerManager(config, lock, store, manifest);
      manager.#stats.polls++;
      manager.#stats.lastPollAt = Date.now();
      manager.#stats.lastChangeAt = manifest.replayed.replays > 0 ? manager.#stats.lastPollAt : null;
      return manager;
    } catch (err) {
      await store?.close().catch(() => undefined);
      lock.release();
      throw err;
    }
  }

  /** The options as resolved; `root` is the real path of the follower's directory. */
  get config(): ResolvedConfig {
    return this.#config;
  }

  /** prom-client registry holding this manager's metrics. */
  get registry(): Registry {
    return this.#registry;
  }

  /**
   * Opens a stream the writer's replicated manifest records; the same name twice gives the same log.
   * @throws AOF_ERR_INVALID_STREAM_NAME, AOF_ERR_CLOSED, AOF_ERR_IO (`details.errno` 'ENOENT': the
   *   manifest objects record no segment of it yet), AOF_ERR_INVALID_ARGUMENT
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
    if (this.#manifest.replayed.catalog.entries(name).length === 0) {
      const key = `${this.#remote.store.location}/${streamPrefix(name)}`;
      const cause: NodeJS.ErrnoException = Object.assign(new Error(`ENOENT: the replicated manifest records no segment of stream ${name}`), { code: 'ENOENT', path: key });
      throw AofError.io(`open stream ${name} as a follower (the writer has uploaded nothing of it yet, or it does not exist)`, key, cause);
    }
    const log = new ReadOnlyLog(name, streamDir(this.#config.root, name), {
      root: this.#config.root,
      arena: this.#arena,
      read: this.#read,
      coordinator: this.#coordinator,
      counters: this.#counters,
      openedWith: 'follower',
      tailWaitStarted: () => this.#timer.ref(),
    });
    const followed: Followed = { log, recordsNotUploaded: 0 };
    this.#followed.set(name, followed);
    this.#show(followed);
    return logFacade(log);
  }

  /**
   * Streams the replicated manifest records, sorted.
   * @throws AOF_ERR_CLOSED
   */
  listStreams(): Promise<string[]> {
    try {
      this.#checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.resolve([...this.#manifest.replayed.catalog.streams()].sort());
  }

  /**
   * Polls the bucket now: resolves once a poll that started after the call is done.
   * @throws (rejects) AOF_ERR_CLOSED
   */
  refresh(): Promise<void> {
    try {
      this.#checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#request();
  }

  /** @throws (rejects) AOF_ERR_READ_ONLY (the writer applies retention) */
  enforceRetention(): Promise<void> {
    return Promise.reject(this.#closing !== null ? AofError.closed('manager') : AofError.readOnly('enforceRetention', this.#config.root, 'follower'));
  }

  /** @throws (rejects) AOF_ERR_READ_ONLY (only the writer compresses and uploads) */
  settle(): Promise<void> {
    return Promise.reject(this.#closing !== null ? AofError.closed('manager') : AofError.readOnly('settle', this.#config.root, 'follower'));
  }

  /** @throws AOF_ERR_READ_ONLY (durability is the writer's) */
  flushSync(_options?: { timeoutMs?: number }): void {
    throw AofError.readOnly('flushSync', this.#config.root, 'follower');
  }

  /** Stops following: closes readers, the hydrate pool, the store; releases the directory. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.allSettled([...this.#streams.values()]);
    await this.#running?.catch(() => undefined);
    await this.#queued?.catch(() => undefined);
    for (const followed of this.#followed.values()) followed.log.close();
    await this.#read.close();
    await this.#remote.store.close();
    this.#coordinator.close();
    for (const name of this.#metricNames) this.#registry.removeSingleMetric(name);
    this.#lock.release();
  }

  /** @throws AOF_ERR_READ_ONLY: only the writer's manager shares its arena (open one of these in the worker instead) */
  shareHandle(): ShareHandle {
    throw AofError.readOnly('shareHandle', this.#config.root, 'follower');
  }

  /** A snapshot (see ManagerStats: zeros for what only a writer does; `follower` for the lag). */
  stats(): ManagerStats {
    const followed = [...this.#followed.values()];
    const now = Date.now();
    return this.#snapshots.snapshot({
      logs: followed.map((f) => f.log),
      manifest: this.#manifest.replayed.report,
      readError: this.#readError ?? this.#remote.lastError ?? null,
      readOnly: null,
      follower: {
        pollMs: this.#config.follower!.pollMs,
        polls: this.#stats.polls,
        manifestGets: this.#manifest.gets,
        manifestReplays: this.#manifest.replayed.replays,
        lastChangeAt: this.#stats.lastChangeAt,
        lastPollAt: this.#stats.lastPollAt,
        lastError: this.#stats.lastError,
        streams: Object.fromEntries(followed.map((f) => [f.log.name, lagOf(f, now)])),
      },
    });
  }

  /**
   * A poll that starts after this call; every request made while one runs shares the next. Never
   * rejects: failures go to `lastError`.
   */
  #request(): Promise<void> {
    if (this.#closing !== null) return this.#running ?? Promise.resolve();
    if (this.#queued !== null) return this.#queued;
    const start = (): Promise<void> => {
      this.#queued = null;
      const run: Promise<void> = this.#pollOnce().finally(() => {
        if (this.#running === run) this.#running = null;
      });
      this.#running = run;
      return run;
    };
    if (this.#running === null) return start();
    this.#queued = this.#running.then(start, start);
    return this.#queued;
  }

  async #pollOnce(): Promise<void> {
    this.#stats.polls++;
    let changed: boolean;
    try {
      changed = await this.#manifest.refresh();
    } catch (err) {
      this.#stats.lastError = err instanceof AofError ? `${err.code}: ${err.message}` : String(err);
      return;
    }
    this.#stats.lastPollAt = Date.now();
    if (changed && this.#closing === null) {
      this.#stats.lastChangeAt = this.#stats.lastPollAt;
      for (const followed of this.#followed.values()) this.#show(followed);
    }
    // Waits the new records ended are gone; one still pending keeps the timer alive.
    this.#keepAlive();
  }

  /** Hands `followed` its view as of the last replay (the one place a follower's view changes). */
  #show(followed: Followed): void {
    const view = uploadedView(recordedStream(this.#manifest.replayed.catalog.entries(followed.log.name)));
    followed.recordsNotUploaded = view.recordsNotUploaded;
    for (const seg of view.stream.segments) {
      if (seg.dataBytes > this.#config.segmentBytes) {
        this.#stats.lastError = `${ErrorCode.INVALID_ARGUMENT}: segment ${seg.baseId} of stream ${followed.log.name} holds ${seg.dataBytes} bytes of records but tier0.segmentBytes is ${this.#config.segmentBytes}; open the follower with the writer's tier0 options`;
        return;
      }
    }
    const problems = followed.log.update({ recorded: view.stream, tail: [], settled: [] });
    if (problems.length > 0) this.#stats.lastError = problems[problems.length - 1]!;
  }

  #checkOpen(): void {
    if (this.#closing !== null) throw AofError.closed('manager');
  }
}

/** A stream's lag as `stats().follower.streams[name]` reports it (FollowerLag). */
function lagOf(followed: Followed, now: number): FollowerLag {
  const segments = followed.log.segments;
  const last = segments[segments.length - 1];
  return {
    nextId: followed.log.nextId,
    lagSeconds: last === undefined ? null : Math.max(0, (now - last.maxTimestamp) / 1000),
    recordsNotUploaded: followed.recordsNotUploaded,
  };
}
