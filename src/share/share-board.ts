/**
 * The share board: the one place that declares the shared memory between a manager and the views
 * attached to it from worker threads (`manager.shareHandle()`, `AofManager.attach(handle)`;
 * docs/read-path.md, "Readers in worker threads").
 *
 * Records are never copied or messaged: a view reads frames straight from the owner's arena
 * (the handle carries its SharedArrayBuffer). What crosses the board is one request per run of
 * records: "lease me the run holding record N of stream S". The owner's main thread pins that run
 * on the view's behalf (only the owning thread ever touches pins, residency and eviction, so they
 * stay as correct as with readers on the main thread) and describes it; the view reads frames from
 * it until its end, then asks for the next one.
 *
 * One SharedArrayBuffer of Int32 words:
 * ```
 * word 0            DOORBELL  views: Atomics.add + notify after writing a request
 * word 16           CLOSED    owner: 1 once the manager closed (every box is then answered CLOSED)
 * word 32           STATS_LOCK  a view: held while the owner writes stats for it
 * byte HEADER_BYTES  MAX_BOXES boxes of BOX_BYTES, each one request at a time
 * byte STATS_AT      STATS_BYTES: the owner's stats() as JSON (Op.STATS)
 * ```
 * A box (a view's reader holds three: two leases, one wait):
 * ```
 * word  0  CLAIM   0 free; a view claims it with compareExchange 0 → 1; the owner frees it (RELEASE)
 * word  1  REQ     view: request sequence, bumped after the request's fields are written
 * word  2  DONE    owner: set to REQ after the reply's fields are written, then notified
 * word  3  OP      view: Op
 * word  4  FLAGS   view: FLAG_DURABLE, FLAG_RESIDENT
 * word  5  STATUS  owner: Status
 * word  6  NAME    view: stream name length (bytes of TEXT)
 * word  7  TEXT    owner: reply text length (an error as JSON, or listed names)
 * word  8  CANCEL  view: 1 to end a pending WAIT now (answered CANCELLED)
 * word  9  RUNS    owner: how many leased runs the reply holds (LEASE)
 * f64   6  ID      view: the record asked for (LIST: the first name's index)
 * f64  11  NEXT_ID, 12 FIRST_ID, 13 DURABLE_ID  owner: the stream's ids, as of the reply
 * byte TEXT_AT..BOX_BYTES  the stream name (request), the reply text, or (LEASE) RUNS runs of
 *                          RUN_FIELDS f64 each: SLOT (its STATE and WRITE_LEN words), BASE (arena
 *                          byte of segment byte 0), OFFSET (segment byte of its first record to
 *                          read), END (segment byte where its frames end, -1 = live: WRITE_LEN),
 *                          END_ID (first id past it, -1 = live); each run starts at the id the
 *                          one before ends at
 * ```
 * Ordering: a view writes a request only when DONE equals REQ (nothing outstanding), so the owner
 * and the view never write a box's fields at once; all handovers go through Atomics on REQ, DONE
 * and DOORBELL (sequentially consistent). The owner loads DOORBELL before it scans the boxes and
 * waits for a change of that value, so a request posted during the scan is never missed.
 */
export const W_DOORBELL = 0;
export const W_CLOSED = 16;
/** A view holds it (compareExchange 0 → 1) while the owner writes its stats into the stats area for it. */
export const W_STATS_LOCK = 32;
export const HEADER_BYTES = 256;
export const BOX_BYTES = 1024;
/** Boxes per manager: three per attached reader, so 341 readers across every view at once. */
export const MAX_BOXES = 1024;
/** The owner's `stats()` as JSON, for the view holding W_STATS_LOCK (Op.STATS). */
export const STATS_AT = HEADER_BYTES + MAX_BOXES * BOX_BYTES;
export const STATS_BYTES = 256 * 1024;
export const BOARD_BYTES = STATS_AT + STATS_BYTES;

