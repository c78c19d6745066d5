/**
 * The owner's side of the share board (share-board.ts): answers the requests of views attached
 * from worker threads, on the thread that owns the arena. Each box that leases runs has its own
 * arena reader (src/reader.ts `ArenaReader.lease`), which pins the run it is positioned in exactly
 * as a reader on this thread does: pins, loads, read-ahead and eviction never see a worker.
 *
 * Woken through `Atomics.waitAsync` on the DOORBELL word, which holds no handle: a manager that
 * shared its arena still lets its process exit (the workers, while they run, keep it alive).
 */
import type { Arena } from '../arena/arena.js';
import { AofError, ErrorCode } from '../errors.js';
import { BLOCKED, type ArenaReader } from '../reader.js';
import {
  B_CANCEL,
  B_CLAIM,
  B_DONE,
  B_FLAGS,
  B_NAME,
  B_OP,
  B_REQ,
  B_RUNS,
  B_STATUS,
  B_TEXT,
  BOARD_BYTES,
  FLAG_DURABLE,
  FLAG_RESIDENT,
  F_DURABLE_ID,
  F_FIRST_ID,
  F_ID,
  F_NEXT_ID,
  MAX_BOXES,
  MAX_RUNS,
  Op,
  ShareBoard,
  Status,
  TEXT_BYTES,
  W_CLOSED,
  W_DOORBELL,
} from './share-board.js';

/** A stream as the share host serves it (the writer's LogCore, a read-only manager's log). */
export interface ShareableLog {
  readonly name: string;
  readonly nextId: number;
  readonly firstId: number;
  readonly durableId: number;
  /** A reader over the arena for one box's leases, tracked (and closed at close) like any reader. */
  openLeaseReader(from: number): ArenaReader;
}

/** What the host needs of its manager. */
export interface ShareHostPorts {
  /** A stream the manager has (open, or stored under its root); rejects AOF_ERR_IO ENOENT if none. */
  existingStream(name: string): Promise<ShareableLog>;
  listStreams(): Promise<string[]>;
  /** Resolves at the next change the coordinator sees (a load finished, the flush worker moved). */
  nextChange(): Promise<void>;
  /** The manager's stats() (Op.STATS: a view's stats() is its owner's). */
  stats(): unknown;
}

/** The handle `manager.shareHandle()` returns: plain data, posted to a worker as is. */
export interface ShareHandle {
  readonly kind: 'aof2.share';
  readonly version: 1;
  readonly root: string;
  /** The owner's arena. */
  readonly arena: SharedArrayBuffer;
  /** The share board (share-board.ts). */
  readonly board: SharedArrayBuffer;
}

/** The handle of `arena` shared through `host`. */
export function shareHandleOf(root: string, arena: Arena, host: ShareHost): ShareHandle {
  return { kind: 'aof2.share', version: 1, root, arena: arena.sab, board: host.board.sab };
}

/** One box's owner-side state. */
interface BoxState {
  /** The request being served (its REQ value), or 0. */
  serving: number;
  log: ShareableLog | null;
  reader: ArenaReader | null;
}

export class ShareHost {
  readonly board: ShareBoard;
  readonly #ports: ShareHostPorts;
  readonly #boxes = new Map<number, BoxState>();
  #closed = false;

  constructor(ports: ShareHostPorts) {
    this.board = new ShareBoard(new SharedArrayBuffer(BOARD_BYTES));
    this.#ports = ports;
    this.#listen(0);
  }

