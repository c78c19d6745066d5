/**
 * Main-thread handle of the flush worker (workers/flush.ts): starts it, rings its doorbell, sends
 * the rare commands, and turns its failures into coded errors.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { G_FLUSHER_IDLE, G_SYNC_REQUEST, G_WORK_EPOCH } from '../arena/layout.js';
import type { Arena } from '../arena/arena.js';
import type { ResolvedConfig } from '../config.js';
import { AofError, ErrorCode } from '../errors.js';
import type { FlushCommand, FlushEvent, FlushWorkerData } from '../../workers/protocol.js';

const WORKER_URL = new URL('../../workers/flush.js', import.meta.url);
/**
 * The worker needs no Node flags, and inheriting the host's can break it: `--input-type` (from
 * `node --input-type=module -e`) is refused for a worker loaded from a file, and an explicit list
 * may not hold V8 flags such as `--expose-gc`. So it gets none.
 */
const WORKER_EXEC_ARGV: string[] = [];

export class Flusher {
  readonly #ctrl: Int32Array;
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #exited: Promise<void>;
  #failure: AofError | null = null;
  #alive = true;
  #ringScheduled = false;
  readonly #ring = (): void => {
    this.#ringScheduled = false;
    this.wake();
  };

  /** @param onFailure called once per failure (a failed slot, or the worker dying) */
  constructor(arena: Arena, config: ResolvedConfig, onFailure: (err: AofError, slot: number) => void) {
    this.#ctrl = arena.ctrl;
    this.published =
      config.fsync === 'always'
        ? (): void => {
            if (!this.#ringScheduled) {
              this.#ringScheduled = true;
              queueMicrotask(this.#ring);
            }
          }
        : (): void => {
            if (Atomics.load(this.#ctrl, G_FLUSHER_IDLE) === 1) this.wake();
          };
    const channel = new MessageChannel();
    const workerData: FlushWorkerData = {
      sab: arena.sab,
      slotCount: arena.slotCount,
      segmentBytes: arena.segmentBytes,
      frameWords: arena.frameWords,
      fsync: config.fsync,
      fsyncIntervalMs: config.fsyncIntervalMs,
      port: channel.port2,
    };
    this.#worker = new Worker(WORKER_URL, { workerData, transferList: [channel.port2], name: 'aof2-flush', execArgv: WORKER_EXEC_ARGV });
    // Neither the worker nor its port may keep the process alive: waiters hold their own ref'd timer.
    this.#worker.unref();
    this.#port = channel.port1;
    this.#port.on('message', (event: FlushEvent) => {
      if (event.type === 'failed') onFailure(AofError.deserialize(event.error), event.slot);
    });
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
   * - 'interval' / 'never': ring only when the worker sleeps, so a busy worker costs the appender
   *   one shared load (see the doorbell race note in src/arena/layout.ts);
   * - 'always': ring once, at the end of the current run of microtasks. A group commit wakes every
   *   waiting `append()` in one go and each appends again right away; ringing after the last of
   *   them lets one fdatasync cover the whole group instead of the first few (measured: ~37 → ~64
   *   records per fsync with 64 appenders).
   */
  readonly published: () => void;

  /** Rings the doorbell unconditionally (new segment, seal, sync request). */
  wake(): void {
    Atomics.add(this.#ctrl, G_WORK_EPOCH, 1);
    if (Atomics.load(this.#ctrl, G_FLUSHER_IDLE) === 1) Atomics.notify(this.#ctrl, G_WORK_EPOCH, 1);
  }

  /** A new segment now occupies `slot`: the worker creates its file before writing any frame. */
  open(slot: number, path: string, baseId: number): void {
    this.#send({ type: 'open', slot, path, baseId, createdAt: Date.now() });
  }

  /** Asks for an fsync of everything written so far (flush()). */
  requestSync(): void {
    Atomics.add(this.#ctrl, G_SYNC_REQUEST, 1);
    this.wake();
  }

  /** Drains, syncs and stops the worker. Idempotent. */
  async close(): Promise<void> {
    // Ref'd again so the process stays alive until the worker has synced and exited.
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
