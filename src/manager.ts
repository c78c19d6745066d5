/**
 * AofManager: owns a root directory, the Tier 0 arena shared by all its streams, the flush worker
 * and the coordinator. `open` validates options, locks the root and starts the worker;
 * `openStream` recovers a stream's segments before admitting appends; `close` drains, seals and
 * stops everything.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Arena } from './arena/arena.js';
import { SlotState } from './arena/layout.js';
import { resolveConfig, type AofManagerOptions, type ResolvedConfig } from './config.js';
import { Coordinator } from './coordinator/coordinator.js';
import { AofError, ErrorCode } from './errors.js';
import { AofLog, type LogContext } from './log.js';
import { RootLock } from './root-lock.js';
import { validateStreamName } from './stream-name.js';
import { Flusher } from './tier0/flusher.js';
import { recoverStream, type RecoveryReport } from './tier0/recovery.js';
import { Tier1, type Tier1Stats } from './tier1/tier1.js';
import { ManifestLog, type ReplayReport } from './manifest/manifest-log.js';
import type { Catalog } from './manifest/catalog.js';
import { Registry } from 'prom-client';
import { FAILPOINTS_ENV, FAILPOINTS_SEED_ENV, parseFailpoints } from '../workers/failpoints.js';

export const STREAMS_DIR = 'streams';
export const MANIFEST_DIR = 'manifest';

/** Plain snapshot of what the manager is doing (`manager.stats()`). */
export interface ManagerStats {
  streams: number;
  slots: number;
  segmentBytes: number;
  arena: ReturnType<Arena['occupancy']>;
  recovery: {
    trustedSegments: number;
    scannedSegments: number;
    scannedBytes: number;
    trimmedBytes: number;
    removedFiles: number;
    missingSegments: number;
  };
  /** What replaying the manifest log found when the manager opened. */
  manifest: ReplayReport;
  tier1: Tier1Stats;
  failure: string | null;
}

export class AofManager {
  readonly config: ResolvedConfig;
  /** prom-client registry holding this manager's metrics (a private one). */
  readonly registry: Registry;
  readonly #lock: RootLock;
  readonly #manifest: ManifestLog;
  readonly #catalog: Catalog;
  readonly #replay: ReplayReport;
  readonly #tier1: Tier1;
  readonly #arena: Arena;
  readonly #flusher: Flusher;
  readonly #coordinator: Coordinator;
  readonly #streams = new Map<string, Promise<AofLog>>();
  readonly #logs = new Set<AofLog>();
  readonly #work = new Set<Promise<void>>();
  readonly #ctx: LogContext;
  readonly #recovery = { trustedSegments: 0, scannedSegments: 0, scannedBytes: 0, trimmedBytes: 0, removedFiles: 0, missingSegments: 0 };
  #clock = 0;
  #closing: Promise<void> | null = null;
  #failure: AofError | null = null;

