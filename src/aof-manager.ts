/**
 * The public `AofManager`: a thin facade (piscina's pattern) that validates the options and opens
 * one of two engines, then delegates every call to it:
 *
 * - the **writer** (src/manager.ts `WriterManager`): locks the root, recovers it, appends, flushes,
 *   compresses, uploads, applies retention;
 * - a **read-only** manager (src/read-only/read-only-manager.ts), with `readOnly` in the options:
 *   opens a root another process writes, never writes to it, and follows the writer's files;
 * - a **follower** (src/read-only/follower-manager.ts), with `follower` in the options: a read-only
 *   replica whose only source is the writer's Tier 2 bucket, polled; it never writes to the bucket.
 *
 * Both engines have the same shape ({@link ManagerEngine}), so users hold one type whichever they
 * opened, and the clone guard sits here, on the object users see.
 */
import type { Registry } from 'prom-client';
import { resolveConfig, type AofManagerOptions, type ResolvedConfig, type StreamOptions } from './config.js';
import { AofError, ErrorCode } from './errors.js';
import type { AofLog } from './log.js';
import { WriterManager, type ManagerStats } from './manager.js';
import { CLONE_REMEDY, refuseClone } from './not-cloneable.js';
import { FollowerManager } from './read-only/follower-manager.js';
import { ReadOnlyManager } from './read-only/read-only-manager.js';
import { AttachedManager } from './share/attached-manager.js';
import type { ShareHandle } from './share/share-host.js';

/** What the facade delegates to: the writer's manager, a read-only one or a follower. */
export interface ManagerEngine {
  readonly config: ResolvedConfig;
  readonly registry: Registry;
  openStream(name: string, options?: StreamOptions): Promise<AofLog>;
  listStreams(): Promise<string[]>;
  stats(): ManagerStats;
  refresh(): Promise<void>;
  enforceRetention(): Promise<void>;
  settle(): Promise<void>;
  flushSync(options?: { timeoutMs?: number }): void;
  shareHandle(): ShareHandle;
  close(): Promise<void>;
}

/**
 * The engine for one root directory: the Tier 0 arena shared by all its streams, the flush worker,
 * Tier 1 compression, Tier 2 uploads, the manifest and retention. Open one with
 * `AofManager.open(options)`, get streams with `openStream(name)`, and `close()` it once. With
 * `readOnly` in the options it opens a root another process writes instead: it reads and follows
 * that writer's files and never writes to the root (docs/read-path.md, "Read-only opens from
 * another process"). With `follower` it opens a replica of a writer on another machine, read
 * from that writer's Tier 2 bucket alone (docs/read-path.md, "Followers from the bucket").
 */
export class AofManager {
  // The only state: a private field, which structured clone never sees. The clone guard is the one
  // own property (src/not-cloneable.ts).
  readonly #engine: ManagerEngine;

  private constructor(engine: ManagerEngine) {
    refuseClone(this, 'an AofManager', CLONE_REMEDY, () => ({ root: engine.config.root, ...(engine.config.readOnly !== null && { readOnly: true }), ...(engine.config.follower !== null && { follower: true }) }));
    this.#engine = engine;
  }

  /**
   * Opens (creating if needed) the root and starts the engine. With `readOnly`, opens an existing
   * root without writing to it: no lock, no directory created, nothing repaired, whoever holds the
   * root. With `follower`, `root` is the follower's own directory (created and locked) and the
   * first poll of the bucket runs before it resolves.
   * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION, AOF_ERR_LOCKED, AOF_ERR_IO (also,
   *   read-only: the root, or its `manifest/` or `streams/` directory, does not exist:
   *   `details.errno` 'ENOENT'), AOF_ERR_UNSUPPORTED_PLATFORM, AOF_ERR_INCOMPATIBLE (read-only: a
   *   manifest written by a newer aof2), AOF_ERR_UNAVAILABLE (follower: the bucket does not answer),
   *   AOF_ERR_WORKER_FAILED (under `tier0.prefault: 'open'`
   *   only: the flush worker failed before it ran; otherwise openStream() reports that)
   */
  static async open(options: AofManagerOptions): Promise<AofManager> {
    checkPlatform();
    const config = resolveConfig(options);
    const engine: ManagerEngine =
      config.follower !== null ? await FollowerManager.open(config) : config.readOnly !== null ? await ReadOnlyManager.open(config) : await WriterManager.open(config);
    return new AofManager(engine);
  }

  /**
   * A view of the manager that made `handle` (`manager.shareHandle()`), for a worker thread: its
   * `openStream(name)` gives logs whose readers, `read()`, `follow()` and `nextSync()` read the
   * owner's arena directly, with no copy and no message per record (docs/read-path.md, "Readers in
   * worker threads"). Every write throws AOF_ERR_READ_ONLY; once the owner closes, the view's
   * calls end with AOF_ERR_CLOSED. `close()` the view before the worker ends: it gives back the
   * runs its readers pin.
   * @throws AOF_ERR_INVALID_ARGUMENT (not a share handle), AOF_ERR_INCOMPATIBLE (a handle of another
   *   aof2 version), AOF_ERR_CLOSED (the owner closed)
   */
  static attach(handle: ShareHandle): AofManager {
    checkPlatform();
    return new AofManager(AttachedManager.attach(handle));
  }

