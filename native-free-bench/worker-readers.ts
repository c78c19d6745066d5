/**
 * worker-readers: readers in a worker thread over the owner's arena (`manager.shareHandle()`,
 * `AofManager.attach(handle)`; issue 15 section 2) against the same reads on the main thread, in
 * the same run. Tiers off (native-free; the worker loads no addon either). One worker per case
 * (worker-readers-worker.ts), started and attached before anything is timed; both sides call the
 * same loops (worker-readers-work.ts).
 *
 * - Resident scan, 100 B and 1 KiB records: 64 MiB of records (16 under `--quick`) in a 128 MiB
 *   arena with 4 MiB segments, so 16 segments and the windows they were written in, all resident.
 *   Subject: the worker scans the stream from 0 with `reader.nextSync()` over views (copy: false),
 *   checking per record the id (dense), the length and two bytes, and summing payload lengths;
 *   baseline: the main thread runs the same scan on the same stream. Each side's clock runs in its
 *   own thread around openReader, the scan to null and close: the worker's stream is opened before
 *   its clock starts (it posts its elapsed ns), so the message round trip and the attach are not in
 *   the figure; the lease requests to the owner (one per run, the next
 *   asked for while the current one is read) are, since they are what a worker's scan costs.
 *   While the worker scans, the main thread is idle but for answering them. Rounds alternate which
 *   side goes first, after one untimed warm-up scan on each. No full GC is forced before a scan:
 *   each thread has its own heap, so one side's garbage never lands in the other's figure, and a
 *   forced full GC shrinks the young generation, after which a scan of a few ms measured mostly
 *   scavenges (4 ms became 16-45 ms on the main thread). The ratio is records/s, worker / main
 *   (target >= 0.8x). A WouldBlock (a run not resident) fails the case: it must measure the arena.
 * - Follow at 1,000,000 records/s, 100 B: the main thread appends stamped records (nowNs(), the
 *   process's CLOCK_MONOTONIC, the same clock in every thread) with appendBatchSync, paced on
 *   `setImmediate` turns by pacing.ts (each turn appends what is owed since the window began, at
 *   most {@link MAX_PER_TURN} records: a quarter millisecond's); one batch per turn, its records
 *   stamped at the call. Subject: the worker follows with `log.follow({ copy: false })` and takes
 *   now - stamp per record (into an HDR histogram after the window: worker-readers-work.ts says
 *   why). Baseline: the same follow on the main thread, in
 *   the writer's thread (an in-process follower: what a user does without a worker), on another
 *   stream of the same manager. The honest comparison for "keeps up" is that one: both are paced by
 *   the same writer, so a side that keeps up reads at the writer's rate, and the ratio of read
 *   rates (records / (last read - first append)), worker / main, is ~1.0 when both keep up and
 *   shows which one fell behind otherwise; the latencies (in the notes and histograms) say at what
 *   delay each reads, where the worker pays a cross-thread wake-up per wait at the tail. Targets
 *   (issue 15, "keeps up"): the writer held the rate (>= 0.98 of 1M records/s), and the worker read
 *   the last record at most {@link GRACE_MS} ms after the last append, in every window. Untimed:
 *   a warm-up window per side first (the worker's isolate is new, and a stream's first windows are
 *   small), and between windows, the logs flushed and the flush queue empty.
 *
 * Verification: every side's every scan or window read each record once, in order, ids dense,
 * bytes passing the check.
 */
import { Worker } from 'node:worker_threads';
import { AofManager, WouldBlockError, type AofLog } from '../src/index.js';
import { frameLength } from '../src/format/record.js';
import { quiesce, tempRoot, TIERS_OFF } from './fixtures.js';
import { pacedWrites } from './pacing.js';
import { atLeast, atMost, LatencyHistogram, measured, nowNs, ratioResult, summedVerifications, verification, type BenchResult, type Suite, type SuiteOptions, type Verification } from './shared.js';
import { RecordWriter, timedFollow, timedScan, type FollowFigures, type FromWorker, type ScanFigures, type ToWorker } from './worker-readers-work.js';

