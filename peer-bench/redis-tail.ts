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
 *   replies as buffers (`xreadBuffer`), the next call from the last id seen
 *   ({@link readRedisStream}). In this process, or, for the like-for-like of the read-only side,
 *   in a child process (tail-follower.ts through follower-process.ts), whose checks and
 *   latencies come back over IPC.
 * - Each window writes a stream of its own (a new key), ended by an end-marker entry that stops the
 *   consumer, then counted (XLEN) and deleted, untimed.
 */
import { verification, type Verification } from '../native-free-bench/shared.js';
import type { FollowerProcess } from './follower-process.js';
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

/** Opens a connection to the redis-server on loopback `port` (no offline queue, no reconnect, no auto-pipelining). */
export async function openRedisConnection(Redis: PeerLibraries['Redis'], port: number): Promise<RedisClient> {
  const options: RedisOptions = {
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    enableAutoPipelining: false,
  };
  const client = new Redis(options);
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw err;
  }
  return client;
}

/** The consumer: reads `key` from its start until the end marker, each record to `delivery`. */
export async function readRedisStream(reader: RedisClient, key: string, delivery: Delivery): Promise<void> {
  let last: string | Buffer = '0-0';
  for (;;) {
    const reply = await reader.xreadBuffer('COUNT', XREAD_COUNT, 'BLOCK', 0, 'STREAMS', key, last);
    const entries = reply?.[0]?.[1];
    if (entries === undefined || entries.length === 0) continue;
    for (const [, fields] of entries) {
      if (fields[0]!.length !== RECORD_FIELD.length) return;
      delivery.seen(fields[1]!);
    }
    last = entries[entries.length - 1]![0];
  }
}

export class RedisTailSide implements TailSide {
  readonly name: string;
  readonly #records = new StampedRecords();
  readonly delivery = new Delivery(this.#records);
  readonly #writer: RedisClient;
  /** The consumer: a connection in this process, or (null here) the child process {@link #follower}. */
  readonly #reader: RedisClient | null;
  readonly #follower: FollowerProcess | null;
  readonly #pipelined: boolean;
  #windows = 0;
  /** XLEN of every window's stream, end markers excluded, summed. */
  #stored = 0;
  /** XADD (or pipeline) replies not yet in, the first failure among them, and who waits for them. */
  #pending = 0;
  #failure: Error | null = null;
  #drained: (() => void) | null = null;

  private constructor(name: string, writer: RedisClient, reader: RedisClient | null, follower: FollowerProcess | null, pipelined: boolean) {
    this.name = name;
    this.#writer = writer;
    this.#reader = reader;
    this.#follower = follower;
    this.#pipelined = pipelined;
  }

  /**
   * Opens the writer's connection to `server`, and the consumer's: a second connection here, or
   * `consumer`, a child process already connected to `server` (it is closed with this side).
   */
  static async open(libraries: PeerLibraries, server: RedisServer, name: string, pipelined: boolean, consumer: FollowerProcess | null = null): Promise<RedisTailSide> {
    const writer = await openRedisConnection(libraries.Redis, server.port);
    try {
      const reader = consumer === null ? await openRedisConnection(libraries.Redis, server.port) : null;
      return new RedisTailSide(name, writer, reader, consumer, pipelined);
    } catch (err) {
      writer.disconnect();
      throw err;
    }
  }

  async window(ms: number, rate: number, tally: TailTally | null): Promise<void> {
    const key = `aof2-peer-tail-${this.#windows++}`;
    const before = this.#records.made;
    const follower = this.#follower;
    if (follower !== null) {
      await follower.follow(key, tally !== null);
      const ns = await pacedWrites(ms, rate, (due) => this.#write(key, due));
      await this.#acknowledged();
      await this.#writer.xadd(key, '*', END_FIELD, EMPTY);
      await follower.caughtUp(this.#records.made, tally);
      countWindow(tally, this.#records.made - before, ns);
    } else {
      this.delivery.tally = tally;
      const consumer = readRedisStream(this.#reader!, key, this.delivery);
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
    }
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

  verifications(what: 'subject' | 'baseline'): Verification[] {
    const made = this.#records.made;
    return [
      ...(this.#follower === null ? this.delivery.verifications(what, 'XREAD BLOCK') : this.#follower.verifications(what, made, 'XREAD BLOCK in another process')),
      verification(what, made, this.#stored, "XLEN of each window's stream (end marker excluded), summed"),
    ];
  }

  async close(): Promise<void> {
    // The consumer may be blocked in XREAD BLOCK 0: close both at once rather than QUIT.
    this.#writer.disconnect();
    this.#reader?.disconnect();
    await this.#follower?.close();
  }
}
