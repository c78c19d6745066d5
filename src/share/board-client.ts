/**
 * A view's side of one box of the share board (share-board.ts): post a request, then take the
 * owner's reply, synchronously (the worker thread blocks in `Atomics.wait`, which worker threads
 * may do) or asynchronously (`Atomics.waitAsync`). One request at a time per box.
 */
import { AofError, ErrorCode } from '../errors.js';
import {
  B_CANCEL,
  B_CLAIM,
  B_DONE,
  B_FLAGS,
  B_NAME,
  B_OP,
  B_REQ,
  B_STATUS,
  B_TEXT,
  F_ID,
  MAX_BOXES,
  Op,
  ShareBoard,
  Status,
  W_DOORBELL,
} from './share-board.js';

/**
 * The longest a wait for the owner lasts before it looks at CLOSED again: a safety net for the one
 * race the words cannot close (the owner closing while a view registers its wait), not a poll.
 */
const SAFETY_NET_MS = 1000;

const keepAlive = (): void => undefined;

export class BoardClient {
  readonly board: ShareBoard;
  readonly box: number;
  #req = 0;

  private constructor(board: ShareBoard, box: number) {
    this.board = board;
    this.box = box;
    this.#req = Atomics.load(board.i32, board.word(box, B_REQ));
  }

  /**
   * Claims a free box.
   * @throws AOF_ERR_CLOSED (the owner closed), AOF_ERR_INVALID_ARGUMENT when every box is taken
   *   (too many readers attached at once)
   */
  static claim(board: ShareBoard): BoardClient {
    if (board.closed) throw AofError.closed('the manager that shared this handle');
    for (let box = 0; box < MAX_BOXES; box++) {
      if (Atomics.compareExchange(board.i32, board.word(box, B_CLAIM), 0, 1) === 0) return new BoardClient(board, box);
    }
    throw new AofError(ErrorCode.INVALID_ARGUMENT, `every one of the ${MAX_BOXES} share-board boxes is taken: close attached readers before opening more`, {
      details: { boxes: MAX_BOXES },
    });
  }

  /** True while a request of this box waits for its reply. */
  get pending(): boolean {
    return Atomics.load(this.board.i32, this.board.word(this.box, B_DONE)) !== this.#req;
  }

  /** Posts a request (nothing may be pending): the fields, then REQ, then the doorbell. */
  post(op: number, name: string, id: number, flags = 0): void {
    const board = this.board;
    const i32 = board.i32;
    Atomics.store(i32, board.word(this.box, B_OP), op);
    Atomics.store(i32, board.word(this.box, B_FLAGS), flags);
    Atomics.store(i32, board.word(this.box, B_NAME), board.writeText(this.box, name));
    board.f64[board.field(this.box, F_ID)] = id;
    this.#req = (this.#req + 1) | 0 || 1; // never 0: the owner's "serving nothing"
    Atomics.store(i32, board.word(this.box, B_REQ), this.#req);
    Atomics.add(i32, W_DOORBELL, 1);
    Atomics.notify(i32, W_DOORBELL);
  }

  /** Asks the owner to end the pending WAIT now (answered CANCELLED). */
  cancel(): void {
    const i32 = this.board.i32;
    Atomics.store(i32, this.board.word(this.box, B_CANCEL), 1);
    Atomics.add(i32, W_DOORBELL, 1);
    Atomics.notify(i32, W_DOORBELL);
  }

  /**
   * Blocks the thread up to `timeoutMs` for the reply; returns its status, or 0 when the owner has
   * not answered by then (the request stays pending: take its reply later).
   */
  replySync(timeoutMs: number): number {
    const i32 = this.board.i32;
    const done = this.board.word(this.box, B_DONE);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const seen = Atomics.load(i32, done);
      if (seen === this.#req) return Atomics.load(i32, this.board.word(this.box, B_STATUS));
      if (this.board.closed) return Status.CLOSED;
      const left = deadline - performance.now();
      if (left <= 0) return 0;
      Atomics.wait(i32, done, seen, Math.min(left, SAFETY_NET_MS));
    }
  }

  /** Resolves with the reply's status (CLOSED if the owner closed first). */
  async reply(): Promise<number> {
    const i32 = this.board.i32;
    const done = this.board.word(this.box, B_DONE);
    for (;;) {
      const seen = Atomics.load(i32, done);
      if (seen === this.#req) return Atomics.load(i32, this.board.word(this.box, B_STATUS));
      const wait = Atomics.waitAsync(i32, done, seen, SAFETY_NET_MS);
      // Registered: a close from now on notifies this wait; one from before is seen here.
      if (this.board.closed && Atomics.load(i32, done) !== this.#req) return Status.CLOSED;
      if (!wait.async) continue;
      // A pending waitAsync holds no handle: without this timer a worker whose only work is this
      // wait (a follow at the tail) would end while it waits.
      const alive = setTimeout(keepAlive, SAFETY_NET_MS * 2);
      await wait.value;
      clearTimeout(alive);
    }
  }

  /**
   * Gives the box back once nothing is pending (a pending WAIT is cancelled first): the owner
   * unpins its run and frees it. Nothing to do once the owner closed.
   */
  release(): void {
    if (this.board.closed) return;
    if (!this.pending) {
      this.post(Op.RELEASE, '', 0);
      return;
    }
    this.cancel();
    void this.reply().then((status) => {
      if (status !== Status.CLOSED) this.post(Op.RELEASE, '', 0);
    });
  }

  /** The error of an ERROR reply. */
  error(): AofError {
    const text = this.board.readText(this.box, Atomics.load(this.board.i32, this.board.word(this.box, B_TEXT)));
    try {
      const { code, message, details } = JSON.parse(text) as { code: string; message: string; details: Record<string, unknown> | null };
      return new AofError(code as AofError['code'], message, details === null ? undefined : { details });
    } catch {
      return new AofError(ErrorCode.INTERNAL, `share board: unreadable error reply ${JSON.stringify(text.slice(0, 80))}`);
    }
  }

  /** The reply text (LIST). */
  text(): string {
    return this.board.readText(this.box, Atomics.load(this.board.i32, this.board.word(this.box, B_TEXT)));
  }

  /** Reads f64 field `field` of the reply. */
  field(field: number): number {
    return this.board.f64[this.board.field(this.box, field)]!;
  }
}