const WORKER = new URL('./worker-readers-worker.js', import.meta.url);
const MiB = 1024 * 1024;
/** The scan's manager: the default arena and segment size, spelled out (the history must fit it). */
const SCAN_TIER0 = { arenaBytes: 128 * MiB, segmentBytes: 4 * MiB } as const;
/** Issue 15: a worker's scan at least this fraction of the main thread's. */
const SCAN_TARGET = 0.8;
const FOLLOW_RATE = 1_000_000;
const FOLLOW_SIZE = 100;
/** Most records one writer turn appends (one appendBatchSync): 256 µs of records at 1M/s. */
const MAX_PER_TURN = 256;
/** The writer held the pace if it wrote at this fraction of FOLLOW_RATE or more. */
const PACE_HELD = 0.98;
/**
 * "Kept up": the last record read at most this long after the last append. A few scheduler slices
 * on a loaded 2-core machine, 2.5% of a full window (10% of a quick one): a follower that falls
 * behind at 1M/s drains for far longer (10 ms behind is 10,000 records).
 */
const GRACE_MS = 50;
/** How long past its window a follow may run before it is stopped (its figures then fail verification). */
const FOLLOW_DEADLINE_MS = 30_000;

/** The suite's worker: requests answered one at a time, in order, by kind. */
class ReaderWorker {
  readonly #worker: Worker;
  readonly #waiting: { kind: FromWorker['kind']; resolve: (m: FromWorker) => void; reject: (e: Error) => void }[] = [];
  #failed: Error | null = null;
  readonly exited: Promise<void>;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (message: FromWorker) => {
      const waiter = this.#waiting.shift();
      if (waiter === undefined) return;
      if (message.kind === 'error') waiter.reject(new Error(`worker-readers worker: ${message.error}`));
      else if (message.kind !== waiter.kind) waiter.reject(new Error(`worker-readers worker: expected ${waiter.kind}, got ${message.kind}`));
      else waiter.resolve(message);
    });
    worker.on('error', (err) => this.#fail(err));
    this.exited = new Promise((resolve) => {
      worker.once('exit', (code) => {
        this.#fail(new Error(`worker-readers worker exited (${code})`));
        resolve();
      });
    });
  }

  /** Starts a worker on `manager`'s handle; resolves once it attached. */
  static async start(manager: AofManager): Promise<ReaderWorker> {
    const w = new ReaderWorker(new Worker(WORKER, { workerData: manager.shareHandle() }));
    await w.expect('ready');
    return w;
  }

  /** Posts `message`; resolves with the answer of kind `kind`. */
  request<K extends FromWorker['kind']>(message: ToWorker, kind: K): Promise<Extract<FromWorker, { kind: K }>> {
    const answer = this.expect(kind);
    this.#worker.postMessage(message);
    return answer;
  }

  /** The next answer of kind `kind` (answers come in request order): register before posting. */
  expect<K extends FromWorker['kind']>(kind: K): Promise<Extract<FromWorker, { kind: K }>> {
    if (this.#failed !== null) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ kind, resolve: resolve as (m: FromWorker) => void, reject });
    });
  }

  /** Posts `message` (its answers, if any, registered with {@link expect} first). */
  post(message: ToWorker): void {
    this.#worker.postMessage(message);
  }

  /** Closes the worker's view and waits for the thread to end. */
  async close(): Promise<void> {
    if (this.#failed === null) await this.request({ kind: 'close' }, 'closed');
    await this.exited;
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(err);
  }
}

// -------------------------------------------------------------------------------------------------
// Resident scan

/** Appends `records` records of `size` bytes (ids 0..), in batches, waiting out WouldBlock. */
async function fill(log: AofLog, size: number, records: number): Promise<void> {
  const writers = Array.from({ length: 1000 }, () => new RecordWriter(size));
  for (let id = 0; id < records; ) {
    const batch = writers.slice(0, Math.min(writers.length, records - id)).map((w, i) => w.set(id + i, 0));
    let first: number;
    try {
      first = log.appendBatchSync(batch);
    } catch (err) {
      if (!(err instanceof WouldBlockError)) throw err;
      first = await log.appendBatch(batch);
    }
    if (first !== id) throw new Error(`worker-readers: appended record ${first}, expected ${id}`);
    id += batch.length;
  }
}

interface ScanSide {
  histogram: LatencyHistogram;
  ns: number;
  records: number;
  scans: number;
  verified: Verification[][];
}

function scanSide(): ScanSide {
  return { histogram: new LatencyHistogram('nextSync() (batch mean)'), ns: 0, records: 0, scans: 0, verified: [] };
}

