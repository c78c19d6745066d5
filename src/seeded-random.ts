/**
 * The one seeded pseudo-random generator of the project: the demo workload (`src/cli/workload.ts`)
 * draws from it, and so do the tests, the chaos scenarios and the benchmarks (through `support/`
 * and directly). It lives in `src/` because the shipped demo needs it; `support/` is not shipped.
 *
 * mulberry32: 32 bits of state, one multiply-xorshift round per draw. Tiny and fast, and good
 * enough for workloads and test choices; not for cryptography. The same seed gives the same
 * sequence on every machine and Node version (only 32-bit integer arithmetic), which is what makes
 * a failing chaos run or a benchmark dataset replayable from its seed.
 */

/**
 * A generator of numbers in [0, 1) determined by `seed` (taken as an unsigned 32-bit integer).
 * Each call to the returned function advances its own private state; generators never share state.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
