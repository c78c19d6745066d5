/**
 * Shared pieces of the benchmark suites: latency histograms (hdr-histogram-js, pure JS build, values
 * in nanoseconds), throughput meters fed by timed batches, the tinybench driver that interleaves a
 * subject with its baseline, the result shape every suite returns, and the table renderer.
 *
 * Measurement rule: nothing is timed per operation on the synchronous paths. A batch of N calls runs
 * in a plain `for` loop between two `process.hrtime.bigint()` readings, and each call's latency is
 * recorded as batch time / N (`recordValueWithCount`), so percentiles are percentiles of batch means:
 * they show stalls and GC pauses, not single-call jitter inside a batch. Async and fsync paths, where
 * one operation costs microseconds, are timed per operation.
 */
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { Bench } from 'tinybench';

/** Options every suite receives from the runner. */
export interface SuiteOptions {
  /** Short runs for CI: the whole suite must finish in well under 30 s. */
  quick: boolean;
  /** Progress messages (stderr), so stdout stays machine-readable under --json. */
  progress: (message: string) => void;
  /** A full garbage collection (`global.gc`). */
  gc: () => void;
}

/**
 * Thrown by a suite that cannot run on this machine for a reason outside the code: a program it
 * needs is not installed (peer-bench's Redis Streams case without redis-server). The runner lists
 * it under `skipped` in the report (table, JSON and Markdown block), with the reason, which should
 * say how to install what is missing; it does not fail the run. Anything else thrown is a failure.
 */
export class SuiteSkipped extends Error {
  override readonly name = 'SuiteSkipped';
}

/** One suite: a name (`--only`) and a function producing one result per measured case. */
export interface Suite {
  name: string;
  description: string;
  run(options: SuiteOptions): Promise<BenchResult[]>;
}

/** Latency percentiles in nanoseconds. */
export interface LatencySummary {
  unit: 'ns';
  /** What one sample is: a batch mean per op, one operation, or one fsync'd batch. */
  per: string;
  /** Values recorded (operations, or batches for per-batch histograms). */
  count: number;
  mean: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** One side of a comparison: the engine path under test, or its baseline. */
export interface Measurement {
  name: string;
  /** Operations (records) counted in the rate. */
  records: number;
  /** Time the rate is computed over, in milliseconds. */
  elapsedMs: number;
  /** records / elapsed. */
  ratePerSec: number;
  /** Timed samples (batches, or operations when timed one by one). */
  samples: number;
  latency: LatencySummary;
  /** Extra figures specific to the suite (stalls, heap bytes, ...). */
  extra: Record<string, number>;
}

/** How a suite checked that the records it measured are really stored. */
export interface Verification {
  what: string;
  expected: number;
  found: number;
  ok: boolean;
  how: string;
}

export interface Target {
  name: string;
  /** Human-readable condition, e.g. ">= 0.5". */
  want: string;
  actual: number;
  met: boolean;
}

/**
 * Which engine configuration a case measured: `off` is `tier1: { enabled: false }` (no compression,
 * no Tier 2: what native-free-bench runs, since compression loads the zstd addon), `defaults` is no
 * `tier1`/`tier2` option at all (zstd Tier 1 on, no Tier 2: the defaults since issue 14).
 */
export type TiersSetting = 'off' | 'defaults';

/**
 * The cost of the tiers, on a case measured at defaults: its rate / the rate of its tiers-off twin
 * in the same run (1.0 = the tiers cost nothing; 0.25 = defaults run at a quarter of tiers off).
 */
export interface CostOfTiers {
  ratio: number;
  /** Where the tiers-off figure comes from: the twin's case name, or `baseline` when it is this case's baseline. */
  tiersOff: string;
  /** The same ratio on wall time (WouldBlock waits included), when the case's rate excludes them. */
  wallRatio?: number;
}

/** What a suite reports for one case. `ratio` = subject / baseline, higher is better. */
export interface BenchResult {
  suite: string;
  case: string;
  subject: Measurement;
  baseline: Measurement;
  ratio: number;
  /** What the ratio compares (e.g. "records/s"). */
  ratioOf: string;
  targets: Target[];
  verified: Verification[];
  /** Short lines shown under the table (headline figures that are not rates). */
  notes: string[];
  /** The engine configuration of the subject (absent: tiers off, the native-free-bench rule). */
  tiers?: TiersSetting;
  /** Set on a defaults case that has a tiers-off twin in the same run (see {@link pairTwins}). */
  costOfTiers?: CostOfTiers;
}

// -------------------------------------------------------------------------------------------------
// Histograms and meters

/** An HDR histogram of nanosecond values (3 significant digits, auto-resizing, pure JS). */
export class LatencyHistogram {
  readonly #hist: Histogram;
  readonly per: string;