function addScan(s: ScanSide, what: 'subject' | 'baseline', f: ScanFigures, expected: number, size: number): void {
  s.ns += f.ns;
  s.records += f.records;
  s.scans++;
  const bytesOk = f.bytes === f.records * size;
  s.verified.push([verification(what, expected, bytesOk && f.records === expected ? f.good : -1, 'every record read once from 0 to the tail, ids dense, length and bytes checked, lengths summed')]);
}

async function scanCase(options: SuiteOptions, size: number): Promise<BenchResult> {
  const historyMiB = options.quick ? 16 : 64;
  const rounds = options.quick ? 5 : 20;
  const records = Math.floor((historyMiB * MiB) / frameLength(size));
  const label = size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
  const { root, cleanup } = tempRoot('worker-readers-scan');
  try {
    const manager = await AofManager.open({ root, ...TIERS_OFF.options, tier0: SCAN_TIER0 });
    let worker: ReaderWorker | null = null;
    try {
      const stream = 'scan';
      const log = await manager.openStream(stream);
      options.progress(`worker-readers: scan ${label}, writing ${historyMiB} MiB (${records} records)`);
      await fill(log, size, records);
      await quiesce(manager, [log]);
      worker = await ReaderWorker.start(manager);
      const w = worker;
      const subject = scanSide();
      const baseline = scanSide();
      const onWorker = async (s: ScanSide | null): Promise<void> => {
        const answer = await w.request({ kind: 'scan', stream, size }, 'scanned');
        if (s === null) return;
        addScan(s, 'subject', answer.figures, records, size);
        s.histogram.addEncoded(answer.histogram);
      };
      const onMain = (s: ScanSide | null): void => {
        const histogram = s?.histogram ?? new LatencyHistogram('warm-up');
        const figures = timedScan(log, size, histogram);
        if (s !== null) addScan(s, 'baseline', figures, records, size);
      };
      await onWorker(null);
      onMain(null);
      for (let round = 0; round < rounds; round++) {
        options.progress(`worker-readers: scan ${label}, round ${round + 1}/${rounds}`);
        if (round % 2 === 0) {
          await onWorker(subject);
          onMain(baseline);
        } else {
          onMain(baseline);
          await onWorker(subject);
        }
      }
      const result = ratioResult({
        suite: 'worker-readers',
        case: `resident scan, ${label} records, nextSync() over views`,
        subject: measured('worker thread, nextSync()', subject.records, subject.ns, subject.histogram.count, subject.histogram),
        baseline: measured('main thread, nextSync()', baseline.records, baseline.ns, baseline.histogram.count, baseline.histogram),
        ratioOf: 'records/s, worker / main thread',
        targets: [],
        verified: [...summedVerifications(subject.verified, 'scans'), ...summedVerifications(baseline.verified, 'scans')],
        notes: [
          `${historyMiB} MiB: ${records} records of ${label} in ${Math.ceil((historyMiB * MiB) / SCAN_TIER0.segmentBytes)} segments of 4 MiB, all resident ` +
            `(128 MiB arena); ${rounds} scans per side after one warm-up each, alternating which side goes first; ` +
            `per scan: worker ${msText(subject.ns / subject.scans)} ms, main ${msText(baseline.ns / baseline.scans)} ms`,
        ],
      });
      result.targets.push(atLeast('ratio', SCAN_TARGET, result.ratio));
      return result;
    } finally {
      await worker?.close();
      await manager.close();
    }
  } finally {
    cleanup();
  }
}

// -------------------------------------------------------------------------------------------------
// Follow at 1M records/s

/**
 * Appends `count` records to `log` at FOLLOW_RATE, one appendBatchSync per turn, each batch's
 * records stamped with nowNs() just before the call. A WouldBlock (the arena full) is waited out by
 * `await appendBatch()` of the same batch (the pacer awaits it before the next turn, so the
 * reused payloads are not touched meanwhile). Resolves with the wall time and WouldBlocks seen.
 */
async function pacedWriter(log: AofLog, count: number): Promise<{ wallNs: number; wouldBlocks: number }> {
  const writers = Array.from({ length: MAX_PER_TURN }, () => new RecordWriter(FOLLOW_SIZE));
  const batches = Array.from({ length: MAX_PER_TURN + 1 }, (_, n) => writers.slice(0, n).map((w) => w.payload));
  let wouldBlocks = 0;
  const wallNs = await pacedWrites(
    (count * 1000) / FOLLOW_RATE,
    FOLLOW_RATE,
    (n) => {
      const first = log.nextId;
      const stamp = nowNs();
      for (let i = 0; i < n; i++) writers[i]!.set(first + i, stamp);
      const batch = batches[n]!;
      try {
        log.appendBatchSync(batch);
      } catch (err) {
        if (!(err instanceof WouldBlockError)) throw err;
        wouldBlocks++;
        return log.appendBatch(batch).then(() => undefined);
      }
      return undefined;
    },
    MAX_PER_TURN,
  );
  return { wallNs, wouldBlocks };
}

