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

export class Flusher {
  readonly #ctrl: Int32Array;
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #exited: Promise<void>;
  #failure: AofError | null = null;
  #alive = true;

  /** @param onFailure called once per failure (a failed slot, or the worker dying) */
  constructor(arena: Arena, config: ResolvedConfig, onFailure: (err: AofError, slot: number) => void) {
    this.#ctrl = arena.ctrl;
    const channel = new MessageChannel();
    const workerData: FlushWorkerData = {
      sab: arena.sab,
      slotCount: arena.slotCount,
      segmentBytes: arena.segmentBytes,
      fsync: config.fsync,
      fsyncIntervalMs: config.fsyncIntervalMs,
      port: channel.port2,
    };
    this.#worker = new Worker(WORKER_URL, { workerData, transferList: [channel.port2], name: 'aof2-flush', execArgv: workerExecArgv() });
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
   * Hot path, after a frame was published: rings only when the worker sleeps, so a busy worker
   * costs the appender one shared load (see the doorbell race note in src/arena/layout.ts).
   */
  published(): void {
    if (Atomics.load(this.#ctrl, G_FLUSHER_IDLE) === 1) this.wake();
  }

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

/**
 * The parent's execArgv minus `--input-type`: workers inherit execArgv, and a worker started from a
 * file fails with ERR_INPUT_TYPE_NOT_ALLOWED when the host runs as `node --input-type=module -e`.
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--input-type') i++; // skip its separate value too
    else if (!arg.startsWith('--input-type=')) out.push(arg);
  }
  return out;
}
