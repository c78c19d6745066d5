/**
 * The pacer of the live-tail benchmarks (issue 15): native-free-bench/live-tail.ts, the writer
 * child of native-free-bench/read-only.ts, and every side of peer-bench/redis-streams.ts write
 * through it, so their latencies come from one writing pattern.
 *
 * Records are written on `setImmediate` turns. Each turn writes the records due since the window
 * began (elapsed time x rate, less what was written: at 100,000/s 1-3 per turn), at most
 * {@link MAX_PER_TURN} when a turn came late, so the writer catches up in small batches rather than
 * one burst, and the consumer's I/O gets its turn in between. The worker-readers suite's writer
 * passes a larger cap: at its 1,000,000 records/s a turn 32 µs late already owes 32 records. A
 * write that returns a promise (an append that must wait: aof2's WouldBlock path) is awaited before
 * the next turn. A writer whose writes cost more than the pace allows falls behind: the window
 * lasts longer than asked, and its rate (records / wall time) shows by how much.
 *
 * Turns come from `setImmediate`, not a timer: a 1 ms timer would write a millisecond's records at
 * once (100 at 100,000/s), and that burst, not the store, would set the consumer's latency.
 */
import { nowNs } from './shared.js';

/** Most records one turn writes when it is late. */
export const MAX_PER_TURN = 32;

/**
 * Runs `write(n)` on `setImmediate` turns until `ms` worth of records at `rate`/s are written, `n`
 * being the records owed since the start (1 to `maxPerTurn`, by default {@link MAX_PER_TURN};
 * turns owing none call nothing); resolves with the window's wall time in ns, which exceeds `ms`
 * when the writes cannot keep the pace. Rejects with what `write` threw or rejected with.
 */
export function pacedWrites(ms: number, rate: number, write: (n: number) => void | Promise<void>, maxPerTurn = MAX_PER_TURN): Promise<number> {
  return new Promise((resolve, reject) => {
    const total = Math.round((rate * ms) / 1000);
    const t0 = nowNs();
    let done = 0;
    const next = (n: number): void => {
      done += n;
      if (done >= total) resolve(nowNs() - t0);
      else setImmediate(turn);
    };
    const turn = (): void => {
      const n = Math.max(0, Math.min(maxPerTurn, Math.min(total, Math.floor(((nowNs() - t0) * rate) / 1e9)) - done));
      let written: void | Promise<void>;
      try {
        written = n > 0 ? write(n) : undefined;
      } catch (err) {
        reject(err as Error);
        return;
      }
      if (written === undefined) next(n);
      else written.then(() => next(n), reject);
    };
    setImmediate(turn);
  });
}
