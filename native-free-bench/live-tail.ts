/**
 * live-tail: append-to-read latency of `log.follow()` against a polling reader, in the same
 * process and the same run (issue 15, "Live tail").
 *
 * A writer appends 100 B records at 100,000 records/s with `appendSync`, paced by `setImmediate`
 * turns (pacing.ts, the pacer of the read-only suite's writer and of peer-bench's redis-streams):
 * each turn appends the records due since the window started (elapsed x rate, less what was
 * appended), at most 32 per turn, so the writer catches up in small batches when a turn was late
 * instead of in one burst (at this rate a turn carries 1-3 records).
 * Each record carries the `performance.now()` of its append in its first 8 bytes (a float64);
 * the reader takes `performance.now()` again when it gets the record, and the difference goes into
 * an HDR histogram (nanoseconds, one value per record).
 *
 * - subject: `for await (const record of log.follow({ from }))` (copies, the default), woken by
 *   the append itself (the log's tail waiters, once per synchronous run of appends);
 * - baseline: the loop users write without it, `reader.next()` and, on null,
 *   `await setTimeout(1)` (node:timers/promises).
 *
 * The ratio is the baseline's p50 over the subject's (higher is better: how many times sooner the
 * follower sees a record). A second case measures `follow({ durable: true })` under `fsync:
 * 'interval'` (its default 1 s period) against the same polling loop reading only up to
 * `durableId`: there the fsync period sets the latency, not the wake-up.
 *
 * Rounds alternate the sides; each side runs a window on its own stream of one manager per case
 * (tiers off, as every native-free-bench suite). Verification: every record appended in a window
 * was read once, in order, with dense ids and its stamp intact.
 *
 * Targets (issue 15): p50 at most 50 µs and p99 at most 1 ms for follow at 100k records/s, and
 * faster than the polling loop (ratio >= 1).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AofManager, WouldBlockError, type AofLog, type AofManagerOptions, type LogRecord } from '../src/index.js';
import { tempRoot, TIERS_OFF } from './fixtures.js';
import { MAX_PER_TURN, pacedWrites } from './pacing.js';
import { atLeast, atMost, LatencyHistogram, measured, ratioResult, summedVerifications, verification, type BenchResult, type Suite, type SuiteOptions, type Verification } from './shared.js';

const RATE = 100_000;
const SIZE = 100;

interface Case {
  label: string;
  durable: boolean;
  options: Partial<AofManagerOptions>;
}

const CASES: Case[] = [
  { label: '100 B at 100k records/s, same process', durable: false, options: {} },
  { label: "100 B at 100k records/s, same process, durable: true, fsync 'interval' (1 s)", durable: true, options: { fsync: 'interval' } },
];

/** One side's figures, summed over its windows. */
interface Side {
  name: string;
  histogram: LatencyHistogram;
  records: number;
  ns: number;
  windows: number;
  verified: Verification[][];
}

function side(name: string): Side {
  return { name, histogram: new LatencyHistogram('record (append to read)'), records: 0, ns: 0, windows: 0, verified: [] };
}

/** The stamp of a record: the float64 in its first 8 bytes, read without allocating. */
class Stamps {
  readonly #f64 = new Float64Array(1);
  readonly #u8 = new Uint8Array(this.#f64.buffer);

  /** Writes `performance.now()` into `payload`'s first 8 bytes. */
  stamp(payload: Uint8Array): void {
    this.#f64[0] = performance.now();
    payload.set(this.#u8, 0);
  }

  read(payload: Uint8Array): number {
    for (let i = 0; i < 8; i++) this.#u8[i] = payload[i]!;
    return this.#f64[0]!;
  }
}

/**
 * Appends `count` stamped records at RATE through the shared pacer (pacing.ts). A WouldBlock (the
 * arena full) is waited out with `append()` of a copy (the payload buffer is reused) for that
 * record and the rest of its turn, pausing the writer.
 */
async function pacedWriter(log: AofLog, count: number, stamps: Stamps): Promise<void> {
  const payload = new Uint8Array(SIZE);
  for (let i = 8; i < SIZE; i++) payload[i] = i;
  const waitingAppends = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      if (i > 0) stamps.stamp(payload);
      await log.append(payload.slice());
    }
  };
  await pacedWrites((count * 1000) / RATE, RATE, (due) => {
    for (let i = 0; i < due; i++) {
      stamps.stamp(payload);
      try {
        log.appendSync(payload);
      } catch (err) {
        if (!(err instanceof WouldBlockError)) throw err;
        return waitingAppends(due - i);
      }
    }
    return undefined;
  });
}

/** Checks a record read by a side: the next id, a stamp taken before now. Returns the latency in ns. */
function latencyOf(record: LogRecord, expectedId: number, stamps: Stamps, now: number): number {
  if (record.id !== expectedId) throw new Error(`live-tail: read record ${record.id}, expected ${expectedId}`);
  const stamped = stamps.read(record.payload);
  if (!(stamped > 0 && stamped <= now)) throw new Error(`live-tail: record ${record.id} carries no stamp of this run (${stamped})`);
  return (now - stamped) * 1e6;
}

