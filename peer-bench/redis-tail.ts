/**
 * The Redis Streams side of the live-tail peer (peer-bench/redis-streams.ts): the workload of
 * tail-workload.ts through ioredis against a redis-server this benchmark started.
 *
 * - Writer: one connection; `XADD key * d <100 B>` per record, each its own command written to the
 *   socket as it is issued (ioredis's default, no auto-pipelining): what a service calling
 *   `redis.xadd()` per event does. Replies are not awaited one by one (a service handling
 *   concurrent requests does not serialise them); every reply is checked before the window ends.
 *   The pipelined variant queues a turn's XADDs in one `pipeline()` and sends them with `exec()`:
 *   one write per turn of the pacing loop, what a service that batches on purpose does.
 * - Consumer: a second connection, `XREAD COUNT 1000 BLOCK 0 STREAMS key <last id>` in a loop,
 *   replies as buffers (`xreadBuffer`), the next call from the last id seen.
 * - Each window writes a stream of its own (a new key), ended by an end-marker entry that stops the
 *   consumer, then counted (XLEN) and deleted, untimed.
 */
import { verification, type Verification } from '../native-free-bench/shared.js';
import type { PeerLibraries, RedisClient, RedisOptions } from './libraries.js';
import type { RedisServer } from './redis-server.js';
import { pacedWrites } from '../native-free-bench/pacing.js';
import { CATCH_UP_TIMEOUT_MS, countWindow, Delivery, StampedRecords, type TailSide, type TailTally } from './tail-workload.js';

/** Entries per XREAD reply at most. */
const XREAD_COUNT = 1000;
const RECORD_FIELD = 'd';
/** The end marker's field: a name of another length than {@link RECORD_FIELD}'s, told apart by length. */
const END_FIELD = 'end';
const EMPTY = Buffer.alloc(0);

export class RedisTailSide implements TailSide {
  readonly name: string;
  readonly #records = new StampedRecords();
  readonly delivery = new Delivery(this.#records);
  readonly #writer: RedisClient;
  readonly #reader: RedisClient;
  readonly #pipelined: boolean;
  #windows = 0;
  /** XLEN of every window's stream, end markers excluded, summed. */
  #stored = 0;
  /** XADD (or pipeline) replies not yet in, the first failure among them, and who waits for them. */
  #pending = 0;
  #failure: Error | null = null;
  #drained: (() => void) | null = null;

  private constructor(name: string, writer: RedisClient, reader: RedisClient, pipelined: boolean) {
    this.name = name;
    this.#writer = writer;
    this.#reader = reader;
    this.#pipelined = pipelined;
  }

  /** Opens the writer's and the consumer's connections to `server`. */
  static async open(libraries: PeerLibraries, server: RedisServer, name: string, pipelined: boolean): Promise<RedisTailSide> {
    const options: RedisOptions = {
      host: '127.0.0.1',
      port: server.port,
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      enableAutoPipelining: false,
    };
    const writer = new libraries.Redis(options);
    const reader = new libraries.Redis(options);
    try {
      await writer.connect();
      await reader.connect();
    } catch (err) {
      writer.disconnect();
      reader.disconnect();
      throw err;
    }
    return new RedisTailSide(name, writer, reader, pipelined);
  }

  async window(ms: number, rate: number, tally: TailTally | null): Promise<void> {
    const key = `aof2-peer-tail-${this.#windows++}`;
    const before = this.#records.made;
    this.delivery.tally = tally;
    const consumer = this.#consume(key);
    // Awaited below; until then a failure must not count as unhandled.
    consumer.catch(() => undefined);
    try {
      const ns = await pacedWrites(ms, rate, (due) => this.#write(key, due));
      await this.#acknowledged();
      await this.delivery.caughtUp(consumer, CATCH_UP_TIMEOUT_MS);
      countWindow(tally, this.#records.made - before, ns);
    } finally {
      this.delivery.tally = null;
    }
    await this.#writer.xadd(key, '*', END_FIELD, EMPTY);
    await consumer;
    this.#stored += (await this.#writer.xlen(key)) - 1;
    await this.#writer.del(key);
  }

  #write(key: string, due: number): void {
    if (this.#pipelined) {
      const pipeline = this.#writer.pipeline();
      for (let i = 0; i < due; i++) pipeline.xadd(key, '*', RECORD_FIELD, this.#records.next());
      this.#track(
        pipeline.exec().then((replies) => {
          const failed = replies?.find(([err]) => err !== null);
          if (replies === null || failed !== undefined) throw failed?.[0] ?? new Error('pipeline exec returned null');
        }),
      );
    } else {
      for (let i = 0; i < due; i++) this.#track(this.#writer.xadd(key, '*', RECORD_FIELD, this.#records.next()));
    }
  }

  #track(reply: Promise<unknown>): void {
    this.#pending++;
    reply.then(
      () => this.#settled(),
      (err: Error) => {
        this.#failure ??= err;
        this.#settled();
      },
    );
  }

  #settled(): void {
    if (--this.#pending === 0 && this.#drained !== null) {
      this.#drained();
      this.#drained = null;
    }
  }

  /** Resolves once every XADD so far has its reply; rejects with the first failed one. */
  async #acknowledged(): Promise<void> {
    if (this.#pending > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    if (this.#failure !== null) throw new Error(`XADD failed: ${this.#failure.message}`, { cause: this.#failure });
  }

  /** Reads `key` from its start until the end marker. */
  async #consume(key: string): Promise<void> {
    let last: string | Buffer = '0-0';
    for (;;) {
      const reply = await this.#reader.xreadBuffer('COUNT', XREAD_COUNT, 'BLOCK', 0, 'STREAMS', key, last);
      const entries = reply?.[0]?.[1];
      if (entries === undefined || entries.length === 0) continue;
      for (const [, fields] of entries) {
        if (fields[0]!.length !== RECORD_FIELD.length) return;
        this.delivery.seen(fields[1]!);
      }
      last = entries[entries.length - 1]![0];
    }
  }

  verifications(what: 'subject' | 'baseline'): Verification[] {
    return [
      ...this.delivery.verifications(what, 'XREAD BLOCK'),
      verification(what, this.#records.made, this.#stored, "XLEN of each window's stream (end marker excluded), summed"),
    ];
  }

  async close(): Promise<void> {
    // The consumer may be blocked in XREAD BLOCK 0: close both at once rather than QUIT.
    this.#writer.disconnect();
    this.#reader.disconnect();
  }
}
