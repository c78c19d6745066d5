/**
 * point-read: latency of one cold point read from Tier 1, against a raw ranged read and
 * decompress of the same frame in the same run.
 *
 * Subject: the dataset (fixtures.ts, every segment a .t1 file) reopened with an arena of SLOTS
 * segments. One read = `log.openReader({ from: id })` + `await reader.next()`, timed from the
 * call to the record in hand; the reader is closed after. The segments are visited round-robin
 * in a shuffled order, each visit a random record of the segment's next frame
 * (`frameRotatingPicker`), so a frame comes round again only after segments x frames reads, far
 * more than the arena's runs: it was evicted and every read is cold — checked, not assumed: each read must raise the engine's
 * `framesDecompressed` counter by exactly one (one frame, never the segment). A first pass over
 * every segment, untimed for the ratio, loads the frame indexes (a long-running process has them)
 * and starts the hydrate workers; its latencies are reported separately.
 *
 * Baseline: the same ids, in the same order: `readFrame` (src/format/tier1-file.ts: open, one
 * positional read, zstd decompress, length and CRC check) on this thread with `loadZstd()`, then
 * the walk to the record inside the frame. The frame index is in memory, as the engine's is.
 *
 * Both sides alternate in rounds of ROUND reads. The ratio is of reads per second (1 / mean
 * latency); p50 and p99 of both are the figures that matter. No target in the issue beyond
 * reporting them.
 */
import { loadZstd } from '../src/codec/zstd.js';
import { AofManager } from '../src/index.js';
import { frameForRecord } from '../src/format/tier1.js';
import { seededRandom } from '../src/seeded-random.js';
import { readFrame } from '../src/format/tier1-file.js';
import { formatNs, LatencyHistogram, measured, nowNs, ratioResult, verification, type BenchResult, type Measurement, type Suite, type SuiteOptions } from '../native-free-bench/shared.js';
import { FRAME_BYTES, frameRotatingPicker, readerOptions, recordInFrame, shuffled, STREAM, tier1Dataset, waitUntil, type Tier1Dataset } from './fixtures.js';

/** Arena slots while reading: fewer than the dataset's segments, so revisited segments were evicted. */
const SLOTS = 4;
/** Reads per side per round. */
const ROUND = 50;

interface Side {
  histogram: LatencyHistogram;
  ns: number;
  reads: number;
  correct: number;
}

function side(per: string): Side {
  return { histogram: new LatencyHistogram(per), ns: 0, reads: 0, correct: 0 };
}

function measurement(name: string, s: Side, extra: Record<string, number> = {}): Measurement {
  return measured(name, s.reads, s.ns, s.reads, s.histogram, extra);
}

