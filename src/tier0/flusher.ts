/**
 * Main-thread handle of the flush worker (workers/flush.ts): starts it, rings its doorbell, sends
 * the rare commands, turns its failures into coded errors, and blocks until it has caught up
 * (`drainSync`, for `manager.flushSync()` and the exit drains of src/exit-drain.ts).
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import {
  FLUSHER_FAILED,
  FLUSHER_RUNNING,
  FLUSHER_STOPPED,
  FlusherIdle,
  G_FLUSHER_IDLE,
  G_FLUSHER_STATE,
  G_PROGRESS_EPOCH,
  G_SYNC_REQUEST,
  G_FOLLOWED,
  G_WAKE_URGENT,
  G_WORK_EPOCH,
  S_FLUSHED_LEN,
  S_STATE,
  S_WRITE_LEN,
  SlotState,
  slotWord,
} from '../arena/layout.js';
import type { SegmentTable } from '../arena/segment-table.js';
import type { Arena } from '../arena/arena.js';
import type { ResolvedConfig } from '../config.js';
import { AofError, ErrorCode } from '../errors.js';
import type { FlushCommand, FlushEvent, FlushWorkerData, ResumedSegmentState } from '../../workers/protocol.js';

/**
 * The flush worker's entry: its CommonJS build (dist/cjs/, tsconfig.flush-worker.json), which
 * starts ~10-20 ms sooner than the ESM build in dist/workers/: its thread sets up no ESM loader
 * (docs/decisions.md, "The flush worker starts sooner"). Both are built from workers/flush.ts.
 */
const WORKER_URL = new URL('../../cjs/workers/flush.js', import.meta.url);
/**
 * Kill switch: `AOF2_FLUSH_WORKER_ESM=1` starts the ESM build instead (for an install where the
 * CommonJS copy cannot load, e.g. a bundler that dropped dist/cjs/package.json). Read at each
 * manager's open.
 */
export const FLUSH_WORKER_ESM_ENV = 'AOF2_FLUSH_WORKER_ESM';
const ESM_WORKER_URL = new URL('../../workers/flush.js', import.meta.url);
/**
 * The worker needs no Node flags, and inheriting the host's can break it: `--input-type` (from
 * `node --input-type=module -e`) is refused for a worker loaded from a file, and an explicit list
 * may not hold V8 flags such as `--expose-gc`. So it gets none.
 */
const WORKER_EXEC_ARGV: string[] = [];
/** How long drainSync waits for the message of a slot it already saw FAILED (posted microseconds later). */
const FAILURE_MESSAGE_WAIT_MS = 100;
/** The hot path compares with a plain constant (a module-level number, as the literal it replaced). */
const SLEEPING = FlusherIdle.SLEEPING;
/** Re-check period of ready() (the worker's exit also ends the wait): a guard, not a poll. */
const READY_RECHECK_MS = 1000;

/** How far `drainSync` waits: frames in their files (page cache), or also fdatasynced. */
export type DrainTarget = 'written' | 'durable';

