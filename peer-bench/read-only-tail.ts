/**
 * The read-only side of the live-tail peer (peer-bench/redis-streams.ts, issue 15: "from a
 * read-only process"): the writer is here, the consumer in another process.
 *
 * - Writer: aof2-tail.ts's {@link Aof2TailWriter} on a root of its own, paced as every side
 *   (native-free-bench/pacing.ts), with the manager options the case names (defaults, or
 *   `tier0.writeDelayMs: 0`, the setting docs/operations.md gives for another process reading the
 *   segment files).
 * - Consumer: read-only-follower.ts, forked with an IPC channel: a read-only manager on the same
 *   root (`readOnly: true`, the writer's options otherwise) following the stream with
 *   `log.follow()`, woken by its `fs.watch` refreshes (docs/read-path.md). It checks each record
 *   and times it against the stamp the writer put in it; each timed window's histogram comes back
 *   over IPC in HDR's compressed form and is added to the tally here. Each timed window starts
 *   with half a second of untimed records (window(): the follower's threads restarting after the
 *   other sides' windows is not what a steady follower pays).
 * - Clock: both processes stamp and read `process.hrtime`, which is CLOCK_MONOTONIC on Linux: one
 *   clock for the machine, so no offset to correct (docs/decisions.md). Checked at open: in each of
 *   {@link CLOCK_CHECKS} round trips the child's reading must lie between the parent's readings
 *   before the request and after the reply; a clock of its own per process would fail that by its
 *   offset. The check is one of the side's verifications.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AofManagerOptions } from '../src/index.js';
import { nowNs, verification, type Verification } from '../native-free-bench/shared.js';
import { Aof2TailWriter, TAIL_STREAM } from './aof2-tail.js';
import type { DeliveryCounts, FollowerReply, FollowerRequest } from './read-only-follower.js';
import { countWindow, type TailSide, type TailTally } from './tail-workload.js';

const CHILD = fileURLToPath(new URL('./read-only-follower.js', import.meta.url));
/** Round trips of the clock check. */
const CLOCK_CHECKS = 100;
/** Untimed records at the head of each timed window (see window()). */
const LEAD_IN_MS = 500;
/** How long close() lets the follower exit by itself. */
const EXIT_WAIT_MS = 5000;

export class ReadOnlyFollowSide implements TailSide {
  readonly name: string;
  readonly #writer: Aof2TailWriter;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #waiting: ((reply: FollowerReply) => void) | null = null;
  #exit: Error | null = null;
  #counts: DeliveryCounts = { delivered: 0, inOrder: 0, sampled: 0, matched: 0 };
  #clockOk = 0;

  private constructor(name: string, writer: Aof2TailWriter, child: ChildProcess) {
    this.name = name;
    this.#writer = writer;
    this.#child = child;
    // One request at a time: each reply answers the request waiting.
    child.on('message', (reply: FollowerReply) => {
      const waiting = this.#waiting;
      this.#waiting = null;
      waiting?.(reply);
    });
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = new Error(`the read-only follower process exited (${signal ?? `code ${code}`})`);
        const waiting = this.#waiting;
        this.#waiting = null;
        waiting?.({ op: 'failed', message: this.#exit.message });
        resolve();
      });
    });
  }

  /**
   * Opens the writer on `<dir>/<label>` with `options` and forks the follower, which opens the root
   * read-only with the same options; then checks the clock.
   */
  static async open(dir: string, label: string, name: string, options: Partial<AofManagerOptions>): Promise<ReadOnlyFollowSide> {
    const root = join(dir, label);
    mkdirSync(root);
    const writer = await Aof2TailWriter.open(root, options);
    // The child's stdout goes to our stderr: stdout carries the runner's --json document.
    const child = fork(CHILD, [], { stdio: ['ignore', 2, 2, 'ipc'] });
    const side = new ReadOnlyFollowSide(name, writer, child);
    try {
      await side.#request({ op: 'open', root: writer.manager.config.root, stream: TAIL_STREAM, options });
      for (let i = 0; i < CLOCK_CHECKS; i++) {
        const before = nowNs();
        const reply = await side.#request({ op: 'clock' });
        const after = nowNs();
        if (reply.op === 'clock' && before <= reply.now && reply.now <= after) side.#clockOk++;
      }
      return side;
    } catch (err) {
      await side.close().catch(() => undefined);
      throw err;
    }
  }

  /** Sends `request` and resolves with its reply; rejects with the child's failure. */
  async #request(request: FollowerRequest): Promise<FollowerReply> {
    if (this.#exit !== null) throw this.#exit;
    const reply = await new Promise<FollowerReply>((resolve) => {
      this.#waiting = resolve;
      this.#child.send(request);
    });
    if (reply.op === 'failed') throw new Error(`read-only follower: ${reply.message}`);
    return reply;
  }

  /**
   * A timed window starts with {@link LEAD_IN_MS} of records at the same rate, checked but not
   * timed: the follower's hydrate threads end after a second idle (docs/read-path.md), which it is
   * while the other sides take their windows, and a follower of a steady writer does not restart
   * them for each record. The warm-up window (`tally` null) has none.
   */
  async window(ms: number, rate: number, tally: TailTally | null): Promise<void> {
    if (tally !== null) await this.#window(LEAD_IN_MS, rate, null);
    await this.#window(ms, rate, tally);
  }

  async #window(ms: number, rate: number, tally: TailTally | null): Promise<void> {
    const { records, log } = this.#writer;
    const before = records.made;
    await this.#request({ op: 'follow', from: log.nextId, timed: tally !== null });
    const ns = await this.#writer.paced(ms, rate);
    const reply = await this.#request({ op: 'caughtUp', made: records.made });
    if (reply.op !== 'window') throw new Error(`read-only follower: answered ${reply.op} to caughtUp`);
    this.#counts = reply.counts;
    if (tally !== null && reply.histogram !== null) tally.histogram.addEncoded(reply.histogram);
    countWindow(tally, records.made - before, ns);
  }

  verifications(what: 'subject' | 'baseline'): Verification[] {
    const made = this.#writer.records.made;
    const { delivered, inOrder, sampled, matched } = this.#counts;
    return [
      verification(what, made, delivered, 'log.follow() on a read-only manager in another process delivered as many records as were appended'),
      verification(what, delivered, inOrder, 'each one the next in sequence (no gap, repeat or reordering)'),
      verification(what, sampled, matched, 'compared every 1,000th payload byte for byte'),
      this.#writer.verification(what),
      verification(what, CLOCK_CHECKS, this.#clockOk, "clock check: the child's process.hrtime between the parent's readings around each round trip"),
    ];
  }

  /** Closes the follower (it exits once its manager is closed; killed if not within {@link EXIT_WAIT_MS}), then the writer. */
  async close(): Promise<void> {
    try {
      if (this.#exit === null) await this.#request({ op: 'close' });
    } finally {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, EXIT_WAIT_MS)))]);
      clearTimeout(timer);
      if (this.#exit === null) this.#child.kill();
      await this.#writer.manager.close();
    }
  }
}
