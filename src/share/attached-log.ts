/**
 * One stream of a view attached in a worker thread (`AofManager.attach(handle)`), behind the same
 * public `AofLog` as the owner's (src/log.ts `LogEngine`). Readers, `read()`, `follow()` and the
 * read streams work on the owner's arena (attached-reader.ts); every write throws
 * AOF_ERR_READ_ONLY.
 *
 * `nextId`, `firstId` and `durableId` are the owner's as of the view's last exchange with it
 * (every lease, wait and `manager.refresh()` brings them): a view reads them from its replies,
 * never by asking per call.
 */
import { AofError } from '../errors.js';
import { openFollow, type FollowOptions } from '../follow.js';
import type { LogEngine } from '../log.js';
import { readerStart, recordsUpTo, wrapReader, type AofReader, type LogRecord, type ReaderOptions } from '../reader.js';
import { RefusedWrites } from '../read-only/refused-writes.js';
import { AttachedReader, type AttachedStream, type SharedArena } from './attached-reader.js';
import { BoardClient } from './board-client.js';
import { F_DURABLE_ID, F_FIRST_ID, F_NEXT_ID } from './share-board.js';
import type { ShareBoard } from './share-board.js';

export class AttachedLog extends RefusedWrites implements LogEngine, AttachedStream {
  readonly name: string;
  readonly #root: string;
  readonly #board: ShareBoard;
  readonly #arena: SharedArena;
  readonly #readers = new Set<AttachedReader>();
  #nextId = 0;
  #firstId = 0;
  #durableId = -1;
  #closed = false;

  constructor(name: string, root: string, board: ShareBoard, arena: SharedArena) {
    super();
    this.name = name;
    this.#root = root;
    this.#board = board;
    this.#arena = arena;
  }

  get nextId(): number {
    return this.#nextId;
  }

  get firstId(): number {
    return this.#firstId;
  }

  get durableId(): number {
    return this.#durableId;
  }

  /** Takes the ids of a reply; they only move forward (replies of different boxes cross). */
  noteIds(client: BoardClient): void {
    this.#nextId = Math.max(this.#nextId, client.field(F_NEXT_ID));
    this.#firstId = Math.max(this.#firstId, client.field(F_FIRST_ID));
    this.#durableId = Math.max(this.#durableId, client.field(F_DURABLE_ID));
  }

  readerClosed(reader: AttachedReader): void {
    this.#readers.delete(reader);
  }

  /**
   * A reader from `from` (default: the first stored id), checked against the ids as of the last
   * exchange with the owner (a later lease reports what moved since as AOF_ERR_OUT_OF_RANGE).
   * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION, AOF_ERR_OUT_OF_RANGE, AOF_ERR_CLOSED
   */
  openReader(options: ReaderOptions = {}): AofReader {
    this.#checkOpen();
    const from = readerStart(options, this);
    const first = BoardClient.claim(this.#board);
    let second: BoardClient;
    try {
      second = BoardClient.claim(this.#board);
    } catch (err) {
      first.release();
      throw err;
    }
    const reader = new AttachedReader(this, this.#arena, from, options.copy === true, [first, second]);
    this.#readers.add(reader);
    return wrapReader(reader);
  }

  read(options: { from?: number } = {}): AsyncIterableIterator<LogRecord> {
    const end = this.#nextId;
    return recordsUpTo(this.openReader({ ...options, copy: true }), end);
  }

  follow(options: FollowOptions = {}): AsyncIterableIterator<LogRecord> {
    return openFollow(this, options);
  }

  /** The view closed (or found its owner closed): every reader ends with AOF_ERR_CLOSED. */
  close(): void {
    this.#closed = true;
    for (const reader of [...this.#readers]) reader.close();
  }

  #checkOpen(): void {
    if (this.#closed || this.#board.closed) throw AofError.closed(`stream ${this.name}`);
  }

  protected refusal(what: string): AofError {
    if (this.#closed) return AofError.closed(`stream ${this.name}`);
    return AofError.readOnly(`${what} on stream ${this.name}`, this.#root, 'attach');
  }
}
