/**
 * cold-scan: a sequential scan of a whole stream held in Tier 1, through the public API, against
 * a raw decompress loop over the same frames, in the same run.
 *
 * Subject: the dataset (fixtures.ts) reopened with an arena of SLOTS segments (nothing resident);
 * `for await (const rec of log.read({ from: 0 }))` to the end. Each segment's frame index is read
 * from its file when the reader reaches it; frames are decompressed by the hydrate pool into the
 * segment's slot, one frame ahead of the reader. The consumer checks every id is the next one and
 * compares every 64th record's bytes; afterwards the engine's framesDecompressed counter must have
 * risen by exactly the dataset's frame count (each frame once, no whole-segment hydration).
 *
 * Baseline: the same frames, the same order, on this thread: `readTier1Meta` per file, then
 * `readFrame` (open, positional read, zstd decompress, length and CRC check) per frame, awaited
 * one at a time, and a walk over the records of the frame with the same checks. The zstd call
 * runs on the libuv pool in both cases; the engine may have two frames in flight (read-ahead),
 * the baseline one.
 *
 * Rounds alternate baseline, subject (three in full mode). Rates are records/s and MB/s of raw
 * record bytes (header + payload + padding); the ratio is the subject's over the baseline's.
 * Latencies are per record: batch means over 1,000 records (subject) or over one frame (baseline).
 */
import { loadZstd } from '../src/codec/zstd.js';
import { RECORD_PAYLOAD_OFFSET, frameLength, readFramePayloadLength } from '../src/format/record.js';
import { AofManager, type AofLog, type LogRecord } from '../src/index.js';
import { readFrame, readTier1Meta } from '../src/format/tier1-file.js';
import { LatencyHistogram, nowNs, ratioResult, verification, type BenchResult, type Measurement, type Suite, type SuiteOptions } from '../native-free-bench/shared.js';
import { FRAME_BYTES, mbPerSec, readerOptions, STREAM, tier1Dataset, waitUntil, type Tier1Dataset } from './fixtures.js';
import type { LogRecords } from './records.js';

const SLOTS = 4;
const BATCH = 1000;
/** Every SAMPLE_EVERY-th record is compared byte for byte (both sides); ids are checked for all. */
export const SAMPLE_EVERY = 64;

/** One side's figures, summed over the rounds (follower-scan.ts keeps its sides the same way). */
export interface ScanSide {
  histogram: LatencyHistogram;
  ns: number;
  records: number;
  /** Records in the right order (ids) whose sampled bytes matched. */
  inOrder: number;
  sampled: number;
  sampledOk: number;
  frames: number;
}

/** An empty side whose latency histogram is labelled `per` (what one sample is the mean over). */
export function scanSide(per: string): ScanSide {
  return { histogram: new LatencyHistogram(per), ns: 0, records: 0, inOrder: 0, sampled: 0, sampledOk: 0, frames: 0 };
}

/** How the engine side iterates: the async iterator (payload copies) or a reader (arena views). */
export type Api = 'read' | 'next';

/**
 * The engine side: reopen (nothing resident), start the hydrate workers, scan everything, count
 * the frames decompressed. Starting the workers is done before the clock, by reading the last
 * record of the last two segments at once (so both pool threads start): the figure is the scan of
 * a process whose workers are up, like the baseline whose addon is loaded. Those two segments'
 * slots are the least recently used when the scan needs slots, so they are evicted before it
 * reaches them and every frame is decompressed during the scan. The start-up time is reported.
 */