  /** Waits for the doorbell to change from `seen`, then serves what is posted. */
  #listen(seen: number): void {
    if (this.#closed) return;
    const wait = Atomics.waitAsync(this.board.i32, W_DOORBELL, seen);
    if (wait.async) void wait.value.then(() => this.#serve());
    else queueMicrotask(() => this.#serve());
  }

  #serve(): void {
    if (this.#closed) return;
    const i32 = this.board.i32;
    const seen = Atomics.load(i32, W_DOORBELL);
    for (let box = 0; box < MAX_BOXES; box++) {
      if (Atomics.load(i32, this.board.word(box, B_CLAIM)) === 0) continue;
      const req = Atomics.load(i32, this.board.word(box, B_REQ));
      const state = this.#stateOf(box);
      if (req !== Atomics.load(i32, this.board.word(box, B_DONE)) && state.serving !== req) {
        state.serving = req;
        void this.#handle(box, state, req);
      } else if (state.serving !== 0 && Atomics.load(i32, this.board.word(box, B_CANCEL)) !== 0) {
        this.#reply(box, state, Status.CANCELLED);
      }
    }
    this.#listen(seen);
  }

  #stateOf(box: number): BoxState {
    let state = this.#boxes.get(box);
    if (state === undefined) {
      state = { serving: 0, log: null, reader: null };
      this.#boxes.set(box, state);
    }
    return state;
  }

  async #handle(box: number, state: BoxState, req: number): Promise<void> {
    const board = this.board;
    const op = Atomics.load(board.i32, board.word(box, B_OP));
    const flags = Atomics.load(board.i32, board.word(box, B_FLAGS));
    const id = board.f64[board.field(box, F_ID)]!;
    try {
      if (op === Op.RELEASE) {
        this.#releaseBox(box, state);
        return;
      }
      if (op === Op.STATS) {
        Atomics.store(board.i32, board.word(box, B_TEXT), board.writeStats(JSON.stringify(this.#ports.stats())));
        this.#reply(box, state, Status.OK);
        return;
      }
      if (op === Op.LIST) {
        this.#list(box, state, req, await this.#ports.listStreams(), id);
        return;
      }
      const name = board.readText(box, Atomics.load(board.i32, board.word(box, B_NAME)));
      if (state.log === null || state.log.name !== name) {
        state.reader?.close();
        state.reader = null;
        state.log = await this.#ports.existingStream(name);
      }
      const log = state.log;
      if (op === Op.OPEN || op === Op.STAT) this.#replyIds(box, state, req, log, Status.OK);
      else if (op === Op.LEASE) await this.#lease(box, state, req, log, id, (flags & FLAG_RESIDENT) !== 0);
      else if (op === Op.WAIT) await this.#wait(box, state, req, log, id, (flags & FLAG_DURABLE) !== 0);
      else throw new AofError(ErrorCode.INTERNAL, `share board: unknown op ${op}`);
    } catch (err) {
      if (state.serving !== req) return; // answered meanwhile (cancelled, closed)
      if (this.#closed || (err instanceof AofError && err.code === ErrorCode.CLOSED)) {
        this.#reply(box, state, Status.CLOSED);
        return;
      }
      const error = err instanceof AofError ? err : new AofError(ErrorCode.INTERNAL, `share board: ${String(err)}`, { cause: err });
      const text = JSON.stringify({ code: error.code, message: error.message, details: error.details ?? null });
      Atomics.store(board.i32, board.word(box, B_TEXT), board.writeText(box, text));
      this.#reply(box, state, Status.ERROR);
    }
  }

  async #lease(box: number, state: BoxState, req: number, log: ShareableLog, id: number, resident: boolean): Promise<void> {
    if (state.reader === null || id < state.reader.position) {
      state.reader?.close();
      if (id < log.firstId || id > log.nextId) {
        throw new AofError(ErrorCode.OUT_OF_RANGE, `stream ${log.name} holds ids [${log.firstId}, ${log.nextId}); cannot read ${id}`, {
          details: { id, firstId: log.firstId, nextId: log.nextId },
        });
      }
      state.reader = log.openLeaseReader(id);
    }
    for (;;) {
      const runs = state.reader.lease(id, MAX_RUNS);
      if (state.serving !== req) return;
      if (runs === null) {
        this.#replyIds(box, state, req, log, Status.TAIL);
        return;
      }
      if (runs !== BLOCKED) {
        const board = this.board;
        for (const [i, run] of runs.entries()) {
          board.f64[board.runField(box, i, 0)] = run.slot;
          board.f64[board.runField(box, i, 1)] = run.base;
          board.f64[board.runField(box, i, 2)] = run.offset;
          board.f64[board.runField(box, i, 3)] = run.end;
          board.f64[board.runField(box, i, 4)] = run.endId;
        }
        Atomics.store(board.i32, board.word(box, B_RUNS), runs.length);
        this.#replyIds(box, state, req, log, Status.OK);
        return;
      }
      if (!resident) {
        this.#replyIds(box, state, req, log, Status.BLOCKED);
        return;
      }
      await this.#ports.nextChange();
      if (this.#closed) throw AofError.closed('manager');
    }
  }

  /** Answers once record `id` exists (durable: is durable), or the wait is cancelled or closed. */
  async #wait(box: number, state: BoxState, req: number, log: ShareableLog, id: number, durable: boolean): Promise<void> {
    // The box's lease reader, if any, ends the wait with AOF_ERR_CLOSED when the manager closes.
    const reader = state.reader ?? (state.reader = log.openLeaseReader(Math.min(Math.max(id, log.firstId), log.nextId)));
    await reader.until(id, durable, () => state.serving !== req);
    if (state.serving === req) this.#replyIds(box, state, req, log, Status.OK);
  }

  #list(box: number, state: BoxState, req: number, names: string[], from: number): void {
    const board = this.board;
    const shown: string[] = [];
    let bytes = 2;
    // As many names as the box's text area holds as JSON (each: quotes and a comma); the view asks again from there.
    for (let i = from; i < names.length && bytes + names[i]!.length + 3 <= TEXT_BYTES; i++) {
      shown.push(names[i]!);
      bytes += names[i]!.length + 3;
    }
    Atomics.store(board.i32, board.word(box, B_TEXT), board.writeText(box, JSON.stringify(shown)));
    board.f64[board.field(box, F_NEXT_ID)] = names.length;
    if (state.serving === req) this.#reply(box, state, Status.OK);
  }

  #replyIds(box: number, state: BoxState, req: number, log: ShareableLog, status: number): void {
    if (state.serving !== req) return;
    const board = this.board;
    board.f64[board.field(box, F_NEXT_ID)] = log.nextId;
    board.f64[board.field(box, F_FIRST_ID)] = log.firstId;
    board.f64[board.field(box, F_DURABLE_ID)] = log.durableId;
    this.#reply(box, state, status);
  }

