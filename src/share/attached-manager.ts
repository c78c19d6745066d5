/**
 * A view of a manager attached from a worker thread (`AofManager.attach(handle)`, the handle from
 * the owner's `manager.shareHandle()`): the engine behind the public `AofManager` there. It opens
 * the owner's streams as read-only logs over the owner's arena (attached-log.ts); it holds no
 * files, workers or timers of its own. Control requests (open, list, refresh) go through one box
 * of the share board, one at a time.
 */
import { Registry } from 'prom-client';
import { resolveConfig, type ResolvedConfig, type StreamOptions } from '../config.js';
import { AofError, ErrorCode } from '../errors.js';
import { logFacade, type AofLog } from '../log.js';
import type { ManagerStats } from '../manager.js';
import { validateStreamName } from '../stream-name.js';
import { AttachedLog } from './attached-log.js';
import type { SharedArena } from './attached-reader.js';
import { BoardClient } from './board-client.js';
import { B_TEXT, F_NEXT_ID, Op, ShareBoard, Status, W_STATS_LOCK } from './share-board.js';
import type { ShareHandle } from './share-host.js';

/** How long a view's stats() waits for the owner's thread. */
const STATS_TIMEOUT_MS = 5000;

function statsTimeout(): AofError {
  return new AofError(ErrorCode.TIMEOUT, `the owning thread did not answer stats() within ${STATS_TIMEOUT_MS} ms (is it blocked?)`, { details: { timeoutMs: STATS_TIMEOUT_MS } });
}

export class AttachedManager {
  readonly config: ResolvedConfig;
  readonly registry = new Registry();
  readonly #board: ShareBoard;
  readonly #arena: SharedArena;
  readonly #logs = new Map<string, Promise<AttachedLog>>();
  readonly #control: BoardClient;
  readonly #handle: ShareHandle;
  /** The control box's queue: one request at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(handle: ShareHandle) {
    this.#handle = handle;
    // Tier 1 off: a view compresses and loads nothing (the owner's thread does), and with it on the
    // codec choice would probe, that is load, the zstd addon in this worker for nothing.
    this.config = resolveConfig({ root: handle.root, readOnly: true, tier1: { enabled: false } });
    this.#board = new ShareBoard(handle.board);
    this.#arena = { ctrl: new Int32Array(handle.arena), u8: new Uint8Array(handle.arena), u32: new Uint32Array(handle.arena), f64: new Float64Array(handle.arena) };
    this.#control = BoardClient.claim(this.#board);
  }

  /**
   * A view of the manager that made `handle`.
   * @throws AOF_ERR_INVALID_ARGUMENT (not a handle from `shareHandle()`), AOF_ERR_CLOSED (its
   *   manager closed)
   */
  static attach(handle: unknown): AttachedManager {
    const h = handle as Partial<ShareHandle> | null;
    if (typeof h !== 'object' || h === null || h.kind !== 'aof2.share' || !(h.arena instanceof SharedArrayBuffer) || !(h.board instanceof SharedArrayBuffer) || typeof h.root !== 'string') {
      throw AofError.invalidArgument('AofManager.attach takes the value manager.shareHandle() returned (posted to this thread as is)');
    }
    if (h.version !== 1) {
      throw new AofError(ErrorCode.INCOMPATIBLE, `share handle version ${String(h.version)} is not understood by this aof2 (1)`, { details: { version: h.version } });
    }
    return new AttachedManager(h as ShareHandle);
  }

