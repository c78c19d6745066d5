/**
 * metrics-overhead: what metrics and events cost `appendSync`. Two managers in the same process,
 * alternating round by round in batches of 1,000 calls (the append-sync suite's method):
 *
 * - on:  sampled admission latency (1 in 256, the default), every aof2 diagnostics channel
 *        subscribed, a logger, and the registry scraped every second while the rounds run;
 * - off: `metrics.admissionSampleEvery: 0` (the kill switch), no subscriber, no logger, never
 *        scraped.
 *
 * What stays on in both (there is no switch for it, and it is the point of the design): the
 * per-stream byte counter, one field increment per append, and the sampling countdown, one
 * decrement per append. Everything else (WouldBlock counts, fsync timing in the flush worker,
 * events, histograms) is off the appendSync hot path by construction. A scrape runs between
 * batches (timers fire only at the awaits), so its cost shows in the wall clock, not in batch time;
 * it is reported as scrapes per round.
 *
 * Target (issue #5): on/off >= 0.97 (metrics and events cost < 3 %). The machine may be shared:
 * the ratio of p50 batch means is printed too, being less sensitive to other load (the rate is
 * total records over total batch time, so a few slow batches, a scheduler hiccup or a GC, move it).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { AOF_EVENTS, AofManager, type AofLog, type AofManagerOptions } from '../src/index.js';
import { appendSyncBatch, patternPayload, tempRoot, TIER1_OFF, touchArena, verifyStream } from './fixtures.js';
import { atLeast, BatchMeter, driveInterleaved, ratioResult, type BenchResult, type Suite, type SuiteOptions } from './shared.js';

const BATCH = 1000;
const STREAM = 'bench';
const SEGMENT_BYTES = 8 * 1024 * 1024;
/** Far more often than Prometheus scrapes (15 s to 1 min), so the scrape's share is if anything overstated. */
const SCRAPE_EVERY_MS = 1000;

const CASES = [
  { label: '1 KiB', size: 1024, fullRounds: 10 },
  { label: '100 B', size: 100, fullRounds: 6 },
] as const;

export const metricsOverhead: Suite = {
  name: 'metrics-overhead',
  description: 'appendSync with metrics + events subscribed + scrapes vs the same with all of it off (1 KiB, 100 B)',
  async run(options: SuiteOptions): Promise<BenchResult[]> {
    const results: BenchResult[] = [];
    for (const c of CASES) results.push(await runCase(options, c.label, c.size, options.quick ? 3 : c.fullRounds));
    return results;
  },
};

interface Side {
  config: AofManagerOptions;
  manager: AofManager;
  log: AofLog;
  meter: BatchMeter;
  cleanup: () => void;
}

async function openSide(name: string, arenaBytes: number, extra: Partial<AofManagerOptions>): Promise<Side> {
  const { root, cleanup } = tempRoot(`metrics-overhead-${name}`);
  const config: AofManagerOptions = { root, tier0: { arenaBytes, segmentBytes: SEGMENT_BYTES }, tier1: TIER1_OFF, fsync: 'never', ...extra };
  const manager = await AofManager.open(config);
  return { config, manager, log: await manager.openStream(STREAM), meter: new BatchMeter(name), cleanup };
}

async function runCase(options: SuiteOptions, label: string, size: number, rounds: number): Promise<BenchResult> {
  const arenaBytes = (options.quick ? 64 : 256) * 1024 * 1024;
  const frame = (16 + size + 7) & ~7;
  const roundBatches = Math.floor((arenaBytes - 2 * SEGMENT_BYTES) / frame / BATCH);
  const payload = patternPayload(size);
  let logged = 0;
  const count = (): void => void logged++;
  const on = await openSide('metrics on', arenaBytes, { logger: { info: count, warn: count, error: count } });
  const off = await openSide('metrics off', arenaBytes, { metrics: { admissionSampleEvery: 0 } });
  let events = 0;
  const onEvent = (): void => void events++;
  for (const name of Object.values(AOF_EVENTS)) subscribe(name, onEvent);
  let scrapes = 0;
  let scrapeBytes = 0;
  const timer = setInterval(() => {
    void on.manager.registry.metrics().then((text) => {
      scrapes++;
      scrapeBytes = text.length;
    });
  }, SCRAPE_EVERY_MS);
  try {
    options.progress(`metrics-overhead ${label}: touching both arenas`);
    await touchArena(on.log, payload, arenaBytes + SEGMENT_BYTES, on.meter);
    await touchArena(off.log, payload, arenaBytes + SEGMENT_BYTES, off.meter);
    options.progress(`metrics-overhead ${label}: ${rounds} rounds of ${roundBatches} batches per side`);
    // Each side starts its round with BOTH flush workers idle: two managers means two flush
    // workers, and the other side's backlog being written meanwhile would tax whoever runs second.
    const bothIdle = async (): Promise<void> => {
      await Promise.all([off.log.flush(), on.log.flush()]);
    };
    const offTask = { meter: off.meter, runBatch: () => appendSyncBatch(off.log, payload, BATCH, off.meter), before: bothIdle };
    const onTask = { meter: on.meter, runBatch: () => appendSyncBatch(on.log, payload, BATCH, on.meter), before: bothIdle };
    // The side that goes first alternates round by round, so neither always runs right after the
    // other one's appends (cache state, the other flush worker's last writes, GC debt).
    for (let round = 0; round < rounds; round++) {
      await driveInterleaved(round % 2 === 0 ? [offTask, onTask] : [onTask, offTask], { timeMs: 0, batches: roundBatches, warmupMs: 0, rounds: 1 });
    }
  } finally {
    clearInterval(timer);
    for (const name of Object.values(AOF_EVENTS)) unsubscribe(name, onEvent);
  }
  const admissionSamples = on.manager.stats().latency.admission.count;
  const offSamples = off.manager.stats().latency.admission.count;
  await on.manager.close();
  await off.manager.close();
  try {
    options.progress(`metrics-overhead ${label}: verifying`);
    const verified = [
      ...(await verifyStream(on.config, STREAM, on.meter.total, payload)),
      ...(await verifyStream(off.config, STREAM, off.meter.total, payload)).map((v) => ({ ...v, what: 'baseline' })),
    ];
    const subject = on.meter.measurement({ scrapes, admissionSamples });
    const base = off.meter.measurement({ admissionSamples: offSamples });
    const result = ratioResult({
      suite: 'metrics-overhead',
      case: label,
      subject,
      baseline: base,
      ratioOf: 'appendSync records/s, metrics on / off',
      targets: [],
      verified,
      notes: [
        `${rounds} rounds x ${roundBatches} batches of ${BATCH} per side; on: ${scrapes} scrapes (${scrapeBytes} bytes each), ` +
          `${admissionSamples} admission samples, ${events} events, ${logged} log lines; off: ${offSamples} samples`,
        `ratio of p50 batch means: ${(base.latency.p50 / subject.latency.p50).toFixed(3)}x (less sensitive to other load on the machine)`,
      ],
    });
    result.targets.push(atLeast('on/off', 0.97, result.ratio));
    return result;
  } finally {
    on.cleanup();
    off.cleanup();
  }
}
