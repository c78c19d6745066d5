/**
 * The machine's idle cores, for the width controller (src/tier1/width-controller.ts): the idle
 * share of all cores' time between two readings of `os.cpus()`, times the number of cores. 1.5
 * means a core and a half's worth of time went unused.
 *
 * Cheap by construction: `os.cpus()` (one read of /proc/stat on Linux, a few tens of µs) runs at
 * most once per SAMPLE_MS; Tier 1 reads once per compression task, never per append. A window is
 * the time since the previous sample, at least SAMPLE_MS: long after a quiet spell the first
 * window is long too, but the width only moves once the backlog reaches high water, many tasks
 * (and windows) into a burst.
 *
 * Limits: `os.cpus()` counts the host's cores. A process confined by a CPU quota (a container
 * with `cpus: 2` on a larger host) sees idle host cores it cannot use; the width is still capped by
 * os.availableParallelism() (affinity, not quota), and the level controller takes over once the
 * extra threads do not drain the backlog. Where `os.cpus()` reports nothing, the reading is 0 and
 * the pool keeps one thread.
 */
import { cpus, type CpuInfo } from 'node:os';

/** How the width controller reads idle cores (tests and the `compress.idlecores` failpoint give a fixed reading). */
export interface IdleCores {
  /** Idle cores over the latest window, 0 until a first window is complete. */
  read(): number;
  /**
   * Forgets the current reading; the next covers only time from now on. Called after a widen: the
   * reading before it did not see the new thread, and would let one idle core pay for two widens.
   */
  restart(): void;
}

/**
 * Shortest window: 100 ms holds 10 scheduler ticks per core at Linux's usual 100 Hz accounting, so
 * a reading is not one tick's noise, and is short next to a burst that fills the raw backlog budget.
 */
export const SAMPLE_MS = 100;

interface Totals {
  readonly cores: number;
  readonly idle: number;
  readonly total: number;
}

function totals(infos: readonly CpuInfo[]): Totals {
  let idle = 0;
  let total = 0;
  for (const { times } of infos) {
    idle += times.idle;
    total += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { cores: infos.length, idle, total };
}

/** Idle cores measured from `os.cpus()` time counters (injectable, with the clock, for tests). */
export class IdleCoreSampler implements IdleCores {
  readonly #cpuTimes: () => readonly CpuInfo[];
  readonly #now: () => number;
  #from: Totals | null = null;
  #fromAt = 0;
  #reading = 0;

  constructor(cpuTimes: () => readonly CpuInfo[] = cpus, now: () => number = () => performance.now()) {
    this.#cpuTimes = cpuTimes;
    this.#now = now;
  }

  read(): number {
    const at = this.#now();
    if (this.#from === null) {
      this.#start(at);
      return this.#reading;
    }
    if (at - this.#fromAt < SAMPLE_MS) return this.#reading;
    const to = totals(this.#cpuTimes());
    const idle = to.idle - this.#from.idle;
    const total = to.total - this.#from.total;
    // A core taken offline (or brought online) between the samples, or counters that went back
    // (seen on some VMs): no reading from this window.
    this.#reading = to.cores === this.#from.cores && total > 0 && idle >= 0 ? Math.min(to.cores, (idle / total) * to.cores) : 0;
    this.#from = to;
    this.#fromAt = at;
    return this.#reading;
  }

  restart(): void {
    this.#start(this.#now());
  }

  #start(at: number): void {
    this.#from = totals(this.#cpuTimes());
    this.#fromAt = at;
    this.#reading = 0;
  }
}

/** A reading that never changes: the `compress.idlecores=<n>` failpoint (workers/failpoints.ts), and tests. */
export function fixedIdleCores(cores: number): IdleCores {
  return { read: () => cores, restart: () => undefined };
}
