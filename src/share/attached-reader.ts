/**
 * A reader in a worker thread over the owner's arena (a view from `AofManager.attach(handle)`):
 * the engine behind the public `AofReader` there. It reads frames straight from the shared arena,
 * no copy and no message per record; per run of records it asks the owner for a lease (the owner
 * pins the run for it: share-host.ts), and while it reads one run the next one is already asked
 * for, so a scan rarely waits for the owner.
 *
 * A run still being written (the stream's write window) is read up to its WRITE_LEN word, live,
 * as the flush worker reads it: frames are written before WRITE_LEN is stored. When that window
 * retires (its STATE leaves ACTIVE) the reader asks for the run that follows.
 *
 * Payload views are valid until the next call on the reader, as on the owner's thread: the run a
 * returned payload lies in stays pinned until a later call moves on (its box is then re-leased).
 */
import { abortError, untilAborted } from '../abort.js';
import { S_STATE, S_WRITE_LEN, SlotState, slotWord } from '../arena/layout.js';
import { AofError, WouldBlockError, WouldBlockKind } from '../errors.js';
import { frameLength } from '../format/record.js';
import { BLOCKED, nextOptions, recordAt, type ArenaViews, type LogRecord, type ReaderEngine, type ReaderNextOptions } from '../reader.js';
import { BoardClient } from './board-client.js';
import { B_RUNS, FLAG_DURABLE, FLAG_RESIDENT, Op, Status } from './share-board.js';

/** How long `nextSync()` blocks for the owner's answer before it reports WouldBlock. */
const SYNC_REPLY_MS = 50;

const NO_OPTIONS = { wait: false, durable: false, signal: undefined };

/** The arena as a view sees it. */
export interface SharedArena extends ArenaViews {
  readonly ctrl: Int32Array;
}

/** What an attached reader needs of its log. */
export interface AttachedStream {
  readonly name: string;
  /** Takes the ids of a reply (nextId, firstId, durableId as of then). */
  noteIds(client: BoardClient): void;
  readonly durableId: number;
  readerClosed(reader: AttachedReader): void;
}

/** A leased run: arena byte `base + o` is segment byte `o`. */
interface Lease {
  client: BoardClient;
  slot: number;
  base: number;
  /** Segment byte of the next frame. */
  offset: number;
  /** Segment byte where the frames end; -1: live (WRITE_LEN). */
  end: number;
  /** First id past the run; -1: live. */
  endId: number;
  /** Segment byte up to which frames are known to be there (`end`, or WRITE_LEN as last loaded). */
  limit: number;
}

export class AttachedReader implements ReaderEngine {
  readonly #stream: AttachedStream;
  readonly #arena: SharedArena;
  readonly #copy: boolean;
  /** Two boxes take turns: one holds the run being read, the other asks for the next one. */
  readonly #boxes: [BoardClient, BoardClient];
  #wait: BoardClient | null = null;
  #cur: Lease | null = null;
  /** The runs of the current lease (the owner sends the resident runs that follow the first), and #cur's index. */
  #runs: Lease[] = [];
  #run = 0;
  /** The id the lease box (the one not holding #cur) asked for, -1: none. */
  #asked = -1;
  #askedOther = false;
  #nextId: number;
  #closed = false;

  constructor(stream: AttachedStream, arena: SharedArena, from: number, copy: boolean, boxes: [BoardClient, BoardClient]) {
    this.#stream = stream;
    this.#arena = arena;
    this.#copy = copy;
    this.#nextId = from;
    this.#boxes = boxes;
  }

  get streamName(): string {
    return this.#stream.name;
  }

  get position(): number {
    return this.#nextId;
  }

  get closed(): boolean {
    return this.#closed;
  }

  nextSync(): LogRecord | null {
    for (;;) {
      const record = this.#fromLease();
      if (record !== undefined) return record;
      const client = this.#leaseBox(0);
      if (this.#askedOther) {
        // The answer to an earlier question ahead, for another id: take it, then ask again.
        if (client.replySync(SYNC_REPLY_MS) !== 0) continue;
      }
      const status = this.#askedOther ? 0 : this.#took(client, client.replySync(SYNC_REPLY_MS));
      if (status === Status.TAIL) return null;
      if (status !== Status.OK) {
        throw new WouldBlockError(WouldBlockKind.HYDRATION, `stream ${this.#stream.name}: record ${this.#nextId} is not resident in the owner's arena yet; loading it`);
      }
    }
  }

  poll(): LogRecord | null | typeof BLOCKED {
    const record = this.#fromLease();
    return record === undefined ? BLOCKED : record;
  }

  next(options?: ReaderNextOptions): Promise<LogRecord | null> {
    return this.#next(options);
  }

