/**
 * cold-start: the latency of the first durable `append()` after `AofManager.open()` resolves,
 * against the steady-state durable append latency, in the same managers and the same run
 * (issue #12, "warm start").
 *
 * An iteration opens a manager on a fresh root with `fsync: 'always'` (so `append()` resolves once
 * the record is fdatasync'd), opens one stream, and times the first `await log.append(1 KiB)`:
 * whatever the engine still has to start (flush worker, pools, files) at that moment is in it.
 * Then 200 more appends, one at a time; appends 101 to 200 are the steady state (the issue's
 * "the hundredth"). Then close. Iterations alternate between the variants. The figure is the p50
 * over the iterations' first appends (the first append is timed once per open, so p99 is the worst
 * of a few dozen).
 *
 * Both sides are timed per operation. The rate of a side is 1 / its mean latency, so the ratio is
 * steady-state mean / first-append mean. Target (issue #12): p50 of the first append <= 5 ms.
 */
import { AofManager, type AofManagerOptions } from '../src/index.js';
import { patternPayload, tempRoot, TIERS_OFF, variantCase, verifyStream, type TierVariant } from './fixtures.js';
import { atMost, LatencyHistogram, measured, nowNs, pairTwins, ratioResult, type BenchResult, type Suite, type SuiteOptions, type Verification, summedVerifications } from './shared.js';

const SIZE = 1024;
const STREAM = 'cold-start';
/** Appends after the first; those past STEADY_FROM are the steady state. */
const FOLLOWING = 200;
const STEADY_FROM = 100;

interface Side {
  variant: TierVariant;
  first: LatencyHistogram;
  steady: LatencyHistogram;
  firstNs: number;
  steadyNs: number;
  steadyCount: number;
  openNs: LatencyHistogram;
  verified: Verification[][];
}

async function iteration(side: Side, payload: Uint8Array): Promise<void> {
  const { root, cleanup } = tempRoot('cold-start');
  try {
    const config: AofManagerOptions = { root, ...side.variant.options, fsync: 'always' };
    const o0 = nowNs();
    const manager = await AofManager.open(config);
    side.openNs.record(nowNs() - o0);
    let closed = false;
    try {
      const log = await manager.openStream(STREAM);
      const t0 = nowNs();
      await log.append(payload);
      const first = nowNs() - t0;
      side.first.record(first);
      side.firstNs += first;
      for (let i = 1; i <= FOLLOWING; i++) {
        const s0 = nowNs();
        await log.append(payload);
        if (i > STEADY_FROM) {
          const ns = nowNs() - s0;
          side.steady.record(ns);
          side.steadyNs += ns;
          side.steadyCount++;
        }
      }
      await manager.close();
      closed = true;
      side.verified.push(await verifyStream(config, STREAM, FOLLOWING + 1, payload));
    } finally {
      if (!closed) await manager.close().catch(() => undefined);
    }
  } finally {
    cleanup();
  }
}


/** The suite over `variants`: the opens alternate between them. */
export function coldStartSuite(variants: readonly TierVariant[]): Suite {
  return {
    name: 'cold-start',
    description: "first durable append() after open() resolves vs steady-state durable appends (fsync 'always', 1 KiB)",
    async run(options: SuiteOptions): Promise<BenchResult[]> {
      const opens = options.quick ? 5 : 20;
      const payload = patternPayload(SIZE);
      const suffix = (v: TierVariant): string => (variants.length > 1 ? `, ${v.label}` : '');
      const sides: Side[] = variants.map((variant) => ({
        variant,
        first: new LatencyHistogram('first append after open (each)'),
        steady: new LatencyHistogram('append (each)'),
        firstNs: 0,
        steadyNs: 0,
        steadyCount: 0,
        openNs: new LatencyHistogram('open'),
        verified: [],
      }));
      // One unrecorded open per variant first: module loading and JIT are the process's, not the open's.
      for (const side of sides) await iteration({ ...side, first: new LatencyHistogram('warmup'), steady: new LatencyHistogram('warmup'), openNs: new LatencyHistogram('warmup'), verified: [] }, payload);
      options.progress(`cold-start: ${opens} opens of a fresh root per side`);
      for (let i = 0; i < opens; i++) for (const side of sides) await iteration(side, payload);
      return pairTwins(
        sides.map((side) => {
          const subject = measured(`first append()${suffix(side.variant)}`, opens, side.firstNs, opens, side.first, { openP50Ms: side.openNs.summary().p50 / 1e6 });
          const baseline = measured(`steady-state append()${suffix(side.variant)}`, side.steadyCount, side.steadyNs, side.steadyCount, side.steady);
          const result = ratioResult({
            suite: 'cold-start',
            case: variantCase(`first durable append after open, 1 KiB`, side.variant, variants),
            subject,
            baseline,
            ratioOf: 'appends/s (1 / mean latency)',
            targets: [atMost('first append p50 ms', 5, subject.latency.p50 / 1e6)],
            verified: summedVerifications(side.verified, 'opens'),
            tiers: side.variant.setting,
            notes: [
              `${opens} opens of a fresh root (fsync 'always'): first append p50 ${(subject.latency.p50 / 1e6).toFixed(2)} ms, max ${(subject.latency.max / 1e6).toFixed(2)} ms; ` +
                `steady state (appends ${STEADY_FROM + 1}-${FOLLOWING} of each open) p50 ${(baseline.latency.p50 / 1e6).toFixed(2)} ms; open() itself p50 ${(side.openNs.summary().p50 / 1e6).toFixed(1)} ms`,
            ],
          });
          return result;
        }),
      );
    },
  };
}

/** native-free-bench's suite: tiers off. */
export const coldStart: Suite = coldStartSuite([TIERS_OFF]);
