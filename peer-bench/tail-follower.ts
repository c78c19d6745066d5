/**
 * The consumer process of the live-tail peer's cross-process sides (follower-process.ts drives it;
 * not a suite itself). Forked with an IPC channel, it opens one of two sources:
 *
 * - `aof2-read-only`: the writer's root read-only (`AofManager.open({ root, readOnly: true })`, the
 *   writer's options otherwise), and per window `log.follow({ from, signal })`, woken by its
 *   `fs.watch` refreshes (read-only-tail.ts);
 * - `redis`: a connection to the benchmark's redis-server, and per window the XREAD BLOCK loop of
 *   redis-tail.ts on the window's stream key, up to its end marker.
 *
 * Either way each record is checked as the in-process consumers do (tail-workload.ts `Delivery`:
 * each once, in order, every 1,000th byte for byte) and its latency recorded: `process.hrtime`
 * here when the loop body sees the record, minus the writer's `process.hrtime` stamped in it, both
 * CLOCK_MONOTONIC on Linux (docs/decisions.md).
 *
 * Requests, answered in order, one at a time: `open`; `clock` (this process's clock now, for the
 * parent's check); `follow` (start a window's consumer); `caughtUp` (wait until `made` records
 * were seen and the consumer ended or was stopped, send the window's histogram in HDR's
 * compressed form and the running checks); `close`. A failure is answered with `failed` and its
 * message; the parent then ends the run.
 */
import { AofManager, type AofLog, type AofManagerOptions } from '../src/index.js';
import { nowNs } from '../native-free-bench/shared.js';
import { loadRedis, type RedisClient } from './libraries.js';
import { openRedisConnection, readRedisStream } from './redis-tail.js';
import { CATCH_UP_TIMEOUT_MS, Delivery, StampedRecords, TailTally, type ExpectedRecords } from './tail-workload.js';

/** What the child follows. */
export type FollowerSource =
  | { kind: 'aof2-read-only'; root: string; stream: string; options: Partial<AofManagerOptions> }
  | { kind: 'redis'; port: number };

/** What the parent asks. `from`: the first id (aof2) or the window's stream key (Redis). */
export type FollowerRequest =
  | { op: 'open'; source: FollowerSource }
  | { op: 'clock' }
  | { op: 'follow'; from: number | string; timed: boolean }
  | { op: 'caughtUp'; made: number }
  | { op: 'close' };

/** What the consumer has seen so far, over every window (warm-up included). */
export interface DeliveryCounts {
  delivered: number;
  inOrder: number;
  sampled: number;
  matched: number;
}

/** The answer to each request, in order. */
export type FollowerReply =
  | { op: 'ok' }
  | { op: 'clock'; now: number }
  | { op: 'window'; histogram: string | null; counts: DeliveryCounts }
  | { op: 'failed'; message: string };

/** The records the parent made: their count as it last said, their bytes as this side makes them. */
class ParentRecords implements ExpectedRecords {
  readonly #pattern = new StampedRecords();
  made = 0;

  matches(payload: Uint8Array): boolean {
    return this.#pattern.matches(payload);
  }
}

const expected = new ParentRecords();
const delivery = new Delivery(expected);
let manager: AofManager | null = null;
let log: AofLog | null = null;
let redis: RedisClient | null = null;
/** The window under way: its consumer, how to stop it (aof2), its latencies (null: untimed). */
let window: { consumer: Promise<void>; controller: AbortController; tally: TailTally | null } | null = null;

/** aof2: follows from id `from` until `signal` aborts (the expected end). */
async function followLog(from: number, signal: AbortSignal): Promise<void> {
  try {
    for await (const record of log!.follow({ from, signal })) delivery.seen(record.payload);
  } catch (err) {
    if (signal.aborted && (err as Error).name === 'AbortError') return;
    throw err;
  }
}

async function handle(request: FollowerRequest): Promise<FollowerReply> {
  switch (request.op) {
    case 'open': {
      const source = request.source;
      if (source.kind === 'redis') {
        redis = await openRedisConnection(loadRedis(), source.port);
      } else {
        manager = await AofManager.open({ ...source.options, root: source.root, readOnly: true });
        log = await manager.openStream(source.stream);
      }
      return { op: 'ok' };
    }
    case 'clock':
      return { op: 'clock', now: nowNs() };
    case 'follow': {
      const controller = new AbortController();
      const tally = request.timed ? new TailTally() : null;
      delivery.tally = tally;
      const from = request.from;
      // Redis's loop ends at the window's end marker; aof2's when aborted.
      const consumer = typeof from === 'string' ? readRedisStream(redis!, from, delivery) : followLog(from, controller.signal);
      // Awaited at caughtUp; until then a failure must not count as unhandled.
      consumer.catch(() => undefined);
      window = { consumer, controller, tally };
      return { op: 'ok' };
    }
    case 'caughtUp': {
      const current = window!;
      window = null;
      expected.made = request.made;
      try {
        await delivery.caughtUp(current.consumer, CATCH_UP_TIMEOUT_MS);
      } finally {
        delivery.tally = null;
        current.controller.abort();
      }
      await current.consumer;
      const { delivered, inOrder, sampled, matched } = delivery;
      return { op: 'window', histogram: current.tally?.histogram.encode() ?? null, counts: { delivered, inOrder, sampled, matched } };
    }
    case 'close':
      await manager?.close();
      redis?.disconnect();
      return { op: 'ok' };
  }
}

// Requests are handled one after another, in the order they came.
let queue = Promise.resolve();
process.on('message', (request: FollowerRequest) => {
  queue = queue.then(async () => {
    let reply: FollowerReply;
    try {
      reply = await handle(request);
    } catch (err) {
      reply = { op: 'failed', message: (err as Error).stack ?? String(err) };
    }
    process.send!(reply);
    if (request.op === 'close') process.disconnect();
  });
});