export const B_CLAIM = 0;
export const B_REQ = 1;
export const B_DONE = 2;
export const B_OP = 3;
export const B_FLAGS = 4;
export const B_STATUS = 5;
export const B_NAME = 6;
export const B_TEXT = 7;
export const B_CANCEL = 8;
export const B_RUNS = 9;
export const F_ID = 6;
export const F_NEXT_ID = 11;
export const F_FIRST_ID = 12;
export const F_DURABLE_ID = 13;
export const TEXT_AT = 128;
export const TEXT_BYTES = BOX_BYTES - TEXT_AT;
/** A leased run's fields, in f64 after TEXT_AT: slot, base, offset, end, endId. */
export const RUN_FIELDS = 5;
/** Runs one lease reply holds at most (the text area holds 22). */
export const MAX_RUNS = 16;

export const Op = {
  /** Open a stream the owner has (no reply fields but the ids). */
  OPEN: 1,
  /** Lease the run holding record ID (FLAG_RESIDENT: answer once it is resident, not BLOCKED). */
  LEASE: 2,
  /** Answer once record ID exists (FLAG_DURABLE: once it is durable); CANCEL ends it early. */
  WAIT: 3,
  /** The stream's ids now. */
  STAT: 4,
  /** Unpin the box's run and free the box. */
  RELEASE: 5,
  /** Stream names from index ID, as many as fit in TEXT (NEXT_ID: how many there are). */
  LIST: 6,
  /** The owner's stats() as JSON in the stats area (TEXT: its length); the view holds W_STATS_LOCK. */
  STATS: 7,
} as const;

export const FLAG_DURABLE = 1;
export const FLAG_RESIDENT = 2;

export const Status = {
  OK: 1,
  /** LEASE: the record is at the tail (not appended yet). */
  TAIL: 2,
  /** LEASE without FLAG_RESIDENT: the run is being loaded; ask again. */
  BLOCKED: 3,
  /** An AofError, as JSON in TEXT. */
  ERROR: 4,
  /** The owning manager closed. */
  CLOSED: 5,
  /** WAIT ended by CANCEL. */
  CANCELLED: 6,
} as const;

/** Typed views of one board, the same on both sides. */
export class ShareBoard {
  readonly sab: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly u8: Uint8Array;

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.i32 = new Int32Array(sab);
    this.f64 = new Float64Array(sab);
    this.u8 = new Uint8Array(sab);
  }

  /** Index of word `word` of box `box` in {@link i32}. */
  word(box: number, word: number): number {
    return (HEADER_BYTES + box * BOX_BYTES) / 4 + word;
  }

  /** Index in {@link f64} of field `field` (0..RUN_FIELDS-1) of leased run `run` of box `box`. */
  runField(box: number, run: number, field: number): number {
    return (HEADER_BYTES + box * BOX_BYTES + TEXT_AT) / 8 + run * RUN_FIELDS + field;
  }

  /** Index of f64 field `field` of box `box` in {@link f64}. */
  field(box: number, field: number): number {
    return (HEADER_BYTES + box * BOX_BYTES) / 8 + field;
  }

  get closed(): boolean {
    return Atomics.load(this.i32, W_CLOSED) !== 0;
  }

  /** Writes `text` (UTF-8, cut to TEXT_BYTES) into the box's text area; returns its byte length. */
  writeText(box: number, text: string): number {
    const at = HEADER_BYTES + box * BOX_BYTES + TEXT_AT;
    return encoder.encodeInto(text, this.u8.subarray(at, at + TEXT_BYTES)).written;
  }

  /** Writes `json` into the stats area (cut to STATS_BYTES); returns its byte length. */
  writeStats(json: string): number {
    return encoder.encodeInto(json, this.u8.subarray(STATS_AT, STATS_AT + STATS_BYTES)).written;
  }

  readStats(length: number): string {
    return decoder.decode(this.u8.slice(STATS_AT, STATS_AT + length));
  }

  readText(box: number, length: number): string {
    const at = HEADER_BYTES + box * BOX_BYTES + TEXT_AT;
    return decoder.decode(this.u8.slice(at, at + length));
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