/** The subject's reader: follow() from `from`, until `count` records were read. Returns how many arrived in order. */
async function followSide(log: AofLog, from: number, count: number, durable: boolean, stamps: Stamps, histogram: LatencyHistogram): Promise<number> {
  let next = from;
  if (count === 0) return 0;
  for await (const record of log.follow({ from, durable })) {
    histogram.record(latencyOf(record, next, stamps, performance.now()));
    if (++next === from + count) break;
  }
  return next - from;
}

/** The baseline's reader: reader.next(), sleeping 1 ms on null (or, durable, while the next id is above durableId). */
async function pollSide(log: AofLog, from: number, count: number, durable: boolean, stamps: Stamps, histogram: LatencyHistogram): Promise<number> {
  const reader = log.openReader({ from });
  try {
    let next = from;
    while (next < from + count) {
      const record = durable && next > log.durableId ? null : await reader.next();
      if (record === null) {
        await sleep(1);
        continue;
      }
      histogram.record(latencyOf(record, next, stamps, performance.now()));
      next++;
    }
    return next - from;
  } finally {
    reader.close();
  }
}

type ReadSide = typeof followSide;

/** One window of one side: the writer and its reader on `log`, `ms` long. */
async function window(s: Side, what: 'subject' | 'baseline', log: AofLog, read: ReadSide, durable: boolean, ms: number): Promise<void> {
  const stamps = new Stamps();
  const from = log.nextId;
  const count = Math.round((RATE * ms) / 1000);
  const t0 = performance.now();
  const [, got] = await Promise.all([pacedWriter(log, count, stamps), read(log, from, count, durable, stamps, s.histogram)]);
  s.ns += (performance.now() - t0) * 1e6;
  s.records += got;
  s.windows++;
  s.verified.push([verification(what, count, got, 'every record appended in the window read once, ids dense and in order, stamps intact')]);
  await log.flush(); // untimed: the next window starts with the flush worker idle
}

export const liveTail: Suite = {
  name: 'live-tail',
  description: 'append-to-read latency of log.follow() vs a reader.next() + setTimeout(1) polling loop, 100 B at 100k records/s in one process',
  async run(options: SuiteOptions): Promise<BenchResult[]> {
    const { ms, rounds } = options.quick ? { ms: 1000, rounds: 1 } : { ms: 5000, rounds: 3 };
    const results: BenchResult[] = [];
    for (const c of CASES) {
      const { root, cleanup } = tempRoot('live-tail');
      try {
        const config: AofManagerOptions = { root, ...TIERS_OFF.options, ...c.options };
        const manager = await AofManager.open(config);
        try {
          const followLog = await manager.openStream('follow');
          const pollLog = await manager.openStream('poll');
          const subject = side(c.durable ? 'follow({ durable: true })' : 'follow()');
          const baseline = side(c.durable ? 'poll next() to durableId, setTimeout(1) between' : 'poll next(), setTimeout(1) on null');
          for (let r = 0; r < rounds; r++) {
            options.progress(`live-tail: ${c.label}, round ${r + 1}/${rounds}, ${ms} ms per side`);
            await window(subject, 'subject', followLog, followSide, c.durable, ms);
            await window(baseline, 'baseline', pollLog, pollSide, c.durable, ms);
          }
          const s = measured(subject.name, subject.records, subject.ns, subject.records, subject.histogram);
          const b = measured(baseline.name, baseline.records, baseline.ns, baseline.records, baseline.histogram);
          const ratio = s.latency.p50 > 0 ? b.latency.p50 / s.latency.p50 : 0;
          results.push(
            ratioResult({
              suite: 'live-tail',
              case: c.label,
              subject: s,
              baseline: b,
              ratio,
              ratioOf: 'append-to-read p50 latency, baseline / subject (higher: the follower sees records sooner)',
              targets: c.durable ? [] : [atMost('p50 µs', 50, s.latency.p50 / 1e3), atMost('p99 ms', 1, s.latency.p99 / 1e6), atLeast('p50 vs the polling loop', 1, ratio)],
              verified: [...summedVerifications(subject.verified, 'windows'), ...summedVerifications(baseline.verified, 'windows')],
              notes: [
                `append to read, p50 / p99 / p99.9: follow ${us(s.latency.p50)} / ${us(s.latency.p99)} / ${us(s.latency.p999)} µs; ` +
                  `polling ${us(b.latency.p50)} / ${us(b.latency.p99)} / ${us(b.latency.p999)} µs`,
                `writer: appendSync paced by setImmediate turns, at most ${MAX_PER_TURN} records per turn; ${rounds} window(s) of ${ms} ms per side`,
              ],
            }),
          );
        } finally {
          await manager.close();
        }
      } finally {
        cleanup();
      }
    }
    return results;
  },
};

function us(ns: number): string {
  return (ns / 1e3).toFixed(ns < 1e5 ? 1 : 0);
}
