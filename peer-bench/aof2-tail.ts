/**
 * The aof2 side of the live-tail peer (peer-bench/redis-streams.ts): the workload of
 * tail-workload.ts through one stream of a manager at default options (`fsync: 'interval'` every
 * 1,000 ms, zstd Tier 1, no Tier 2: what a user gets), in this process.
 *
 * - Writer ({@link Aof2TailWriter}, also the writer of the read-only side, read-only-tail.ts):
 *   `log.appendSync(record)` per record; a WouldBlock is waited out with `await log.append()` of
 *   that record and the rest of the turn (the record's stamp was taken before the first try, so
 *   the wait counts in its latency).
 * - Consumer: `for await (const record of log.follow({ from: log.nextId, signal }))`, started before
 *   the window's first append; it waits at the tail without polling (issue 15). Records are read as
 *   appended, not only once durable (`durable` is not set): Redis's XREAD also sees an entry as
 *   soon as XADD has applied it, before any fsync. Payloads are copies the consumer owns
 *   (`follow`'s default), as the buffers of Redis's replies are.
 * - A window ends with `controller.abort()` once the consumer has seen every record; the
 *   iteration then rejects with the standard AbortError, which is the expected end.
 */
import { join } from 'node:path';
import { AofManager, WouldBlockError, type AofLog, type AofManagerOptions } from '../src/index.js';
import { pacedWrites } from '../native-free-bench/pacing.js';
import { verification, type Verification } from '../native-free-bench/shared.js';
import { CATCH_UP_TIMEOUT_MS, countWindow, Delivery, StampedRecords, type TailSide, type TailTally } from './tail-workload.js';

/** The stream both aof2 sides write. */
export const TAIL_STREAM = 'live-tail';

/** One aof2 manager and stream written with the workload's stamped records, paced. */
export class Aof2TailWriter {
  readonly records = new StampedRecords();
  readonly manager: AofManager;
  readonly log: AofLog;

  private constructor(manager: AofManager, log: AofLog) {
    this.manager = manager;
    this.log = log;
  }

  /** Opens a manager with `options` (defaults otherwise) on `root` and its stream {@link TAIL_STREAM}. */
  static async open(root: string, options: Partial<AofManagerOptions> = {}): Promise<Aof2TailWriter> {
    const manager = await AofManager.open({ ...options, root });
    try {
      return new Aof2TailWriter(manager, await manager.openStream(TAIL_STREAM));
    } catch (err) {
      await manager.close().catch(() => undefined);
      throw err;
    }
  }

  /** Writes `ms` worth of records at `rate`/s (native-free-bench/pacing.ts); resolves with the wall time in ns. */
  paced(ms: number, rate: number): Promise<number> {
    return pacedWrites(ms, rate, (due) => this.#write(due));
  }

  #write(due: number): void | Promise<void> {
    for (let i = 0; i < due; i++) {
      const record = this.records.next();
      try {
        this.log.appendSync(record);
      } catch (err) {
        if (!(err instanceof WouldBlockError)) throw err;
        return this.#writeWaiting(record, due - i - 1);
      }
    }
    return undefined;
  }

  /** The WouldBlock path: `record`, then `rest` more, each through `await append()`. */
  async #writeWaiting(record: Buffer, rest: number): Promise<void> {
    await this.log.append(record);
    for (let i = 0; i < rest; i++) await this.log.append(this.records.next());
  }

  /** The stream's nextId is the count of records made (ids from 0). */
  verification(what: 'subject' | 'baseline'): Verification {
    return verification(what, this.records.made, this.log.nextId, "the stream's nextId (records appended, ids from 0)");
  }
}

export class Aof2FollowSide implements TailSide {
  readonly name = 'aof2 follow';
  readonly #writer: Aof2TailWriter;
  readonly delivery: Delivery;

  private constructor(writer: Aof2TailWriter) {
    this.#writer = writer;
    this.delivery = new Delivery(writer.records);
  }

  /** Opens a manager at default options on `<dir>/aof2` and its stream. */
  static async open(dir: string): Promise<Aof2FollowSide> {
    return new Aof2FollowSide(await Aof2TailWriter.open(join(dir, 'aof2')));
  }

  async window(ms: number, rate: number, tally: TailTally | null): Promise<void> {
    const { records, log } = this.#writer;
    const before = records.made;
    const controller = new AbortController();
    this.delivery.tally = tally;
    const consumer = this.#consume(log.nextId, controller.signal);
    // Awaited below; until then a failure must not count as unhandled.
    consumer.catch(() => undefined);
    try {
      const ns = await this.#writer.paced(ms, rate);
      await this.delivery.caughtUp(consumer, CATCH_UP_TIMEOUT_MS);
      countWindow(tally, records.made - before, ns);
    } finally {
      this.delivery.tally = null;
      controller.abort();
    }
    await consumer;
  }

  async #consume(from: number, signal: AbortSignal): Promise<void> {
    try {
      for await (const record of this.#writer.log.follow({ from, signal })) this.delivery.seen(record.payload);
    } catch (err) {
      if (signal.aborted && (err as Error).name === 'AbortError') return;
      throw err;
    }
  }

  verifications(what: 'subject' | 'baseline'): Verification[] {
    return [...this.delivery.verifications(what, 'log.follow()'), this.#writer.verification(what)];
  }

  async close(): Promise<void> {
    await this.#writer.manager.close();
  }
}