interface FollowSide {
  histogram: LatencyHistogram;
  /** Records read, and ns from each window's first append to its last read. */
  records: number;
  ns: number;
  windows: number;
  /** The writer's records/s, worst window. */
  writerMinRate: number;
  writerRecords: number;
  writerNs: number;
  wouldBlocks: number;
  /** ns from the last append to the last read, worst window (to the stop, for a window not read to its end). */
  maxDrainNs: number;
  verified: Verification[][];
}

function followSide(): FollowSide {
  return {
    histogram: new LatencyHistogram('record (append to read)'),
    records: 0,
    ns: 0,
    windows: 0,
    writerMinRate: Infinity,
    writerRecords: 0,
    writerNs: 0,
    wouldBlocks: 0,
    maxDrainNs: 0,
    verified: [],
  };
}

function addWindow(s: FollowSide, what: 'subject' | 'baseline', count: number, t0: number, writer: { wallNs: number; wouldBlocks: number }, f: FollowFigures): void {
  const complete = f.records === count && !f.stopped;
  s.records += f.records;
  s.ns += (f.lastReadAt > 0 ? f.lastReadAt : nowNs()) - t0;
  s.windows++;
  const rate = (count * 1e9) / writer.wallNs;
  s.writerMinRate = Math.min(s.writerMinRate, rate);
  s.writerRecords += count;
  s.writerNs += writer.wallNs;
  s.wouldBlocks += writer.wouldBlocks;
  // Not read to its end: how long after the last append it was stopped.
  s.maxDrainNs = Math.max(s.maxDrainNs, (complete ? f.lastReadAt : nowNs()) - (t0 + writer.wallNs));
  s.verified.push([verification(what, count, complete ? f.good : -1, 'every record appended in the window read once, in order, ids dense, bytes checked')]);
}

/** Calls `stop` after `ms` unless cancelled; returns the cancel. */
function deadline(ms: number, stop: () => void): () => void {
  const timer = setTimeout(stop, ms);
  return () => clearTimeout(timer);
}