  /**
   * A plain value to post to a worker thread (`workerData`, `postMessage`; no transfer list) that
   * `AofManager.attach(handle)` there turns into a read-only view of this manager over the same
   * SharedArrayBuffer. One handle serves any number of workers. The writer's manager only.
   * @throws AOF_ERR_CLOSED, AOF_ERR_READ_ONLY (a read-only manager or a follower: open one in the
   *   worker instead)
   */
  shareHandle(): ShareHandle {
    return this.#engine.shareHandle();
  }

  /** The options as resolved; `root` is the real path of the root (a symlinked root resolved at open). */
  get config(): ResolvedConfig {
    return this.#engine.config;
  }

  /** prom-client registry holding this manager's metrics (`metrics.registry`, or a private one). */
  get registry(): Registry {
    return this.#engine.registry;
  }

  /**
   * Opens a stream by name, creating it if needed. Recovery of its files (trusting sealed footers,
   * scanning and trimming an unsealed tail) completes before the returned log accepts appends,
   * and the log is returned once the flush worker runs (warm start). Opening the same name twice
   * returns the same log. A read-only manager creates nothing: it opens a stream the writer has
   * (its directory or a manifest record), as far as the files hold it, and follows it; its
   * `options` are checked and otherwise unused (the writer's retention applies). A follower opens
   * a stream its writer's replicated manifest records (AOF_ERR_IO, `details.errno` 'ENOENT',
   * until the writer uploaded some of it).
   * @throws AOF_ERR_INVALID_STREAM_NAME, AOF_ERR_CLOSED, AOF_ERR_CORRUPT, AOF_ERR_IO (read-only:
   *   a stream the root does not hold, `details.errno` 'ENOENT'), AOF_ERR_WORKER_FAILED (the flush
   *   worker failed before it ran)
   */
  openStream(name: string, options?: StreamOptions): Promise<AofLog> {
    return this.#engine.openStream(name, options);
  }

  /**
   * Names of the streams stored under the root or recorded in the manifest, opened or not, sorted.
   * Only valid stream names (each one `openStream` accepts).
   * @throws AOF_ERR_CLOSED
   */
  listStreams(): Promise<string[]> {
    return this.#engine.listStreams();
  }

  /** A plain-object snapshot of the engine's state; cheap, safe to call often. */
  stats(): ManagerStats {
    return this.#engine.stats();
  }

  /**
   * Read-only: brings this manager's view up to date with the writer's files now (the manifest,
   * and the tail of every opened stream), instead of at the next `fs.watch` wake-up or
   * `readOnly.refreshMs` tick; resolves once everything the files held when it was called is
   * visible (`log.nextId` included). A follower polls the bucket now instead of at the next
   * `follower.pollMs` tick, and resolves once everything that poll found is visible. On the
   * writer, resolves at once (its view is the truth).
   * @throws (rejects) AOF_ERR_CLOSED
   */
  refresh(): Promise<void> {
    return this.#engine.refresh();
  }

  /**
   * Applies every open stream's retention now (it also runs every `retention.checkIntervalMs`).
   * Expired segments are recorded (EXPIRED) before their files and objects are removed.
   * @throws (rejects) AOF_ERR_CLOSED, AOF_ERR_READ_ONLY (the writer applies retention)
   */
  enforceRetention(): Promise<void> {
    return this.#engine.enforceRetention();
  }

  /**
   * Waits until Tier 1 and Tier 2 are idle: sealed segments compressed, compressed ones uploaded
   * (as far as the store accepts them) and the manifest replicated. For tests, tools and a
   * deliberate hand-over to another machine.
   * @throws (rejects) AOF_ERR_CLOSED, AOF_ERR_READ_ONLY (only the writer compresses and uploads)
   */
  settle(): Promise<void> {
    return this.#engine.settle();
  }

  /**
   * Blocks the calling thread until every record appended so far, on every stream, is written and
   * fdatasynced (whatever the `fsync` policy), like sonic-boom's `flushSync()`: `durableId` then
   * equals `nextId - 1` everywhere. Safe in a `process.on('exit')` listener (the flush worker
   * runs on its own thread); prefer `await log.flush()` elsewhere, which leaves the event loop free.
   * Appends still queued in `append()` waiting for an arena slot have no id yet and are not covered.
   *
   * @param options.timeoutMs deadline (default 10,000 ms); the worker goes on after a timeout
   * @throws AOF_ERR_TIMEOUT, AOF_ERR_IO / AOF_ERR_WORKER_FAILED (the manager failed: some records
   *   will never be durable), AOF_ERR_CLOSED (after `close()` resolved), AOF_ERR_INVALID_ARGUMENT,
   *   AOF_ERR_UNKNOWN_OPTION, AOF_ERR_READ_ONLY
   */
  flushSync(options?: { timeoutMs?: number }): void {
    this.#engine.flushSync(options);
  }

  /**
   * Graceful shutdown: waits for queued appends, makes everything durable, stops the flush worker
   * and releases the root. With Tier 2 it seals every active segment and uploads what the store
   * accepts; without one each stream's active segment stays open (the flush worker gives it a
   * footer the manifest does not record) and the next open continues it. A read-only manager
   * closes its readers, watchers and files. Idempotent.
   */
  close(): Promise<void> {
    return this.#engine.close();
  }

  /**
   * `await using manager = await AofManager.open(options)`: closes the manager when the scope ends
   * ({@link close}: drains, seals, makes everything durable, releases the root). Idempotent.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function checkPlatform(): void {
  if (typeof Atomics.waitAsync !== 'function') {
    throw new AofError(ErrorCode.UNSUPPORTED_PLATFORM, 'aof2 needs Atomics.waitAsync (Node >= 16)');
  }
}
