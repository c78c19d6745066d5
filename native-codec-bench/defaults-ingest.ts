/**
 * Two suites of issue #12 that compare the engine at default options with itself with the tiers
 * off, in the same run, rounds alternating (which side goes first alternates too):
 *
 * - `burst`: 600,000 JSON events of ~180 B (native-free-bench/events.ts) into a fresh manager, as
 *   an application logs a burst: `appendSync`, and on WouldBlock `await append()` of that event,
 *   then `close()`. Reported: records/s of the burst (wall time, waits included) and including
 *   close (which, at defaults, compresses and uploads what is left), and the WouldBlock counts by
 *   kind. Target: defaults >= 0.85x of tiers off for the burst.
 * - `sustained`: the same loop for 10x the arena's bytes, so the arena fills and refills and the
 *   background work (flush; at defaults compression and upload) sets the pace. A 32 MiB arena
 *   (16 MiB under --quick; 4 MiB segments, the default) keeps the run short: 320 MiB of events,
 *   where the default 128 MiB arena would need 1.3 GB for the same ratio. Reported beside the rate:
 *   the compression ratio achieved (event bytes in segment frames / bytes of the Tier 1 files after
 *   close). Target: defaults >= 0.7x of tiers off.
 *
 * Both sides are the public API at `{ root }` (plus the arena size for `sustained`) and at
 * `{ root, tier1: { enabled: false } }`; nothing else is set, so whatever the engine's defaults
 * become is what is measured. Subject: defaults; baseline: tiers off; the ratio is the cost of
 * the tiers. Every round writes a fresh root and is verified after close (reopen, nextId, seeded
 * random point reads and the tail read back byte for byte).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { frameLength } from '../src/format/record.js';
import { STREAMS_DIR, TIER1_FILE_SUFFIX } from '../src/format/root-layout.js';
import { AofManager, WouldBlockError, type AofLog, type AofManagerOptions } from '../src/index.js';
import { JsonEvents } from '../native-free-bench/events.js';
import { DEFAULTS, tempRoot, TIERS_OFF, verifyEvents, wouldBlockExtra, wouldBlockText, type TierVariant } from '../native-free-bench/fixtures.js';
import {
  atLeast,
  LatencyHistogram,
  measured,
  nowNs,
  ratioResult,
  type BenchResult,
  type Measurement,
  type Suite,
  type SuiteOptions,
  type Verification,
} from '../native-free-bench/shared.js';
import { MiB, SEED } from './fixtures.js';

const STREAM = 'events';
/** Appends per histogram sample (wall time of the batch, waits included, divided by its size). */
const BATCH = 1000;

/** What one ingest round measured. */
interface Round {
  records: number;
  /** Wall time of the append loop. */
  ingestNs: number;
  /** Wall time of close(). */
  closeNs: number;
  /** Bytes of the records as segment frames. */
  frameBytes: number;
  /** Bytes of Tier 1 files under the root after close (0 with the tiers off). */
  tier1Bytes: number;
  wouldBlock: Record<string, number>;
  verified: Verification[];
}

/** Appends events 0..count-1: appendSync, `await append()` of the event that hit WouldBlock. */
async function ingest(log: AofLog, events: JsonEvents, count: number, histogram: LatencyHistogram): Promise<number> {
  let frameBytes = 0;
  let id = 0;
  while (id < count) {
    const end = Math.min(count, id + BATCH);
    const b0 = nowNs();
    const first = id;
    while (id < end) {
      try {
        for (; id < end; id++) {
          const payload = events.payload(id);
          log.appendSync(payload);
          frameBytes += frameLength(payload.length);
        }
      } catch (err) {
        if (!(err instanceof WouldBlockError)) throw err;
        const payload = events.payload(id);
        await log.append(payload);
        frameBytes += frameLength(payload.length);
        id++;
      }
    }
    histogram.recordMany((nowNs() - b0) / (id - first), id - first);
  }
  return frameBytes;
}

/** Bytes of every Tier 1 file of every stream under `root`. */
function tier1Bytes(root: string): number {
  let total = 0;
  const streams = join(root, STREAMS_DIR);
  for (const stream of readdirSync(streams)) {
    for (const name of readdirSync(join(streams, stream))) if (name.endsWith(TIER1_FILE_SUFFIX)) total += statSync(join(streams, stream, name)).size;
  }
  return total;
}