async function followCase(options: SuiteOptions): Promise<BenchResult> {
  const { ms, rounds, warmMs } = options.quick ? { ms: 500, rounds: 1, warmMs: 100 } : { ms: 2000, rounds: 3, warmMs: 250 };
  const count = Math.round((FOLLOW_RATE * ms) / 1000);
  const { root, cleanup } = tempRoot('worker-readers-follow');
  try {
    const manager = await AofManager.open({ root, ...TIERS_OFF.options });
    let worker: ReaderWorker | null = null;
    try {
      const workerLog = await manager.openStream('worker');
      const mainLog = await manager.openStream('main');
      worker = await ReaderWorker.start(manager);
      const w = worker;
      const subject = followSide();
      const baseline = followSide();
      const onWorker = async (side: FollowSide, count: number): Promise<void> => {
        const following = w.expect('following');
        const followed = w.expect('followed');
        followed.catch(() => undefined); // awaited below; a failure meanwhile is not unhandled
        w.post({ kind: 'follow', stream: 'worker', from: workerLog.nextId, count, size: FOLLOW_SIZE });
        await following;
        const t0 = nowNs();
        const writer = await pacedWriter(workerLog, count);
        const cancel = deadline(FOLLOW_DEADLINE_MS, () => w.post({ kind: 'stop' }));
        const answer = await followed.finally(cancel);
        side.histogram.addEncoded(answer.histogram);
        addWindow(side, 'subject', count, t0, writer, answer.figures);
      };
      const onMain = async (side: FollowSide, count: number): Promise<void> => {
        const stop = new AbortController();
        // timedFollow runs synchronously up to its first wait: the follow waits when it returns.
        const reading = timedFollow(mainLog, mainLog.nextId, count, FOLLOW_SIZE, side.histogram, stop.signal, () => undefined);
        const t0 = nowNs();
        const writer = await pacedWriter(mainLog, count);
        const cancel = deadline(FOLLOW_DEADLINE_MS, () => stop.abort(new Error('the follow window is over')));
        const figures = await reading.finally(cancel);
        addWindow(side, 'baseline', count, t0, writer, figures);
      };
      const between = async (): Promise<void> => {
        await quiesce(manager, [workerLog, mainLog]); // untimed: the next window starts with the flush worker idle
        options.gc();
      };
      // Untimed warm-up, each side: the worker's isolate is new (its follow path runs cold), and
      // the first windows of a stream are small (a lease per window, until they have grown).
      options.progress(`worker-readers: follow at 1M records/s, warm-up, ${warmMs} ms per side`);
      for (const warm of [onWorker, onMain]) {
        await warm(followSide(), Math.round((FOLLOW_RATE * warmMs) / 1000));
        await between();
      }
      for (let round = 0; round < rounds; round++) {
        options.progress(`worker-readers: follow at 1M records/s, round ${round + 1}/${rounds}, ${ms} ms per side`);
        for (const [run, side] of round % 2 === 0 ? ([[onWorker, subject], [onMain, baseline]] as const) : ([[onMain, baseline], [onWorker, subject]] as const)) {
          await run(side, count);
          await between();
        }
      }
      const s = measured('worker thread, follow({ copy: false })', subject.records, subject.ns, subject.histogram.count, subject.histogram, followExtra(subject));
      const b = measured('main thread (the writer’s), follow({ copy: false })', baseline.records, baseline.ns, baseline.histogram.count, baseline.histogram, followExtra(baseline));
      return ratioResult({
        suite: 'worker-readers',
        case: `follow a writer at 1M records/s, ${FOLLOW_SIZE} B`,
        subject: s,
        baseline: b,
        ratioOf: 'records read / (last read - first append), worker / main thread (~1.0: both kept up with the same writer)',
        targets: [
          atLeast('writer records/s vs 1M (worst window)', PACE_HELD, subject.writerMinRate / FOLLOW_RATE),
          atMost('worker: last read after the last append, ms (worst window)', GRACE_MS, subject.maxDrainNs / 1e6),
        ],
        verified: [...summedVerifications(subject.verified, 'windows'), ...summedVerifications(baseline.verified, 'windows')],
        notes: [
          `append to read, p50 / p99 / p99.9: worker ${us(s.latency.p50)} / ${us(s.latency.p99)} / ${us(s.latency.p999)} µs; ` +
            `main thread ${us(b.latency.p50)} / ${us(b.latency.p99)} / ${us(b.latency.p999)} µs`,
          `writer, worker windows: ${rateText(subject)}; main-thread windows: ${rateText(baseline)}`,
          `last read after the last append (worst window): worker ${msText(subject.maxDrainNs)} ms, main thread ${msText(baseline.maxDrainNs)} ms`,
          `writer: appendBatchSync paced by setImmediate turns, at most ${MAX_PER_TURN} records per turn, stamped nowNs() at the call; ` +
            `${rounds} window(s) of ${ms} ms per side after an untimed ${warmMs} ms one each`,
        ],
      });
    } finally {
      await worker?.close();
      await manager.close();
    }
  } finally {
    cleanup();
  }
}

function followExtra(s: FollowSide): Record<string, number> {
  return {
    writerRatePerSec: s.writerNs > 0 ? (s.writerRecords * 1e9) / s.writerNs : 0,
    writerMinRatePerSec: s.writerMinRate,
    maxDrainMs: s.maxDrainNs / 1e6,
    wouldBlocks: s.wouldBlocks,
  };
}

function rateText(s: FollowSide): string {
  const mean = s.writerNs > 0 ? (s.writerRecords * 1e9) / s.writerNs : 0;
  return `${(mean / 1e6).toFixed(3)} M records/s (worst window ${(s.writerMinRate / 1e6).toFixed(3)}), ${s.wouldBlocks} WouldBlock`;
}

function us(ns: number): string {
  return (ns / 1e3).toFixed(ns < 1e5 ? 1 : 0);
}

export const workerReaders: Suite = {
  name: 'worker-readers',
  description: 'readers in a worker thread (AofManager.attach): a resident nextSync() scan vs the main thread’s, and a follow of a 1M records/s writer',
  async run(options: SuiteOptions): Promise<BenchResult[]> {
    return [await scanCase(options, 100), await scanCase(options, 1024), await followCase(options)];
  },
};

function msText(ns: number): string {
  return (ns / 1e6).toFixed(1);
}
