/**
 * The consumer process of the read-only side of the live-tail peer (read-only-tail.ts; not a suite
 * itself). Forked with an IPC channel; it opens the writer's root read-only
 * (`AofManager.open({ root, readOnly: true })`, the writer's options otherwise) and, window by
 * window, follows the stream with `log.follow({ from, signal })`, checking each record as the
 * in-process consumers do (tail-workload.ts `Delivery`: each once, in order, every 1,000th byte for
 * byte) and recording its latency: `process.hrtime` here when the loop body sees the record, minus
 * the writer's `process.hrtime` stamped in it, both CLOCK_MONOTONIC on Linux (docs/decisions.md).
 *
 * Requests, answered in order, one at a time ({@link FollowerRequest}, {@link FollowerReply}):
 * `open`; `clock` (this process's clock now, for the parent's check); `follow` (start a window's
 * consumer); `caughtUp` (wait until `made` records were seen, stop the consumer, send the window's
 * histogram in HDR's compressed form and the running checks); `close`. A failure is answered with
 * `failed` and its message; the parent then ends the run.
 */
import { AofManager, type AofLog, type AofManagerOptions } from '../src/index.js';
import { CATCH_UP_TIMEOUT_MS, Delivery, StampedRecords, TailTally, type ExpectedRecords } from './tail-workload.js';
import { nowNs } from '../native-free-bench/shared.js';

/** What the parent asks. */
export type FollowerRequest =
  | { op: 'open'; root: string; stream: string; options: Partial<AofManagerOptions> }
  | { op: 'clock' }
  | { op: 'follow'; from: number; timed: boolean }
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
/** The window under way: its consumer, how to stop it, its latencies (null: a warm-up window). */
let window: { consumer: Promise<void>; controller: AbortController; tally: TailTally | null } | null = null;

async function consume(from: number, signal: AbortSignal): Promise<void> {
  try {
    for await (const record of log!.follow({ from, signal })) delivery.seen(record.payload);
  } catch (err) {
    if (signal.aborted && (err as Error).name === 'AbortError') return;
    throw err;
  }
}

async function handle(request: FollowerRequest): Promise<FollowerReply> {
  switch (request.op) {
    case 'open':
      manager = await AofManager.open({ ...request.options, root: request.root, readOnly: true });
      log = await manager.openStream(request.stream);
      return { op: 'ok' };
    case 'clock':
      return { op: 'clock', now: nowNs() };
    case 'follow': {
      const controller = new AbortController();
      const tally = request.timed ? new TailTally() : null;
      delivery.tally = tally;
      const consumer = consume(request.from, controller.signal);
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