  /**
   * A stream the owner has (open there, or stored under its root); the view creates nothing.
   * @throws AOF_ERR_INVALID_STREAM_NAME, AOF_ERR_CLOSED, AOF_ERR_IO (no such stream: `details.errno` 'ENOENT')
   */
  async openStream(name: string, _options?: StreamOptions): Promise<AofLog> {
    this.#checkOpen();
    validateStreamName(name);
    let log = this.#logs.get(name);
    if (log === undefined) {
      log = this.#request(Op.OPEN, name, 0, () => {
        const opened = new AttachedLog(name, this.config.root, this.#board, this.#arena);
        opened.noteIds(this.#control);
        return opened;
      });
      this.#logs.set(name, log);
      log.catch(() => this.#logs.delete(name));
    }
    return logFacade(await log);
  }

  async listStreams(): Promise<string[]> {
    this.#checkOpen();
    const names: string[] = [];
    for (;;) {
      const page = await this.#request(Op.LIST, '', names.length, () => JSON.parse(this.#control.text()) as string[]);
      names.push(...page);
      if (page.length === 0 || names.length >= this.#control.field(F_NEXT_ID)) return names;
    }
  }

  /** Brings every opened stream's ids (nextId, firstId, durableId) up to the owner's now. */
  async refresh(): Promise<void> {
    this.#checkOpen();
    for (const log of this.#logs.values()) {
      const opened = await log;
      await this.#request(Op.STAT, opened.name, 0, () => opened.noteIds(this.#control));
    }
  }

  /**
   * The owner's stats(): the arena, tiers and workers a view reads are the owner's. Blocks this
   * thread until the owner's thread answers (a worker may block), up to STATS_TIMEOUT_MS.
   * @throws AOF_ERR_CLOSED, AOF_ERR_TIMEOUT (the owner's thread did not answer in time)
   */
  stats(): ManagerStats {
    this.#checkOpen();
    const i32 = this.#board.i32;
    const deadline = performance.now() + STATS_TIMEOUT_MS;
    while (Atomics.compareExchange(i32, W_STATS_LOCK, 0, 1) !== 0) {
      if (performance.now() > deadline) throw statsTimeout();
      Atomics.wait(i32, W_STATS_LOCK, 1, 1);
    }
    const client = BoardClient.claim(this.#board);
    try {
      client.post(Op.STATS, '', 0);
      const status = client.replySync(STATS_TIMEOUT_MS);
      if (status === 0) throw statsTimeout();
      if (status === Status.CLOSED) throw AofError.closed('the manager that shared this handle');
      if (status === Status.ERROR) throw client.error();
      return JSON.parse(this.#board.readStats(Atomics.load(i32, this.#board.word(client.box, B_TEXT)))) as ManagerStats;
    } finally {
      client.release();
      Atomics.store(i32, W_STATS_LOCK, 0);
      Atomics.notify(i32, W_STATS_LOCK);
    }
  }

  /** The handle this view was attached with: a view may pass it on to other workers. */
  shareHandle(): ShareHandle {
    this.#checkOpen();
    return this.#handle;
  }

  enforceRetention(): Promise<void> {
    return Promise.reject(this.#readOnly('enforceRetention'));
  }

  settle(): Promise<void> {
    return Promise.reject(this.#readOnly('settle'));
  }

  flushSync(): void {
    throw this.#readOnly('flushSync');
  }

  /** Closes the view's readers and gives its boxes back; the owner goes on. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const log of this.#logs.values()) {
      const opened = await log.catch(() => null);
      opened?.close();
    }
    await this.#queue;
    this.#control.release();
  }

  /** Posts a control request after the ones before it; resolves with `take()` of its OK reply. */
  #request<T>(op: number, name: string, id: number, take: () => T = () => undefined as T): Promise<T> {
    const run = this.#queue.then(async () => {
      this.#control.post(op, name, id);
      const status = await this.#control.reply();
      if (status === Status.CLOSED) throw AofError.closed('the manager that shared this handle');
      if (status === Status.ERROR) throw this.#control.error();
      return take();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #checkOpen(): void {
    if (this.#closed || this.#board.closed) throw AofError.closed('the attached manager');
  }

  #readOnly(what: string): AofError {
    return AofError.readOnly(what, this.config.root, 'attach');
  }
}
