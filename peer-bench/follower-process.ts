/**
 * A consumer of the live-tail workload in a child process (tail-follower.ts), driven over IPC by
 * the side that writes in this process: the read-only side (read-only-tail.ts) and the Redis side
 * whose consumer runs apart from its writer (redis-tail.ts).
 *
 * One request at a time, each answered in order ({@link FollowerRequest}). After the open, the
 * clock is checked: both processes stamp and read `process.hrtime`, which is CLOCK_MONOTONIC on
 * Linux, one clock for the machine (docs/decisions.md, "The cross-process tail latency is timed
 * on CLOCK_MONOTONIC"); in each of {@link CLOCK_CHECKS} round trips the child's reading must lie
 * between this process's readings before the request and after the reply, which a clock of its
 * own per process would fail by its offset. The count is one of the side's verifications.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nowNs, verification, type Verification } from '../native-free-bench/shared.js';
import type { DeliveryCounts, FollowerReply, FollowerRequest, FollowerSource } from './tail-follower.js';
import type { TailTally } from './tail-workload.js';

const CHILD = fileURLToPath(new URL('./tail-follower.js', import.meta.url));
/** Round trips of the clock check. */
const CLOCK_CHECKS = 100;
/** How long close() lets the child exit by itself before killing it. */
const EXIT_WAIT_MS = 5000;

export class FollowerProcess {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #waiting: ((reply: FollowerReply) => void) | null = null;
  #exit: Error | null = null;
  #clockOk = 0;
  /** What the consumer has seen so far, as its last window reported. */
  counts: DeliveryCounts = { delivered: 0, inOrder: 0, sampled: 0, matched: 0 };

  private constructor(child: ChildProcess) {
    this.#child = child;
    // One request at a time: each reply answers the request waiting.
    child.on('message', (reply: FollowerReply) => {
      const waiting = this.#waiting;
      this.#waiting = null;
      waiting?.(reply);
    });
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = new Error(`the follower process exited (${signal ?? `code ${code}`})`);
        const waiting = this.#waiting;
        this.#waiting = null;
        waiting?.({ op: 'failed', message: this.#exit.message });
        resolve();
      });
    });
  }

  /** Forks the child, has it open `source`, checks the clock. */
  static async start(source: FollowerSource): Promise<FollowerProcess> {
    // The child's stdout goes to our stderr: stdout carries the runner's --json document.
    const follower = new FollowerProcess(fork(CHILD, [], { stdio: ['ignore', 2, 2, 'ipc'] }));
    try {
      await follower.#request({ op: 'open', source });
      for (let i = 0; i < CLOCK_CHECKS; i++) {
        const before = nowNs();
        const reply = await follower.#request({ op: 'clock' });
        const after = nowNs();
        if (reply.op === 'clock' && before <= reply.now && reply.now <= after) follower.#clockOk++;
      }
      return follower;
    } catch (err) {
      await follower.close().catch(() => undefined);
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
    if (reply.op === 'failed') throw new Error(`follower process: ${reply.message}`);
    return reply;
  }

  /** Starts a window's consumer at `from` (aof2: an id; Redis: a stream key), timed or not. */
  async follow(from: number | string, timed: boolean): Promise<void> {
    await this.#request({ op: 'follow', from, timed });
  }

  /**
   * Waits until the consumer has seen `made` records (and, Redis, the end marker), stops it, and
   * adds the window's latencies to `tally` (null: an untimed window).
   */
  async caughtUp(made: number, tally: TailTally | null): Promise<void> {
    const reply = await this.#request({ op: 'caughtUp', made });
    if (reply.op !== 'window') throw new Error(`follower process: answered ${reply.op} to caughtUp`);
    this.counts = reply.counts;
    if (tally !== null && reply.histogram !== null) tally.histogram.addEncoded(reply.histogram);
  }

  /** The consumer's checks over every window, for `made` records written, `via` naming the consumer. */
  verifications(what: 'subject' | 'baseline', made: number, via: string): Verification[] {
    const { delivered, inOrder, sampled, matched } = this.counts;
    return [
      verification(what, made, delivered, `${via} delivered as many records as were appended`),
      verification(what, delivered, inOrder, 'each one the next in sequence (no gap, repeat or reordering)'),
      verification(what, sampled, matched, 'compared every 1,000th payload byte for byte'),
      verification(what, CLOCK_CHECKS, this.#clockOk, "clock check: the child's process.hrtime between this process's readings around each round trip"),
    ];
  }

  /** Closes the child's store (it exits then; killed if not within {@link EXIT_WAIT_MS}). */
  async close(): Promise<void> {
    try {
      if (this.#exit === null) await this.#request({ op: 'close' });
    } finally {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, EXIT_WAIT_MS)))]);
      clearTimeout(timer);
      if (this.#exit === null) this.#child.kill();
    }
  }
}