  constructor(per: string) {
    this.per = per;
    // useWebAssembly stays false: the pure JS build, so nothing but JS runs in the bench process.
    this.#hist = build({ bitBucketSize: 32, autoResize: true, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  }

  /** Records one value (ns); values below 1 ns are clamped to 1 so they stay in range. */
  record(ns: number): void {
    this.#hist.recordValue(ns < 1 ? 1 : Math.round(ns));
  }

  /** Records `count` values of `ns` each (every op of a batch gets the batch mean). */
  recordMany(ns: number, count: number): void {
    if (count > 0) this.#hist.recordValueWithCount(ns < 1 ? 1 : Math.round(ns), count);
  }

  get count(): number {
    return this.#hist.totalCount;
  }

  /** The values as HDR's compressed base64 form, to be sent to another process ({@link addEncoded}). */
  encode(): string {
    return encodeIntoCompressedBase64(this.#hist);
  }

  /** Adds the values of a histogram another process {@link encode}d. */
  addEncoded(encoded: string): void {
    this.#hist.add(decodeFromCompressedBase64(encoded, 32, false));
  }

  summary(): LatencySummary {
    const h = this.#hist;
    const max = h.maxValue;
    // Percentiles come back as the highest value of their bucket, which can lie a few ns above the
    // recorded maximum; clamp so that p50 <= p99 <= p99.9 <= max always holds.
    const at = (p: number): number => Math.min(h.getValueAtPercentile(p), max);
    return {
      unit: 'ns',
      per: this.per,
      count: h.totalCount,
      mean: h.totalCount === 0 ? 0 : h.mean,
      p50: at(50),
      p99: at(99),
      p999: at(99.9),
      max,
    };
  }
}

/**
 * Accumulates timed batches for one side of a comparison. Only batches recorded while `recording`
 * is true (tinybench's run phase, not warmup) count in the rate and histogram; `total` counts every
 * operation performed, which is what the verification step expects to find stored.
 */
export class BatchMeter {
  readonly name: string;
  readonly histogram = new LatencyHistogram('op (batch mean)');
  recording = false;
  /** Every operation performed, warmup included. */
  total = 0;
  records = 0;
  ns = 0;
  batches = 0;
  /** WouldBlock stalls: how many, and the time spent waiting them out (not part of `ns`). */
  stalls = 0;
  stallNs = 0;

  constructor(name: string) {
    this.name = name;
  }

  /** A batch of `ops` operations took `ns` of hot-path time. */
  batch(ns: number, ops: number): void {
    this.total += ops;
    if (!this.recording || ops === 0) return;
    this.records += ops;
    this.ns += ns;
    this.batches++;
    this.histogram.recordMany(ns / ops, ops);
  }

  /** A WouldBlock was waited out in `ns` (one operation was completed by the wait itself). */
  stall(ns: number): void {
    this.total++;
    if (!this.recording) return;
    this.stalls++;
    this.stallNs += ns;
    this.records++;
  }

  /**
   * The measurement. The rate is over hot-path time (batches), stalls excluded; `sustainedPerSec`
   * includes the time spent waiting out WouldBlock.
   */
  measurement(extra: Record<string, number> = {}): Measurement {
    const wall = this.ns + this.stallNs;
    return {
      name: this.name,
      records: this.records,
      elapsedMs: this.ns / 1e6,
      ratePerSec: this.ns === 0 ? 0 : (this.records * 1e9) / this.ns,
      samples: this.batches,
      latency: this.histogram.summary(),
      extra: {
        stalls: this.stalls,
        stallMs: this.stallNs / 1e6,
        sustainedPerSec: wall === 0 ? 0 : (this.records * 1e9) / wall,
        ...extra,
      },
    };
  }
}

/** Nanoseconds since an arbitrary origin, as a Number (exact below 2^53 ns, about 104 days). */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

// -------------------------------------------------------------------------------------------------
// Driver

/** One side of an interleaved comparison: runs one timed batch and feeds its meter. */
export interface BatchTask {
  meter: BatchMeter;
  /** Runs one batch; returns the hot-path nanoseconds it recorded (stalls excluded). */
  runBatch(): Promise<number> | number;
  /**
   * Runs before each round (warmup included), untimed: e.g. `log.flush()`, so the flush worker is
   * idle and every round starts from the same state instead of inheriting the other side's backlog.
   */
  before?: () => Promise<void>;
}

export interface DriveOptions {
  /** Wall-clock budget per task per round, ms (stalls count against it); 0 to go by `batches`. */
  timeMs: number;
  /** Minimum batches per task per round (default 4). */
  batches?: number;
  /** Warmup budget per task (first round only), ms. */
  warmupMs: number;
  /** Rounds: the tasks alternate round by round, so drift on a shared machine hits both sides. */
  rounds: number;
}

/**
 * Runs the tasks under tinybench, round by round: each round gives every task `timeMs` of wall
 * time (tinybench schedules the iterations and handles warmup), and each iteration reports the
 * batch's own hot-path time as `overriddenDuration` and its wall time as `overriddenIterationCost`,
 * so tinybench's per-call timing and the await of the task function never enter the figures while
 * time spent in stalls still uses up the budget. The meters hold the results.
 */
export async function driveInterleaved(tasks: BatchTask[], options: DriveOptions): Promise<void> {
  for (let round = 0; round < options.rounds; round++) {
    const bench = new Bench({
      name: `round ${round}`,
      time: options.timeMs,
      // A batch is a few hundred µs: a handful of iterations is enough as a floor.
      iterations: options.batches ?? 4,
      warmup: round === 0 && options.warmupMs > 0,
      warmupTime: options.warmupMs,
      warmupIterations: 4,
      throws: true,
      timestampProvider: 'hrtimeNow',
    });
    for (const task of tasks) {
      const meter = task.meter;
      const before = task.before;
      bench.add(
        task.meter.name,
        async () => {
          const w0 = nowNs();
          const ns = await task.runBatch();
          return { overriddenDuration: ns / 1e6, overriddenIterationCost: (nowNs() - w0) / 1e6 };
        },
        {
          async: true,
          async beforeAll(mode) {
            if (before !== undefined) await before();
            meter.recording = mode === 'run';
          },
          afterAll() {
            meter.recording = false;
          },
        },
      );
    }
    await bench.run();
  }
}

// -------------------------------------------------------------------------------------------------
// Results

/** One side's measurement from what it counted: `records` over `ns` of measured time, `samples` timed. */
export function measured(name: string, records: number, ns: number, samples: number, histogram: LatencyHistogram, extra: Record<string, number> = {}): Measurement {
  return { name, records, elapsedMs: ns / 1e6, ratePerSec: ns === 0 ? 0 : (records * 1e9) / ns, samples, latency: histogram.summary(), extra };
}

export function ratioResult(init: Omit<BenchResult, 'ratio'> & { ratio?: number }): BenchResult {
  const ratio = init.ratio ?? (init.baseline.ratePerSec > 0 ? init.subject.ratePerSec / init.baseline.ratePerSec : 0);
  return { ...init, ratio };
}

/**
 * Marks the defaults twin of each tiers-off case with the cost of the tiers: results of one suite
 * whose cases differ only by their tiers label (`<case>, tiers off` and `<case>, defaults`) are
 * twins. Returns the results, changed in place.
 */
export function pairTwins(results: BenchResult[]): BenchResult[] {
  for (const r of results) {
    if (r.tiers !== 'defaults' || r.costOfTiers !== undefined) continue;
    const stem = r.case.replace(/, defaults$/, '');
    const twin = results.find((x) => x.suite === r.suite && x.tiers === 'off' && x.case.replace(/, tiers off$/, '') === stem);
    if (twin === undefined || twin.subject.ratePerSec <= 0) continue;
    const cost: CostOfTiers = { ratio: r.subject.ratePerSec / twin.subject.ratePerSec, tiersOff: twin.case };
    const wall = r.subject.extra['sustainedPerSec'];
    const twinWall = twin.subject.extra['sustainedPerSec'];
    if (wall !== undefined && twinWall !== undefined && twinWall > 0 && (r.subject.extra['stalls'] ?? 0) + (twin.subject.extra['stalls'] ?? 0) > 0) {
      cost.wallRatio = wall / twinWall;
    }
    r.costOfTiers = cost;
  }
  return results;
}

export function atLeast(name: string, want: number, actual: number, unit = ''): Target {
  return { name, want: `>= ${want}${unit}`, actual, met: actual >= want };
}

export function atMost(name: string, want: number, actual: number, unit = ''): Target {
  return { name, want: `<= ${want}${unit}`, actual, met: actual <= want };
}

export function verification(what: string, expected: number, found: number, how: string): Verification {
  return { what, expected, found, ok: expected === found && expected > 0, how };
}

/**
 * The same checks made once per repetition (open, round, window), summed into one each: expected
 * and found add up, ok only if every repetition was; `unit` names the repetitions in the text.
 */
export function summedVerifications(lists: Verification[][], unit: string): Verification[] {
  const first = lists[0] ?? [];
  return first.map((v, i) => {
    const all = lists.map((l) => l[i]!);
    const expected = all.reduce((n, x) => n + x.expected, 0);
    const found = all.reduce((n, x) => n + x.found, 0);
    return { ...v, expected, found, ok: expected === found && all.every((x) => x.ok), how: `${v.how}; summed over ${lists.length} ${unit}` };
  });
}

// -------------------------------------------------------------------------------------------------
// Formatting

export function formatRate(perSec: number): string {
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(2)} M/s`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(1)} k/s`;
  return `${perSec.toFixed(0)} /s`;
}

/** A ratio with two decimals, or two significant digits below 0.01 (0.0012), so a collapse does not print as 0.00. */
export function formatRatio(x: number): string {
  return x !== 0 && Math.abs(x) < 0.01 ? x.toPrecision(2) : x.toFixed(2);
}

export function formatNs(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e4) return `${(ns / 1e3).toFixed(0)} µs`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${ns.toFixed(0)} ns`;
}

export function formatCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)} k`;
  return String(n);
}

function percentiles(l: LatencySummary): string {
  return `${formatNs(l.p50)} / ${formatNs(l.p99)} / ${formatNs(l.p999)}`;
}

/** Renders rows as a left-aligned text table with a header rule. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The human-readable report: one row per measured side, targets and verifications below. */
export function formatResults(results: BenchResult[]): string {
  const header = ['suite', 'case', 'side', 'rate', 'ratio', 'p50 / p99 / p99.9', 'per', 'run', 'samples', 'verified'];
  const rows: string[][] = [];
  for (const r of results) {
    for (const [side, m] of [
      ['subject', r.subject],
      ['baseline', r.baseline],
    ] as const) {
      const v = r.verified.filter((x) => x.what === side);
      rows.push([
        side === 'subject' ? r.suite : '',
        side === 'subject' ? r.case : '',
        m.name,
        formatRate(m.ratePerSec),
        side === 'subject' ? `${formatRatio(r.ratio)}x` : '1.00x',
        percentiles(m.latency),
        m.latency.per,
        `${(m.elapsedMs / 1000).toFixed(2)} s`,
        `${formatCount(m.samples)} (${formatCount(m.records)} rec)`,
        v.length === 0 ? '-' : v.every((x) => x.ok) ? `ok ${formatCount(v[0]!.found)}` : 'FAILED',
      ]);
    }
  }
  const out = [textTable(header, rows), ''];
  for (const r of results) {
    const targets = r.targets.map((t) => `${t.name} ${fmtNum(t.actual)} (want ${t.want}) ${t.met ? 'met' : 'MISSED'}`);
    out.push(`${r.suite} ${r.case}: ${targets.join('; ')}`);
    if (r.costOfTiers !== undefined) out.push(`  cost of the tiers: ${costText(r.costOfTiers)}`);
    for (const note of r.notes) out.push(`  ${note}`);
    for (const v of r.verified) {
      out.push(`  verify ${v.what}: ${v.ok ? 'ok' : 'FAILED'} — expected ${v.expected}, found ${v.found} (${v.how})`);
    }
  }
  return out.join('\n');
}

function fmtNum(x: number): string {
  if (Math.abs(x) >= 1000) return formatCount(Math.round(x));
  return Number.isInteger(x) ? String(x) : Math.abs(x) < 0.001 ? x.toPrecision(2) : x.toFixed(3);
}

/** `0.23x of tiers off (wall time, WouldBlock waits included: 0.21x)`. */
export function costText(c: CostOfTiers): string {
  const against = c.tiersOff === 'baseline' ? 'of the tiers-off baseline' : `of "${c.tiersOff}"`;
  return `defaults ${formatRatio(c.ratio)}x ${against}${c.wallRatio === undefined ? '' : ` (wall time, WouldBlock waits included: ${formatRatio(c.wallRatio)}x)`}`;
}