export class Flusher {
  readonly #ctrl: Int32Array;
  readonly #arena: Arena;
  readonly #segments: SegmentTable;
  readonly #onFailure: (err: AofError, slot: number) => void;
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #exited: Promise<void>;
  #failure: AofError | null = null;
  /** First failure the worker reported for a slot (drainSync throws it). */
  #slotFailure: AofError | null = null;
  #alive = true;
  /** close() has ref'd the worker: ready() must not unref it again. */
  #closing = false;
  #ready: Promise<void> | null = null;
  #ringScheduled = false;
  readonly #ring = (): void => {
    this.#ringScheduled = false;
    this.#ringCommit();
  };

  /** @param onFailure called once per failure (a failed slot, or the worker dying) */
  constructor(arena: Arena, config: ResolvedConfig, onFailure: (err: AofError, slot: number) => void) {
    this.#ctrl = arena.ctrl;
    this.#arena = arena;
    this.#segments = arena.segments;
    this.#onFailure = onFailure;
    this.published =
      config.fsync === 'always'
        ? (): void => {
            if (!this.#ringScheduled) {
              this.#ringScheduled = true;
              queueMicrotask(this.#ring);
            }
          }
        : (): void => {
            if (Atomics.load(this.#ctrl, G_FLUSHER_IDLE) === SLEEPING) this.#ringPublished();
          };
    const channel = new MessageChannel();
    const workerData: FlushWorkerData = {
      sab: arena.sab,
      slotCount: arena.pages,
      pageBytes: arena.pageBytes,
      segmentBytes: arena.segmentBytes,
      fsync: config.fsync,
      fsyncIntervalMs: config.fsyncIntervalMs,
      writeDelayMs: config.writeDelayMs,
      followedWriteDelayMs: config.followedWriteDelayMs,
      maxOpenFiles: config.maxOpenFiles,
      prefault: config.prefault !== 'off',
      port: channel.port2,
    };
    const entry = process.env[FLUSH_WORKER_ESM_ENV] === '1' ? ESM_WORKER_URL : WORKER_URL;
    this.#worker = new Worker(entry, { workerData, transferList: [channel.port2], name: 'aof2-flush', execArgv: WORKER_EXEC_ARGV });
    // Neither the worker nor its port keeps the process alive: waiters hold their own ref'd timer,
    // and a process whose event loop runs dry drains what is not written yet in 'beforeExit'
    // (src/exit-drain.ts) instead of a handle ref'd per burst of appends, which would cost the
    // hot path a check per append.
    this.#worker.unref();
    this.#port = channel.port1;
    this.#port.on('message', (event: FlushEvent) => this.#onEvent(event));
    this.#port.unref();
    this.#exited = new Promise<void>((resolve) => {
      this.#worker.once('error', (err) => {
        this.#failure = new AofError(ErrorCode.WORKER_FAILED, `flush worker crashed: ${err.message}`, { cause: err });
        onFailure(this.#failure, -1);
      });
      this.#worker.once('exit', (code) => {
        this.#alive = false;
        if (code !== 0 && this.#failure === null) {
          this.#failure = new AofError(ErrorCode.WORKER_FAILED, `flush worker exited with code ${code}`);
          onFailure(this.#failure, -1);
        }
        resolve();
      });
    });
  }

  /**
   * Hot path, after a frame was published. Chosen once at construction:
   * - 'interval' / 'never': ring only when the worker sleeps, so a busy worker, or one waiting out
   *   its write delay, costs the appender one shared load (see the doorbell and write-delay race
   *   notes in src/arena/layout.ts). That ring is not urgent: the worker may wait `writeDelayMs`
   *   for more frames before it writes;
   * - 'always': ring once, at the end of the current run of microtasks. A group commit wakes every
   *   waiting `append()` in one go and each appends again right away; ringing after the last of
   *   them lets one fdatasync cover the whole group instead of the first few (measured: ~37 → ~64
   *   records per fsync with 64 appenders). That ring is not urgent ({@link #ringCommit}).
   */
  readonly published: () => void;

  /**
   * Rings the doorbell for urgent work (new segment, seal, sync request, a drain, shutdown): the
   * worker starts a pass at once, cutting its write delay short, and reads its commands.
   */
  wake(): void {
    Atomics.add(this.#ctrl, G_WAKE_URGENT, 1);
    Atomics.add(this.#ctrl, G_WORK_EPOCH, 1);
    if (Atomics.load(this.#ctrl, G_FLUSHER_IDLE) !== FlusherIdle.BUSY) Atomics.notify(this.#ctrl, G_WORK_EPOCH, 1);
  }

  /**
   * The ring of fsync 'always', once per run of microtasks that published: WORK_EPOCH, and a notify
   * unless the worker is BUSY (its pass re-checks WRITE_LEN before it sleeps, as for every ring).
   * Not urgent: under 'always' the worker never lingers (writeDelayMs is 0), so urgency bought
   * nothing, and it made every commit's pass poll the command port (receiveMessageOnPort, ~15 µs)
   * on the commit's critical path, a group commit being one ring and one pass (issue 13).
   */
  #ringCommit(): void {
    Atomics.add(this.#ctrl, G_WORK_EPOCH, 1);
    if (Atomics.load(this.#ctrl, G_FLUSHER_IDLE) !== FlusherIdle.BUSY) Atomics.notify(this.#ctrl, G_WORK_EPOCH, 1);
  }

  /**
   * Whether a read-only process follows a stream of this root: the worker's write delay becomes
   * `followedWriteDelayMs`. An urgent ring cuts a delay under way short.
   */
  followed(on: boolean): void {
    Atomics.store(this.#ctrl, G_FOLLOWED, on ? 1 : 0);
    this.wake();
  }

  /** The ring of a publish that found the worker asleep: the worker may wait out its write delay. */
  #ringPublished(): void {
    Atomics.add(this.#ctrl, G_WORK_EPOCH, 1);
    Atomics.notify(this.#ctrl, G_WORK_EPOCH, 1);
  }

  /**
   * Resolves once the worker runs its loop: its thread is up and its modules loaded (40-90 ms on
   * the project's 2-core VMs, mostly thread start-up), so the first append after `open()` is
   * written at once instead of waiting for that. The worker is ref'd meanwhile (a pending
   * `Atomics.waitAsync` does not keep Node alive, and the caller is awaiting this), then unref'd
   * again as always. Idempotent.
   * @throws (rejects) AOF_ERR_WORKER_FAILED if the worker fails or exits before it runs
   */
  ready(): Promise<void> {
    this.#ready ??= this.#waitRunning();
    return this.#ready;
  }

  async #waitRunning(): Promise<void> {
    this.#worker.ref();
    try {
      for (;;) {
        const state = Atomics.load(this.#ctrl, G_FLUSHER_STATE);
        if (state === FLUSHER_RUNNING) return;
        if (state !== 0 || !this.#alive) {
          throw this.#failure ?? new AofError(ErrorCode.WORKER_FAILED, `the flush worker ${state === FLUSHER_STOPPED ? 'stopped' : 'failed'} before it ran`);
        }
        const wait = Atomics.waitAsync(this.#ctrl, G_FLUSHER_STATE, state, READY_RECHECK_MS);
        if (wait.async) await Promise.race([wait.value, this.#exited]);
      }
    } finally {
      if (!this.#closing) this.#worker.unref();
    }
  }

  /** The worker's state word: 'starting' until its loop runs (see ready()). */
  get state(): 'starting' | 'running' | 'stopped' | 'failed' {
    const state = Atomics.load(this.#ctrl, G_FLUSHER_STATE);
    return state === FLUSHER_RUNNING ? 'running' : state === FLUSHER_STOPPED ? 'stopped' : state === FLUSHER_FAILED ? 'failed' : 'starting';
  }

  /**
   * A new segment (segment table entry `handle`) now occupies `slot`: the worker creates its file
   * before writing any frame.
   */
  open(handle: number, slot: number, path: string, baseId: number): void {
    this.#send({ type: 'open', handle, slot, path, baseId, createdAt: Date.now() });
  }

  /**
   * The stream's last segment, left with a footer by a clean close (or by recovery) and never
   * recorded as sealed, is continued (segment table entry `handle`, its lengths and count set to
   * the footer's): the worker takes it as a parked segment without a slot, and cuts the footer off
   * before its next write. The log then treats it like any parked segment (attach, seal).
   */
  resume(handle: number, path: string, baseId: number, createdAt: number, state: ResumedSegmentState): void {
    this.#send({ type: 'resume', handle, path, baseId, createdAt, state });
  }

  /**
   * A parked segment the worker detached takes `slot` again. The main thread has made the slot
   * ACTIVE with WRITE_LEN and FLUSHED_LEN at the segment's written length; frames it publishes
   * before the worker reads this command are written once it has.
   */
  attach(handle: number, slot: number): void {
    this.#send({ type: 'attach', handle, slot });
  }

  /** Seals a parked segment the worker detached from its slot (footer, fsync, close). */
  seal(handle: number): void {
    this.#send({ type: 'seal', handle });
  }

  /** Asks for an fsync of everything written so far (flush()). */
  requestSync(): void {
    Atomics.add(this.#ctrl, G_SYNC_REQUEST, 1);
    this.wake();
  }

  /**
   * Blocks the calling thread until every frame published so far is written to its file and, for
   * `'durable'`, fdatasynced (an fsync is requested, whatever the policy), and no segment is still
   * being sealed or retired. The flush worker runs on its own thread and reads its commands with
   * receiveMessageOnPort, so it makes progress while this thread sleeps in Atomics.wait; that is
   * also why this works inside a process 'exit' listener.
   *
   * Race note: PROGRESS_EPOCH is read before the slots are scanned and the worker bumps it after
   * every length or state it stores, so progress made after the scan ends the wait at once.
   * While this thread blocks, nothing can publish: the targets (WRITE_LEN) cannot move.
   *
   * @throws AOF_ERR_TIMEOUT after `timeoutMs` (the worker goes on in the background);
   *   AOF_ERR_IO / AOF_ERR_WORKER_FAILED when the worker failed a slot or died (also reported
   *   through `onFailure`, synchronously, when its message is already in the port)
   */
  drainSync(target: DrainTarget, timeoutMs: number): void {
    const ctrl = this.#ctrl;
    const deadline = performance.now() + timeoutMs;
    let rung = false;
    for (;;) {
      const epoch = Atomics.load(ctrl, G_PROGRESS_EPOCH);
      const pending = this.#pendingSlots(target);
      if (pending === 0) return;
      if (pending < 0) throw this.#failedNow();
      // Only when there is something to do (an idle manager at exit costs one scan). Waiting on
      // the epoch read above stays correct: any pass after it changes it.
      if (!rung) {
        rung = true;
        if (target === 'durable') this.requestSync();
        else this.wake();
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new AofError(
          ErrorCode.TIMEOUT,
          `the flush worker did not get ${pending} segment(s) ${target} within ${timeoutMs} ms; it goes on in the background`,
          { details: { timeoutMs, target, pendingSegments: pending } },
        );
      }
      Atomics.wait(ctrl, G_PROGRESS_EPOCH, epoch, left);
    }
  }

  /**
   * Slots and segments not yet `target`: slots with frames not written, or SEALING or RETIRING;
   * seals not durable yet; for 'durable', open segments written and not fsynced (parked ones
   * included: they have no slot to look at). 0 when caught up, -1 when the worker failed a slot or
   * a segment or stopped with work left.
   */
  #pendingSlots(target: DrainTarget): number {
    const ctrl = this.#ctrl;
    let pending = 0;
    let failed = false;
    this.#arena.forEachRun((slot) => {
      const state = Atomics.load(ctrl, slotWord(slot, S_STATE));
      if (state === SlotState.FAILED) failed = true;
      else if (state === SlotState.SEALING || state === SlotState.RETIRING) pending++;
      else if (state === SlotState.ACTIVE && Atomics.load(ctrl, slotWord(slot, S_FLUSHED_LEN)) < Atomics.load(ctrl, slotWord(slot, S_WRITE_LEN))) pending++;
    });
    if (failed) return -1;
    const seals = this.#segments.sealsPending();
    const unsynced = target === 'durable' ? this.#segments.unsynced() : 0;
    if (seals < 0 || unsynced < 0) return -1;
    pending += seals + unsynced;
    if (pending > 0) {
      const state = Atomics.load(ctrl, G_FLUSHER_STATE);
      if (state === FLUSHER_FAILED || state === FLUSHER_STOPPED) return -1;
    }
    return pending;
  }

  /**
   * The coded failure behind a FAILED slot or a dead worker. Its message may still sit in the port
   * (this thread was blocked): take it now, so the manager fails with the real errno at once.
   * Race note: the worker stores FAILED, then posts, then bumps PROGRESS_EPOCH at the end of that
   * pass; a scan that fell between the store and the post finds no message yet, so it waits for
   * that bump (bounded: a worker that died has nothing more to post).
   */
  #failedNow(): AofError {
    const ctrl = this.#ctrl;
    const deadline = performance.now() + FAILURE_MESSAGE_WAIT_MS;
    for (;;) {
      const epoch = Atomics.load(ctrl, G_PROGRESS_EPOCH);
      for (let msg = receiveMessageOnPort(this.#port); msg !== undefined; msg = receiveMessageOnPort(this.#port)) {
        this.#onEvent(msg.message as FlushEvent);
      }
      const known = this.#failure ?? this.#slotFailure;
      if (known !== null) return known;
      const left = deadline - performance.now();
      if (left <= 0) return new AofError(ErrorCode.WORKER_FAILED, 'the flush worker failed or stopped before writing every segment');
      Atomics.wait(ctrl, G_PROGRESS_EPOCH, epoch, left);
    }
  }

  #onEvent(event: FlushEvent): void {
    if (event.type !== 'failed') return;
    const err = AofError.deserialize(event.error);
    this.#slotFailure ??= err;
    this.#onFailure(err, event.slot);
  }

  /** Drains, syncs and stops the worker. Idempotent. */
  async close(): Promise<void> {
    // Ref'd again so the process stays alive until the worker has synced and exited.
    this.#closing = true;
    this.#worker.ref();
    if (this.#alive) this.#send({ type: 'shutdown' });
    await this.#exited;
    this.#port.close();
  }

  #send(cmd: FlushCommand): void {
    this.#port.postMessage(cmd);
    this.wake();
  }
}