  private constructor(config: ResolvedConfig, lock: RootLock, registry: Registry, opened: Awaited<ReturnType<typeof ManifestLog.open>>) {
    this.config = config;
    this.registry = registry;
    this.#lock = lock;
    this.#manifest = opened.manifest;
    this.#catalog = opened.catalog;
    this.#replay = opened.report;
    this.#arena = new Arena(config.slotCount, config.segmentBytes, config.tier1.frameBytes);
    this.#coordinator = new Coordinator(this.#arena.ctrl);
    this.#flusher = new Flusher(this.#arena, config, (err, slot) => this.#onFlushFailure(err, slot));
    this.#tier1 = new Tier1(this.#arena, this.#coordinator, this.#manifest, config);
    this.#ctx = {
      arena: this.#arena,
      flusher: this.#flusher,
      coordinator: this.#coordinator,
      config,
      relievePressure: (requester) => this.#relievePressure(requester),
      track: (work) => this.#track(work),
      tick: () => ++this.#clock,
      tier1: this.#tier1,
    };
  }

  /**
   * Opens (creating if needed) the root and starts the engine.
   * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION, AOF_ERR_LOCKED, AOF_ERR_IO,
   *   AOF_ERR_UNSUPPORTED_PLATFORM
   */
  static async open(options: AofManagerOptions): Promise<AofManager> {
    checkPlatform();
    const config = resolveConfig(options);
    // A malformed AOF2_FAILPOINTS fails here, once and clearly, rather than in every pool task.
    parseFailpoints(process.env[FAILPOINTS_ENV], process.env[FAILPOINTS_SEED_ENV]);
    try {
      await mkdir(join(config.root, STREAMS_DIR), { recursive: true });
    } catch (err) {
      throw AofError.io('create root', config.root, err);
    }
    const lock = RootLock.acquire(config.root);
    try {
      // The catalog is rebuilt before any stream can be opened, so before any append is admitted.
      const registry = new Registry();
      const opened = await ManifestLog.open({ dir: join(config.root, MANIFEST_DIR), registry });
      try {
        return new AofManager(config, lock, registry, opened);
      } catch (err) {
        await opened.manifest.close();
        throw err;
      }
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  /**
   * Opens a stream by name, creating it if needed. Recovery of its files (trusting sealed footers,
   * scanning and trimming an unsealed tail) completes before the returned log accepts appends.
   * Opening the same name twice returns the same log.
   * @throws AOF_ERR_INVALID_STREAM_NAME, AOF_ERR_CLOSED, AOF_ERR_CORRUPT, AOF_ERR_IO
   */
  openStream(name: string): Promise<AofLog> {
    try {
      this.#checkOpen();
      validateStreamName(name);
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

  /** Names of the streams stored under the root, opened or not. */
  async listStreams(): Promise<string[]> {
    this.#checkOpen();
    const entries = await readdir(join(this.config.root, STREAMS_DIR), { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  }

  /** A plain-object snapshot of the engine's state; cheap, safe to call often. */
  stats(): ManagerStats {
    return {
      streams: this.#logs.size,
      slots: this.#arena.slotCount,
      segmentBytes: this.#arena.segmentBytes,
      arena: this.#arena.occupancy(),
      recovery: { ...this.#recovery },
      manifest: { ...this.#replay },
      tier1: { ...this.#tier1.stats },
      failure: this.#failure?.message ?? null,
    };
  }

  /**
   * Graceful shutdown: waits for queued appends, seals every active segment, waits until all of it
   * is durable, stops the flush worker and releases the root. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const logs = await Promise.allSettled([...this.#streams.values()]);
    const open = logs.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    await Promise.all(open.map((log) => log.closeForWrites()));
    for (const log of open) log.closeReaders();
    await Promise.allSettled([...this.#work]);
    while (this.#failure === null && this.#arena.occupancy().sealing > 0) await this.#coordinator.nextChange();
    await this.#tier1.close(); // records the last seals, finishes queued compressions
    await this.#flusher.close();
    await this.#manifest.close();
    this.#coordinator.close();
    this.#lock.release();
  }

  async #openStream(name: string): Promise<AofLog> {
    const dir = join(this.config.root, STREAMS_DIR, name);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw AofError.io('create stream directory', dir, err);
    }
    const known = new Map(this.#catalog.entries(name).map((entry) => [entry.baseId, entry]));
    const recovered = await recoverStream(dir, name, this.config.segmentBytes, known);
    this.#checkOpen();
    this.#addRecovery(recovered.report);
    if (recovered.records.length > 0) await this.#manifest.append(recovered.records);
    const log = new AofLog(name, dir, this.#ctx, recovered.segments, recovered.nextId);
    for (const seg of recovered.toCompress) this.#tier1.enqueue(name, seg);
    if (this.#failure !== null) log.fail(this.#failure);
    this.#logs.add(log);
    return log;
  }

  #addRecovery(report: RecoveryReport): void {
    this.#recovery.trustedSegments += report.trustedSegments;
    this.#recovery.scannedSegments += report.scannedSegments;
    this.#recovery.scannedBytes += report.scannedBytes;
    this.#recovery.trimmedBytes += report.trimmedBytes;
    this.#recovery.removedFiles += report.removedFiles.length;
    this.#recovery.missingSegments += report.missingSegments;
  }

  #checkOpen(): void {
    if (this.#closing !== null) throw AofError.closed('manager');
  }

  /**
   * Every slot is taken. Seal the oldest active segment of another stream so its slot becomes
   * reusable once durable — unless enough slots are already on their way to becoming free: at
   * most a quarter of the arena seals at once (one flusher pass seals them all, so many streams
   * contending for few slots move in batches rather than one fsync at a time).
   * `requester` is excluded (a writer must not seal itself); null for a reader's hydration, whose
   * own stream's active segment may be sealed too.
   */
  #relievePressure(requester: AofLog | null): void {
    const occupancy = this.#arena.occupancy();
    if (occupancy.sealing + occupancy.hydrating >= Math.max(1, this.#arena.slotCount >> 2)) return;
    let oldest: AofLog | null = null;
    for (const log of this.#logs) {
      if (log === requester || log.activatedAt < 0) continue;
      if (oldest === null || log.activatedAt < oldest.activatedAt) oldest = log;
    }
    oldest?.sealActive();
  }

  #track(work: Promise<void>): void {
    this.#work.add(work);
    const forget = (): void => void this.#work.delete(work);
    work.then(forget, forget);
  }

  /** A write failed (disk full, I/O error) or the worker died: stop accepting writes everywhere. */
  #onFlushFailure(err: AofError, slot: number): void {
    this.#failure ??= err;
    for (const log of this.#logs) log.fail(err);
    if (slot >= 0) this.#arena.setState(slot, SlotState.FAILED);
    this.#coordinator.kick();
  }
}

function checkPlatform(): void {
  if (typeof Atomics.waitAsync !== 'function') {
    throw new AofError(ErrorCode.UNSUPPORTED_PLATFORM, 'aof2 needs Atomics.waitAsync (Node >= 16)');
  }
}