  /** Publishes the reply of the request being served: STATUS, then DONE = REQ, then notify. */
  #reply(box: number, state: BoxState, status: number): void {
    const i32 = this.board.i32;
    const req = state.serving;
    state.serving = 0;
    Atomics.store(i32, this.board.word(box, B_CANCEL), 0);
    Atomics.store(i32, this.board.word(box, B_STATUS), status);
    Atomics.store(i32, this.board.word(box, B_DONE), req);
    Atomics.notify(i32, this.board.word(box, B_DONE));
  }

  #releaseBox(box: number, state: BoxState): void {
    state.reader?.close();
    this.#boxes.delete(box);
    const i32 = this.board.i32;
    // Answered like any request (a view may wait for it), then given back for the next claim.
    Atomics.store(i32, this.board.word(box, B_DONE), Atomics.load(i32, this.board.word(box, B_REQ)));
    Atomics.store(i32, this.board.word(box, B_CLAIM), 0);
    Atomics.notify(i32, this.board.word(box, B_DONE));
  }

  /**
   * The manager closes: every view's pending and later requests are answered CLOSED, and the
   * leases are released (the manager's close closes the lease readers with every other reader).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const i32 = this.board.i32;
    Atomics.store(i32, W_CLOSED, 1);
    for (const [box, state] of this.#boxes) {
      state.reader?.close();
      if (state.serving !== 0) this.#reply(box, state, Status.CLOSED);
    }
    for (let box = 0; box < MAX_BOXES; box++) Atomics.notify(i32, this.board.word(box, B_DONE));
    Atomics.notify(i32, W_DOORBELL);
  }
}