async function engineScan(ds: Tier1Dataset, s: ScanSide, api: Api, startup: number[]): Promise<void> {
  const manager = await AofManager.open(readerOptions(ds.root, SLOTS));
  try {
    const log = await manager.openStream(STREAM);
    const settled = (): Promise<void> => waitUntil(() => manager.stats().tier1.hydrateQueue === 0, 'hydrations to settle', 30_000);
    const w0 = nowNs();
    const warm = [ds.recordCount - 1, ds.recordCount - 1 - ds.perSegment].map((id) => log.openReader({ from: id }));
    await Promise.all(warm.map((r) => r.next()));
    startup.push(nowNs() - w0);
    for (const r of warm) r.close();
    await settled();
    const before = manager.stats().tier1.framesDecompressed;
    await timedScan(log, api, ds.records, s);
    await settled();
    s.frames += manager.stats().tier1.framesDecompressed - before;
  } finally {
    await manager.close();
  }
}

/**
 * The clocked part of an engine side, here and in follower-scan.ts: every record of `log` from 0
 * to its end through `api`, each id checked, every SAMPLE_EVERY-th record's bytes compared with
 * `records`, latency per record as batch means over BATCH records. Adds the time, the counts and
 * the samples to `s`.
 */
export async function timedScan(log: AofLog, api: Api, records: LogRecords, s: ScanSide): Promise<void> {
  let id = 0;
  let inOrder = 0;
  let sampled = 0;
  let sampledOk = 0;
  const t0 = nowNs();
  let b0 = t0;
  const consume = (rec: LogRecord): void => {
    if (rec.id === id) inOrder++;
    if (id % SAMPLE_EVERY === 0) {
      sampled++;
      if (records.matches(id, rec.payload)) sampledOk++;
    }
    id++;
    if (id % BATCH === 0) {
      const now = nowNs();
      s.histogram.recordMany((now - b0) / BATCH, BATCH);
      b0 = now;
    }
  };
  if (api === 'read') {
    for await (const rec of log.read({ from: 0 })) consume(rec);
  } else {
    const reader = log.openReader({ from: 0 });
    for (let rec = await reader.next(); rec !== null; rec = await reader.next()) consume(rec);
    reader.close();
  }
  const end = nowNs();
  if (id % BATCH !== 0) s.histogram.recordMany((end - b0) / (id % BATCH), id % BATCH);
  s.ns += end - t0;
  s.records += id;
  s.inOrder += inOrder;
  s.sampled += sampled;
  s.sampledOk += sampledOk;
}

/** The baseline: every frame of every file, in order, decompressed on this thread. */
async function rawScan(ds: Tier1Dataset, s: ScanSide): Promise<void> {
  const codec = loadZstd();
  let id = 0;
  let inOrder = 0;
  let sampled = 0;
  let sampledOk = 0;
  let frames = 0;
  const t0 = nowNs();
  for (const file of ds.files) {
    const meta = await readTier1Meta(file.path);
    for (const entry of meta.index) {
      const f0 = nowNs();
      const raw = await readFrame(file.path, entry, codec);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      let off = 0;
      for (let r = 0; r < entry.recordCount; r++) {
        const length = readFramePayloadLength(view, off);
        // The frame carries no ids: a record is in order when it sits where the index says.
        if (meta.header.baseId + entry.firstRecord + r === id) inOrder++;
        if (id % SAMPLE_EVERY === 0) {
          sampled++;
          if (ds.records.matches(id, raw.subarray(off + RECORD_PAYLOAD_OFFSET, off + RECORD_PAYLOAD_OFFSET + length))) sampledOk++;
        }
        off += frameLength(length);
        id++;
      }
      s.histogram.recordMany((nowNs() - f0) / entry.recordCount, entry.recordCount);
      frames++;
    }
  }
  s.ns += nowNs() - t0;
  s.records += id;
  s.inOrder += inOrder;
  s.sampled += sampled;
  s.sampledOk += sampledOk;
  s.frames += frames;
}

/** A side's figures as the report's Measurement: records/s and MB/s of `bytesPerRecord` per record. */
export function measurement(name: string, s: ScanSide, bytesPerRecord: number): Measurement {
  return {
    name,
    records: s.records,
    elapsedMs: s.ns / 1e6,
    ratePerSec: s.ns === 0 ? 0 : (s.records * 1e9) / s.ns,
    samples: s.histogram.count,
    latency: s.histogram.summary(),
    extra: { mbPerSec: mbPerSec(s.records * bytesPerRecord, s.ns), frames: s.frames },
  };
}

