/**
 * low-rate: what aof2 costs a process that appends a few thousand records a second (issue #12,
 * "cheap at low rates"). 5,000 `appendSync` calls per second of ~180 B JSON events
 * (events.ts), paced by a timer: every millisecond tick appends the events that are due, so the
 * engine sees small bursts of ~5 the way a service's requests arrive. A WouldBlock is waited out
 * with `await append()` of that event.
 *
 * Measured: process CPU (`process.cpuUsage()`: every thread, so the flush worker, pools and libuv
 * threads count) over a window, per append. Baseline: the same paced loop, building the same
 * events, without aof2 (no manager open). The figure is the difference per append; the rates are
 * appends per second of process CPU, so the ratio is baseline CPU / subject CPU. Each round runs
 * the baseline, then for each variant opens a manager on a fresh root (untimed), lets it settle,
 * runs two windows back to back, and closes it (untimed).
 *
 * Two windows, because the first one after `open()` carries one-time costs that a 3 s window
 * amortises badly: the new flush worker's code being compiled by V8 (its passes run 100 times a
 * second, so it tiers up over seconds: measured 3-4 µs per append in the first 3 s window, none
 * after), any prefault left (reported: MiB still to fault at the window's start), and in the
 * first round the main thread's JIT. The reported figure and the target are the second window's
 * (steady state); the first window's figure is printed beside it ("including start-up"). The
 * baseline runs a warm-up window too, so both sides are measured warm. In full mode the start-up
 * window lasts {@link STARTUP_MS_FULL}: long enough for the first 4 MiB segment to fill (~4.2 s at
 * this rate) and, with the tiers on, for its seal to start the Tier 1 compress thread (zstd binding
 * loaded) and the Tier 2 upload thread, ~250 ms of CPU once per pool start; at 5,000/s a segment
 * seals every ~4.2 s, well inside the pools' 30 s idle timeout, so those threads stay up after.
 *
 * Target (issue #12): at most 3 µs of CPU per append above the loop without aof2, steady state.
 */
import { AofManager, WouldBlockError, type AofLog, type AofManagerOptions } from '../src/index.js';
import { JsonEvents } from './events.js';
import { tempRoot, TIERS_OFF, variantCase, verifyEvents, type TierVariant } from './fixtures.js';
import { atMost, LatencyHistogram, measured, nowNs, pairTwins, ratioResult, type BenchResult, type Suite, type SuiteOptions, type Verification, summedVerifications } from './shared.js';

const RATE = 5000;
const STREAM = 'low-rate';
const SEED = 5000;
/** Idle time after open before the window: the engine's start-up work is not the steady cost. */
const SETTLE_MS = 300;
/** Full mode's start-up window: the first segment seals (and its pool threads start) inside it. */
const STARTUP_MS_FULL = 6000;
/**
 * Full mode's measured window: about the time one 4 MiB segment takes to fill at this rate (~200 B
 * frames at 5,000/s), so each window holds one seal, as the steady state does (a 3 s window from
 * 6 s always held the second seal, at ~8.4 s: 1.4 seals' worth of Tier 1/2 work per window).
 */
const STEADY_MS_FULL = 4200;

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

interface Window {
  iterations: number;
  cpuUs: number;
  wallNs: number;
}

/**
 * Runs `work(count)` from a 1 ms timer for `ms`, each tick with the events due since the start
 * (RATE per second); records each tick's time per event. Resolves with what it did.
 */
function paced(ms: number, work: (count: number) => void | Promise<void>, histogram: LatencyHistogram): Promise<Window> {
  return new Promise((resolve, reject) => {
    const cpu0 = cpuMicros();
    const t0 = nowNs();
    let done = 0;
    const tick = (): void => {
      const elapsed = nowNs() - t0;
      const due = Math.min(Math.floor((elapsed * RATE) / 1e9), Math.floor((ms * RATE) / 1000)) - done;
      const w0 = nowNs();
      Promise.resolve(due > 0 ? work(due) : undefined).then(() => {
        if (due > 0) {
          histogram.recordMany((nowNs() - w0) / due, due);
          done += due;
        }
        if (elapsed >= ms * 1e6) resolve({ iterations: done, cpuUs: cpuMicros() - cpu0, wallNs: nowNs() - t0 });
        else setTimeout(tick, 1);
      }, reject);
    };
    setTimeout(tick, 1);
  });
}

interface Side {
  variant: TierVariant;
  histogram: LatencyHistogram;
  appends: number;
  cpuUs: number;
  /** The first window after each open (start-up included): appends, CPU, arena MiB left to prefault at its start. */
  startAppends: number;
  startCpuUs: number;
  prefaultLeftMiB: number[];
  verified: Verification[][];
}

/** The loop's work with aof2: append the next `count` events. */
function appender(log: AofLog, events: JsonEvents): (count: number) => void | Promise<void> {
  let id = 0;
  const slow = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++, id++) {
      const payload = events.payload(id);
      try {
        log.appendSync(payload);
      } catch (err) {
        if (!(err instanceof WouldBlockError)) throw err;
        await log.append(payload);
      }
    }
  };
  return (count) => {
    const end = id + count;
    try {
      for (; id < end; id++) log.appendSync(events.payload(id));
    } catch (err) {
      if (!(err instanceof WouldBlockError)) throw err;
      // The event at `id` was not taken: the rest of this tick goes the awaiting way.
      return slow(end - id);
    }
    return undefined;
  };
}