async function round(variant: TierVariant, tier0: AofManagerOptions['tier0'], events: JsonEvents, count: number, histogram: LatencyHistogram): Promise<Round> {
  const { root, cleanup } = tempRoot(`ingest-${variant.setting}`);
  try {
    const config: AofManagerOptions = { root, ...(tier0 === undefined ? {} : { tier0 }), ...variant.options };
    const manager = await AofManager.open(config);
    let closed = false;
    try {
      const log = await manager.openStream(STREAM);
      const t0 = nowNs();
      const frameBytes = await ingest(log, events, count, histogram);
      const ingestNs = nowNs() - t0;
      const wouldBlock = manager.stats().wouldBlock;
      const c0 = nowNs();
      await manager.close();
      closed = true;
      const closeNs = nowNs() - c0;
      const verified = await verifyEvents(config, STREAM, count, events);
      return { records: count, ingestNs, closeNs, frameBytes, tier1Bytes: tier1Bytes(root), wouldBlock, verified };
    } finally {
      if (!closed) await manager.close().catch(() => undefined);
    }
  } finally {
    cleanup();
  }
}

interface Side {
  variant: TierVariant;
  rounds: Round[];
  histogram: LatencyHistogram;
}

function sum<T>(xs: readonly T[], f: (x: T) => number): number {
  return xs.reduce((n, x) => n + f(x), 0);
}

function sideMeasurement(name: string, side: Side): Measurement {
  const wouldBlock: Record<string, number> = {};
  for (const r of side.rounds) for (const [k, n] of Object.entries(r.wouldBlock)) wouldBlock[k] = (wouldBlock[k] ?? 0) + n;
  const records = sum(side.rounds, (r) => r.records);
  const ingestNs = sum(side.rounds, (r) => r.ingestNs);
  const closeNs = sum(side.rounds, (r) => r.closeNs);
  const t1 = sum(side.rounds, (r) => r.tier1Bytes);
  return measured(name, records, ingestNs, Math.ceil(side.histogram.count / BATCH), side.histogram, {
    includingClosePerSec: (records * 1e9) / (ingestNs + closeNs),
    closeMs: closeNs / 1e6 / side.rounds.length,
    mbPerSec: sum(side.rounds, (r) => r.frameBytes) / 1e6 / (ingestNs / 1e9),
    ...(t1 > 0 ? { compressionRatio: sum(side.rounds, (r) => r.frameBytes) / t1 } : {}),
    ...wouldBlockExtra(wouldBlock),
  });
}

/** Merges per-round verifications: counts summed, ok only if every round was. */
function merged(rounds: readonly Round[]): Verification[] {
  const first = rounds[0]?.verified ?? [];
  return first.map((v, i) => {
    const all = rounds.map((r) => r.verified[i]!);
    const expected = sum(all, (x) => x.expected);
    const found = sum(all, (x) => x.found);
    return { ...v, expected, found, ok: all.every((x) => x.ok) && expected === found, how: `${v.how}; summed over ${rounds.length} round(s)` };
  });
}

interface IngestSpec {
  suite: string;
  caseLabel: string;
  count: number;
  tier0: AofManagerOptions['tier0'];
  rounds: number;
  target: number;
  progress: (m: string) => void;
  extraNotes: string[];
}

