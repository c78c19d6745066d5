/**
 * The read-only side of the live-tail peer (peer-bench/redis-streams.ts, issue 15: "from a
 * read-only process"): the writer is here, the consumer in another process.
 *
 * - Writer: aof2-tail.ts's {@link Aof2TailWriter} on a root of its own, paced as every side
 *   (native-free-bench/pacing.ts), with the manager options the case names (defaults, under which
 *   the writer writes at once once the follower announced itself; or `tier0.writeDelayMs: 0`, the
 *   setting docs/operations.md gives for a follower the writer cannot see).
 * - Consumer: tail-follower.ts in a child process (follower-process.ts: forked with an IPC
 *   channel, the shared clock checked at start): a read-only manager on the same root
 *   (`readOnly: true`, the writer's options otherwise) following the stream with `log.follow()`,
 *   woken by its `fs.watch` refreshes (docs/read-path.md). It checks each record and times it
 *   against the stamp the writer put in it; each timed window's histogram comes back over IPC in
 *   HDR's compressed form and is added to the tally here. Each timed window starts with half a
 *   second of untimed records (window()).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AofManagerOptions } from '../src/index.js';
import type { Verification } from '../native-free-bench/shared.js';
import { Aof2TailWriter, TAIL_STREAM } from './aof2-tail.js';
import { FollowerProcess } from './follower-process.js';
import { countWindow, type TailSide, type TailTally } from './tail-workload.js';

/** Untimed records at the head of each timed window (see window()). */
const LEAD_IN_MS = 500;

export class ReadOnlyFollowSide implements TailSide {
  readonly name: string;
  readonly #writer: Aof2TailWriter;
  readonly #follower: FollowerProcess;

  private constructor(name: string, writer: Aof2TailWriter, follower: FollowerProcess) {
    this.name = name;
    this.#writer = writer;
    this.#follower = follower;
  }

  /** Opens the writer on `<dir>/<label>` with `options` and starts the follower, which opens the root read-only with the same options. */
  static async open(dir: string, label: string, name: string, options: Partial<AofManagerOptions>): Promise<ReadOnlyFollowSide> {
    const root = join(dir, label);
    mkdirSync(root);
    const writer = await Aof2TailWriter.open(root, options);
    try {
      const follower = await FollowerProcess.start({ kind: 'aof2-read-only', root: writer.manager.config.root, stream: TAIL_STREAM, options });
      return new ReadOnlyFollowSide(name, writer, follower);
    } catch (err) {
      await writer.manager.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * A timed window starts with {@link LEAD_IN_MS} of records at the same rate, checked but not
   * timed: the follower has been idle while the other sides took their windows, and a follower of
   * a steady writer does not pay its first refreshes for each record (before the tail was
   * published into the arena, its hydrate threads also restarted there: the lead-in is kept so
   * figures stay comparable). The warm-up window (`tally` null) has none.
   */
  async window(ms: number, rate: number, tally: TailTally | null): Promise<void> {
    if (tally !== null) await this.#window(LEAD_IN_MS, rate, null);
    await this.#window(ms, rate, tally);
  }

  async #window(ms: number, rate: number, tally: TailTally | null): Promise<void> {
    const { records, log } = this.#writer;
    const before = records.made;
    await this.#follower.follow(log.nextId, tally !== null);
    const ns = await this.#writer.paced(ms, rate);
    await this.#follower.caughtUp(records.made, tally);
    countWindow(tally, records.made - before, ns);
  }

  verifications(what: 'subject' | 'baseline'): Verification[] {
    return [...this.#follower.verifications(what, this.#writer.records.made, 'log.follow() on a read-only manager in another process'), this.#writer.verification(what)];
  }

  /** Closes the follower, then the writer. */
  async close(): Promise<void> {
    try {
      await this.#follower.close();
    } finally {
      await this.#writer.manager.close();
    }
  }
}