export const pointRead: Suite = {
  name: 'point-read',
  description: 'one cold point read from Tier 1 (reader.next) vs readFrame + decompress of the same frame in-thread',
  async run(options: SuiteOptions): Promise<BenchResult[]> {
    const ds = await tier1Dataset(options);
    const samples = options.quick ? 200 : 2000;
    if (ds.segments <= SLOTS + 1) throw new Error(`point-read needs more than ${SLOTS + 1} segments, the dataset has ${ds.segments}`);
    const rand = seededRandom(7);
    const order = shuffled(ds.segments, rand);
    const pickId = frameRotatingPicker(ds.files, rand);
    const warm = order.map(pickId);
    const plan = Array.from({ length: samples }, (_, i) => pickId(order[i % order.length]!));

    const manager = await AofManager.open(readerOptions(ds.root, SLOTS));
    const engine = side('point read (each)');
    const first = side('first read of a segment after open');
    let cold = 0;
    try {
      const log = await manager.openStream(STREAM);
      const frames = (): number => manager.stats().tier1.framesDecompressed;
      const settled = (): Promise<void> => waitUntil(() => manager.stats().tier1.hydrateQueue === 0, 'hydrations to settle', 30_000, 1);
      /** One timed read; returns the frames it made the engine decompress (counted once the task settled). */
      const engineRead = async (id: number, into: Side): Promise<number> => {
        const before = frames();
        const t0 = nowNs();
        const reader = log.openReader({ from: id });
        const rec = await reader.next();
        const ns = nowNs() - t0;
        if (rec !== null && rec.id === id && ds.records.matches(id, rec.payload)) into.correct++;
        reader.close();
        into.histogram.record(ns);
        into.ns += ns;
        into.reads++;
        // The reader wakes on the worker's notify, a moment before the pool's promise bumps the counter.
        await settled();
        return frames() - before;
      };

      options.progress(`point-read: first read of each of ${ds.segments} segments (loads the frame indexes)`);
      for (const id of warm) await engineRead(id, first);

      const codec = loadZstd();
      const raw = side('point read (each)');
      const rawRead = async (id: number): Promise<void> => {
        const file = ds.files[Math.floor(id / ds.perSegment)]!;
        const t0 = nowNs();
        const index = id - file.baseId;
        const entry = file.meta.index[frameForRecord(file.meta.index, index)]!;
        const bytes = await readFrame(file.path, entry, codec);
        const payload = recordInFrame(bytes, entry, index);
        const ns = nowNs() - t0;
        if (ds.records.matches(id, payload)) raw.correct++;
        raw.histogram.record(ns);
        raw.ns += ns;
        raw.reads++;
      };
      await rawRead(warm[0]!); // JIT and the addon's first load, not recorded:
      raw.histogram = new LatencyHistogram('point read (each)');
      raw.ns = 0;
      raw.reads = 0;
      raw.correct = 0;

      options.progress(`point-read: ${samples} reads per side, alternating rounds of ${ROUND}`);
      for (let at = 0; at < samples; at += ROUND) {
        const round = plan.slice(at, at + ROUND);
        for (const id of round) await rawRead(id);
        for (const id of round) if ((await engineRead(id, engine)) === 1) cold++;
      }
      return [result(ds, samples, engine, raw, first, cold)];
    } finally {
      await manager.close();
    }
  },
};

function result(ds: Tier1Dataset, samples: number, engine: Side, raw: Side, first: Side, cold: number): BenchResult {
  const subject = measurement('reader.next() from Tier 1', engine);
  const baseline = measurement('readFrame + decompress', raw);
  const f = first.histogram.summary();
  return ratioResult({
    suite: 'point-read',
    case: `1 KiB record, ${FRAME_BYTES / 1024} KiB frames`,
    subject,
    baseline,
    ratioOf: 'reads/s (1 / mean latency)',
    targets: [],
    verified: [
      verification('subject', samples, engine.correct, 'reads that returned the requested id with its exact bytes'),
      verification('subject', samples, cold, 'reads that were cold: framesDecompressed rose by exactly 1 (segment not resident, one frame hydrated)'),
      verification('baseline', samples, raw.correct, 'reads that found the requested record in the decompressed frame'),
    ],
    notes: [
      `p50 ${formatNs(subject.latency.p50)} vs ${formatNs(baseline.latency.p50)} (${(baseline.latency.p50 / subject.latency.p50).toFixed(2)}x), ` +
        `p99 ${formatNs(subject.latency.p99)} vs ${formatNs(baseline.latency.p99)} (${(baseline.latency.p99 / subject.latency.p99).toFixed(2)}x)`,
      `first read of each segment after open (frame index read from the file too): p50 ${formatNs(f.p50)}, max ${formatNs(f.max)} over ${f.count} reads ` +
        `(the first also starts a hydrate worker)`,
      `${ds.segments} segments (${(ds.rawBytes / 2 ** 20).toFixed(0)} MiB raw, ${(ds.compressedBytes / 2 ** 20).toFixed(1)} MiB in Tier 1, ${ds.frames} frames), arena of ${SLOTS} slots; files in the OS page cache on both sides`,
    ],
  });
}