async function compare(spec: IngestSpec): Promise<BenchResult> {
  const events = new JsonEvents(SEED);
  const off: Side = { variant: TIERS_OFF, rounds: [], histogram: new LatencyHistogram('append (batch mean, waits included)') };
  const def: Side = { variant: DEFAULTS, rounds: [], histogram: new LatencyHistogram('append (batch mean, waits included)') };
  // Warmup of both (JIT, the zstd addon's first load), unrecorded.
  spec.progress(`${spec.suite}: warmup`);
  for (const side of [off, def]) await round(side.variant, spec.tier0, events, Math.min(spec.count, 100_000), new LatencyHistogram('warmup'));
  for (let r = 0; r < spec.rounds; r++) {
    for (const side of r % 2 === 0 ? [off, def] : [def, off]) {
      spec.progress(`${spec.suite}: round ${r + 1}/${spec.rounds}, ${side.variant.label}: ${spec.count} events`);
      side.rounds.push(await round(side.variant, spec.tier0, events, spec.count, side.histogram));
    }
  }
  const subject = sideMeasurement('defaults', def);
  const baseline = sideMeasurement('tiers off', off);
  const result = ratioResult({
    suite: spec.suite,
    case: spec.caseLabel,
    subject,
    baseline,
    ratioOf: 'records/s (append loop, wall time, waits included)',
    targets: [],
    verified: [...merged(def.rounds), ...merged(off.rounds).map((v) => ({ ...v, what: 'baseline' }))],
    tiers: 'defaults',
    notes: [
      `including close(): defaults ${(subject.extra['includingClosePerSec']! / 1e3).toFixed(0)} k/s, tiers off ${(baseline.extra['includingClosePerSec']! / 1e3).toFixed(0)} k/s ` +
        `(${(subject.extra['includingClosePerSec']! / baseline.extra['includingClosePerSec']!).toFixed(2)}x); close took ${subject.extra['closeMs']!.toFixed(0)} ms vs ${baseline.extra['closeMs']!.toFixed(0)} ms per round`,
      `WouldBlock: defaults ${wouldBlockText(kinds(subject))}; tiers off ${wouldBlockText(kinds(baseline))} (all rounds)`,
      `${spec.rounds} round(s) per side, ${spec.count} events of ${events.meanBytes.toFixed(0)} B on average (${EVENT_RANGE}); ` +
        `per round ratio ${def.rounds.map((d, i) => ((d.records / d.ingestNs) / (off.rounds[i]!.records / off.rounds[i]!.ingestNs)).toFixed(2)).join(', ')}`,
      ...spec.extraNotes,
      ...(subject.extra['compressionRatio'] === undefined ? [] : [`compression ratio achieved (frame bytes / Tier 1 file bytes after close): ${subject.extra['compressionRatio'].toFixed(2)}x`]),
    ],
  });
  result.targets.push(atLeast('ratio', spec.target, result.ratio));
  result.costOfTiers = { ratio: result.ratio, tiersOff: 'baseline' };
  return result;
}

const EVENT_RANGE = '120-240 B JSON';

/** `stats().wouldBlock`'s kinds back from a measurement's extra fields. */
function kinds(m: Measurement): Record<string, number> {
  return Object.fromEntries(
    Object.entries(m.extra)
      .filter(([k]) => k.startsWith('wouldBlock.'))
      .map(([k, n]) => [k.slice('wouldBlock.'.length), n]),
  );
}

/** Events in the burst (the figure; also under --quick: a round takes about a second). */
const BURST_EVENTS = 600_000;

export const burst: Suite = {
  name: 'burst',
  description: `${BURST_EVENTS} JSON events of ~180 B, appendSync (append() on WouldBlock) then close(): defaults vs tiers off`,
  async run(options: SuiteOptions): Promise<BenchResult[]> {
    return [
      await compare({
        suite: 'burst',
        caseLabel: `${BURST_EVENTS / 1000}k events of ~180 B, default options vs tiers off`,
        count: BURST_EVENTS,
        tier0: undefined,
        rounds: options.quick ? 1 : 3,
        target: 0.85,
        progress: options.progress,
        extraNotes: [],
      }),
    ];
  },
};

export const sustained: Suite = {
  name: 'sustained',
  description: 'ingest of 10x the arena (32 MiB arena, 16 MiB with --quick) of ~180 B JSON events: defaults vs tiers off, with the compression ratio',
  async run(options: SuiteOptions): Promise<BenchResult[]> {
    const arenaBytes = (options.quick ? 16 : 32) * MiB;
    const events = new JsonEvents(SEED);
    // Events that make 10x the arena in frames (on average; the events vary in size).
    const count = Math.ceil((10 * arenaBytes) / frameLength(Math.round(events.meanBytes)));
    return [
      await compare({
        suite: 'sustained',
        caseLabel: `10x a ${arenaBytes / MiB} MiB arena (${count} events of ~180 B), defaults vs tiers off`,
        count,
        tier0: { arenaBytes },
        rounds: options.quick ? 1 : 2,
        target: 0.7,
        progress: options.progress,
        extraNotes: [`arena ${arenaBytes / MiB} MiB instead of the default 128 MiB to keep the run short (every other option at its default)`],
      }),
    ];
  },
};