export const coldScan: Suite = {
  name: 'cold-scan',
  description: 'sequential scan of a Tier 1 stream (log.read(), reader.next()) vs readFrame + decompress of the same frames in-thread',
  async run(options: SuiteOptions): Promise<BenchResult[]> {
    const ds = await tier1Dataset(options);
    const rounds = options.quick ? 1 : 3;
    const viaRead = scanSide('record (batch mean of 1,000)');
    const viaNext = scanSide('record (batch mean of 1,000)');
    const raw = scanSide('record (mean over its frame)');
    const startup: number[] = [];
    // Warmup: JIT and the addon's first load on this thread.
    await rawScan(ds, scanSide('warmup'));
    for (let round = 0; round < rounds; round++) {
      options.progress(`cold-scan: round ${round + 1}/${rounds} (${(ds.rawBytes / 2 ** 20).toFixed(0)} MiB, ${ds.frames} frames)`);
      await rawScan(ds, raw);
      await engineScan(ds, viaRead, 'read', startup);
      await engineScan(ds, viaNext, 'next', startup);
    }
    const bytesPerRecord = ds.rawBytes / ds.recordCount;
    const baseline = measurement('readFrame + decompress loop', raw, bytesPerRecord);
    const expected = ds.recordCount * rounds;
    const sampled = Math.ceil(ds.recordCount / SAMPLE_EVERY) * rounds;
    const startupMs = startup.map((ns) => (ns / 1e6).toFixed(0)).join(', ');
    const results: BenchResult[] = [];
    for (const [api, s, name] of [
      ['log.read()', viaRead, 'log.read() over Tier 1 (copies)'],
      ['reader.next()', viaNext, 'reader.next() over Tier 1 (views)'],
    ] as const) {
      const subject = measurement(name, s, bytesPerRecord);
      results.push(
        ratioResult({
          suite: 'cold-scan',
          case: `${api}, ${(ds.rawBytes / 2 ** 20).toFixed(0)} MiB, ${FRAME_BYTES / 1024} KiB frames`,
          subject,
          baseline,
          ratioOf: 'records/s (= raw MB/s)',
          targets: [],
          verified: [
            verification('subject', expected, s.inOrder, 'records returned with dense ids from 0 to the end'),
            verification('subject', sampled, s.sampledOk, `every ${SAMPLE_EVERY}th record compared byte for byte`),
            verification('subject', ds.frames * rounds, s.frames, 'frames decompressed by the engine during the scan (framesDecompressed): each frame exactly once'),
            verification('baseline', expected, raw.inOrder, 'records walked in index order'),
            verification('baseline', sampled, raw.sampledOk, `every ${SAMPLE_EVERY}th record compared byte for byte`),
          ],
          notes: [
            `engine ${subject.extra['mbPerSec']!.toFixed(0)} MB/s vs raw decompress ${baseline.extra['mbPerSec']!.toFixed(0)} MB/s of records ` +
              `(${((ds.compressedBytes / ds.rawBytes) * subject.extra['mbPerSec']!).toFixed(0)} vs ${((ds.compressedBytes / ds.rawBytes) * baseline.extra['mbPerSec']!).toFixed(0)} MB/s read from Tier 1 files)`,
            `${rounds} round(s) over ${ds.segments} segments, ${ds.frames} frames, compression ${(ds.rawBytes / ds.compressedBytes).toFixed(2)}x; arena of ${SLOTS} slots; ` +
              'engine: hydrate pool of 2 threads, one frame of read-ahead; baseline: one frame at a time',
            `not in the rate: after each reopen, starting the hydrate workers (first two reads) took ${startupMs} ms`,
          ],
        }),
      );
    }
    return results;
  },
};