  async #next(options: ReaderNextOptions | undefined): Promise<LogRecord | null> {
    const { wait, durable, signal } = options === undefined ? NO_OPTIONS : nextOptions(options);
    for (;;) {
      if (signal?.aborted === true) throw abortError(signal);
      if (durable && this.#nextId > this.#stream.durableId) {
        if (this.#closed) throw AofError.closed('reader');
        if (!(await this.#waitFor(this.#nextId, FLAG_DURABLE, wait, signal))) return null;
        continue;
      }
      const record = this.#fromLease();
      if (record === null) {
        if (!wait) return null;
        await this.#waitFor(this.#nextId, 0, true, signal);
        continue;
      }
      if (record !== undefined) return record;
      let client = this.#leaseBox(FLAG_RESIDENT);
      if (client.pending && this.#askedOther) {
        await client.reply(); // the answer to an earlier question ahead, for another id
        client = this.#leaseBox(FLAG_RESIDENT);
      }
      const status = this.#took(client, await client.reply());
      if (status === Status.OK || status === Status.BLOCKED) continue;
      if (!wait) return null; // TAIL
      await this.#waitFor(this.#nextId, 0, true, signal);
    }
  }

  /**
   * The next record from the current lease; undefined when the reader needs another lease (none
   * yet, or the run ended); null at the tail: the end of a live run whose window is still ACTIVE
   * (the stream's only ACTIVE window: a record appended later lands in it, or in the next window
   * only after this one left ACTIVE).
   */
  #fromLease(): LogRecord | null | undefined {
    if (this.#closed) throw AofError.closed('reader');
    const cur = this.#cur;
    if (cur === null) return undefined;
    const arena = this.#arena;
    if (cur.offset >= cur.limit) {
      if (cur.end >= 0) {
        // The next run of the same lease, if the owner sent one (it starts where this one ends).
        if (this.#run + 1 >= this.#runs.length) return undefined;
        this.#cur = this.#runs[++this.#run]!;
        return this.#fromLease();
      }
      // A live run: what the owner published since the last look (WRITE_LEN is loaded once per
      // catch-up, not per record: the frames below it never change).
      cur.limit = Atomics.load(arena.ctrl, slotWord(cur.slot, S_WRITE_LEN));
      if (cur.offset >= cur.limit) {
        if (Atomics.load(arena.ctrl, slotWord(cur.slot, S_STATE)) === SlotState.ACTIVE) return null;
        cur.limit = Atomics.load(arena.ctrl, slotWord(cur.slot, S_WRITE_LEN)); // final once not ACTIVE
        if (cur.offset >= cur.limit) return undefined;
      }
    }
    const record = recordAt(arena, cur.base + cur.offset, this.#nextId++, this.#copy);
    cur.offset += frameLength(record.payload.length);
    return record;
  }

  /**
   * The box that leases #nextId: the one not holding the current run. It asks for #nextId unless
   * it already did (ahead, or a call that gave up waiting); #askedOther is then true when it has
   * a question about another id outstanding, whose answer must be taken first.
   */
  #leaseBox(flags: number): BoardClient {
    const [a, b] = this.#boxes;
    const box = this.#cur?.client === a ? b : a;
    this.#askedOther = false;
    if (this.#asked === this.#nextId) return box;
    if (box.pending) {
      this.#askedOther = true;
      return box;
    }
    box.post(Op.LEASE, this.#stream.name, this.#nextId, flags);
    this.#asked = this.#nextId;
    return box;
  }

  /** Applies a lease reply; asks for the next run ahead when this one's end is known. 0: no answer yet. */
  #took(client: BoardClient, status: number): number {
    if (status === 0) return 0;
    this.#asked = -1;
    this.#checkReply(client, status);
    if (status !== Status.OK) return status;
    const board = client.board;
    const runs: Lease[] = [];
    const count = Atomics.load(board.i32, board.word(client.box, B_RUNS));
    for (let i = 0; i < count; i++) {
      const end = board.f64[board.runField(client.box, i, 3)]!;
      const offset = board.f64[board.runField(client.box, i, 2)]!;
      runs.push({
        client,
        slot: board.f64[board.runField(client.box, i, 0)]!,
        base: board.f64[board.runField(client.box, i, 1)]!,
        offset,
        end,
        endId: board.f64[board.runField(client.box, i, 4)]!,
        limit: Math.max(end, offset),
      });
    }
    this.#runs = runs;
    this.#run = 0;
    this.#cur = runs[0]!;
    const lease = runs[runs.length - 1]!;
    const other = client === this.#boxes[0] ? this.#boxes[1] : this.#boxes[0];
    if (lease.endId >= 0 && !other.pending) {
      // The run after the lease's last, asked for now (the owner reads ahead for it too): the old
      // runs in that box are unpinned, which the payload rule allows (new runs are being read).
      other.post(Op.LEASE, this.#stream.name, lease.endId);
      this.#asked = lease.endId;
    }
    return status;
  }

  /** Throws what a reply says went wrong (CLOSED, ERROR); takes its ids. */
  #checkReply(client: BoardClient, status: number): void {
    if (status === Status.CLOSED) throw AofError.closed('the manager that shared this handle');
    if (status === Status.ERROR) throw client.error();
    this.#stream.noteIds(client);
  }

  /**
   * On the wait box: waits until record `id` exists (FLAG_DURABLE: is durable), or with `wait`
   * false only asks for the ids now. False when, without `wait`, the record is not there yet.
   */
  async #waitFor(id: number, flags: number, wait: boolean, signal: AbortSignal | undefined): Promise<boolean> {
    const client = (this.#wait ??= BoardClient.claim(this.#boxes[0].board));
    if (client.pending) await client.reply(); // an aborted wait's answer
    if (this.#closed) throw AofError.closed('reader');
    client.post(wait ? Op.WAIT : Op.STAT, this.#stream.name, id, flags);
    const reply = client.reply();
    let status: number;
    try {
      status = signal === undefined ? await reply : await untilAborted(reply, signal);
    } catch (err) {
      client.cancel();
      throw err;
    }
    if (status === Status.CANCELLED) throw AofError.closed('reader');
    this.#checkReply(client, status);
    return (flags & FLAG_DURABLE) !== 0 ? id <= this.#stream.durableId : true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cur = null;
    this.#runs = [];
    for (const box of this.#boxes) box.release();
    this.#wait?.release();
    this.#stream.readerClosed(this);
  }
}