async function subjectWindow(side: Side, events: JsonEvents, ms: number, startupMs: number): Promise<void> {
  const { root, cleanup } = tempRoot('low-rate');
  try {
    const config: AofManagerOptions = { root, ...side.variant.options };
    const manager = await AofManager.open(config);
    let closed = false;
    try {
      const log = await manager.openStream(STREAM);
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const { doneBytes, totalBytes } = manager.stats().prefault;
      side.prefaultLeftMiB.push((totalBytes - doneBytes) / 2 ** 20);
      const work = appender(log, events);
      const first = await paced(startupMs, work, new LatencyHistogram('append (tick mean), start-up'));
      side.startAppends += first.iterations;
      side.startCpuUs += first.cpuUs;
      const w = await paced(ms, work, side.histogram);
      side.appends += w.iterations;
      side.cpuUs += w.cpuUs;
      await manager.close();
      closed = true;
      side.verified.push(await verifyEvents(config, STREAM, first.iterations + w.iterations, events, 100));
    } finally {
      if (!closed) await manager.close().catch(() => undefined);
    }
  } finally {
    cleanup();
  }
}


/** The suite over `variants`: each round a baseline window, then one window per variant. */
export function lowRateSuite(variants: readonly TierVariant[]): Suite {
  return {
    name: 'low-rate',
    description: `${RATE} appendSync/s of ~180 B paced by a timer: process CPU per append vs the same loop without aof2`,
    async run(options: SuiteOptions): Promise<BenchResult[]> {
      const { ms, startupMs, rounds } = options.quick ? { ms: 1000, startupMs: 1000, rounds: 1 } : { ms: STEADY_MS_FULL, startupMs: STARTUP_MS_FULL, rounds: 3 };
      const events = new JsonEvents(SEED);
      const suffix = (v: TierVariant): string => (variants.length > 1 ? `, ${v.label}` : '');
      const sides: Side[] = variants.map((variant) => ({
        variant,
        histogram: new LatencyHistogram('append (tick mean)'),
        appends: 0,
        cpuUs: 0,
        startAppends: 0,
        startCpuUs: 0,
        prefaultLeftMiB: [],
        verified: [],
      }));
      const baseHistogram = new LatencyHistogram('event (tick mean)');
      let baseIterations = 0;
      let baseCpuUs = 0;
      let sink = 0;
      // The baseline's work: the same events built, nothing stored (the sum keeps the loop honest).
      let baseId = 0;
      const baseWork = (count: number): void => {
        for (let i = 0; i < count; i++, baseId++) sink += events.payload(baseId)[0]!;
      };
      for (let r = 0; r < rounds; r++) {
        options.progress(`low-rate: round ${r + 1}/${rounds}, ${ms} ms windows at ${RATE}/s (a start-up window, then the measured one)`);
        await paced(ms, baseWork, new LatencyHistogram('event (tick mean), warm-up'));
        const w = await paced(ms, baseWork, baseHistogram);
        baseIterations += w.iterations;
        baseCpuUs += w.cpuUs;
        for (const side of sides) await subjectWindow(side, events, ms, startupMs);
      }
      const baseUsPer = baseCpuUs / baseIterations;
      const baseline = measured('paced loop without aof2', baseIterations, baseCpuUs * 1000, baseIterations, baseHistogram, { cpuUsPerEvent: baseUsPer, sink: sink > 0 ? 1 : 0 });
      return pairTwins(
        sides.map((side) => {
          const usPer = side.cpuUs / side.appends;
          const overhead = usPer - baseUsPer;
          const startUsPer = side.startCpuUs / side.startAppends;
          const left = side.prefaultLeftMiB.map((m) => m.toFixed(0)).join(', ');
          const subject = measured(`paced appendSync${suffix(side.variant)}`, side.appends, side.cpuUs * 1000, side.appends, side.histogram, {
            cpuUsPerAppend: usPer,
            cpuUsPerAppendAboveLoop: overhead,
            startupCpuUsPerAppendAboveLoop: startUsPer - baseUsPer,
          });
          return ratioResult({
            suite: 'low-rate',
            case: variantCase(`${RATE} appends/s, ~180 B JSON`, side.variant, variants),
            subject,
            baseline,
            ratioOf: 'appends per second of process CPU (elapsed = CPU time)',
            targets: [atMost('CPU µs per append above the loop (steady state)', 3, overhead)],
            verified: summedVerifications(side.verified, 'windows'),
            tiers: side.variant.setting,
            notes: [
              `steady state, ${rounds} window(s) of ${ms} ms per side: process CPU ${usPer.toFixed(1)} µs per append with aof2, ${baseUsPer.toFixed(1)} µs per event without; ` +
                `aof2 adds ${overhead.toFixed(1)} µs per append (${((overhead * RATE) / 1e4).toFixed(1)} % of a core at ${RATE}/s)`,
              `including start-up (the first ${startupMs} ms after each open, not in the figure): ${startUsPer.toFixed(1)} µs per append, ` +
                `${(startUsPer - baseUsPer).toFixed(1)} µs above the loop; arena MiB left to prefault at its start: ${left}`,
            ],
          });
        }),
      );
    },
  };
}

/** native-free-bench's suite: tiers off. */
export const lowRate: Suite = lowRateSuite([TIERS_OFF]);
