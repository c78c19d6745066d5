/**
 * zstd-zlib: Node's built-in zstd (`zlib.zstdCompress` / `zstdDecompress`, Node >= 22.15) against
 * the `@mongodb-js/zstd` addon, the two implementations behind `tier1.codec` (src/codec/zstd.ts),
 * on the same frames in the same run. The figure `'auto'` is chosen from (docs/decisions.md,
 * "zlib's zstd by default on Node >= 22.15").
 *
 * Frames: the Tier 1 suites' 1 KiB JSON log lines (records.ts), laid out as the engine lays out a
 * segment (fillSegment: header, CRC, timestamp, payload, padding), cut into FRAME_BYTES frames,
 * each compressed on its own at level LEVEL: exactly what a compress task hands the codec.
 *
 * Two cases, each side through the codec seam (`loadZstd(implementation)`: level check, length
 * check), on this thread, the native work on the libuv pool as in the workers:
 * - compress: every frame, COMPRESS_IN_FLIGHT at a time (a compress task keeps two frames in
 *   flight), timed per frame from call to result;
 * - decompress: every frame one at a time (a hydration is one frame), both sides decoding the same
 *   frames, written by the addon (the format's first writer: what older files on disk hold).
 * Rounds alternate baseline (addon) and subject (zlib), three in full mode. Both sides also report
 * the CPU time of the whole process per MB (every thread, the libuv pool's included): on a loaded
 * machine the wall-clock rate moves with the load, CPU per MB much less.
 *
 * Verification: every frame the subject compressed decodes with the addon, and every frame the
 * baseline compressed with zlib, to the exact input bytes (the files are interchangeable); every
 * decompressed frame equals its input.
 *
 * On a runtime without zlib's zstd (Node 20, 22 before 22.15) the suite reports nothing and says so.
 */
import { loadZstd, offeredImplementations, type Codec } from '../src/codec/zstd.js';
import { sameBytes } from '../native-free-bench/fixtures.js';
import { LatencyHistogram, measured, nowNs, ratioResult, verification, type BenchResult, type Measurement, type Suite, type SuiteOptions } from '../native-free-bench/shared.js';
import { FRAME_BYTES, LEVEL, MiB, SEED, SEGMENT_BYTES, mbPerSec } from './fixtures.js';
import { fillSegment, LogRecords } from './records.js';

/** Frames compressed at once, as a compress task keeps them (workers/compress.ts PIPELINE_DEPTH). */
const COMPRESS_IN_FLIGHT = 2;

interface Side {
  histogram: LatencyHistogram;
  ns: number;
  cpuUs: number;
  frames: number;
  rawBytes: number;
  outBytes: number;
  /** Frames whose output the other implementation (compress) or a byte compare (decompress) found right. */
  ok: number;
}

function side(per: string): Side {
  return { histogram: new LatencyHistogram(per), ns: 0, cpuUs: 0, frames: 0, rawBytes: 0, outBytes: 0, ok: 0 };
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** The frames: whole segments of log records, cut every FRAME_BYTES (a copy each, like a worker's view). */
function buildFrames(quick: boolean): Uint8Array[] {
  const records = new LogRecords(SEED);
  const segments = quick ? 4 : 16;
  const perSegment = Math.floor(SEGMENT_BYTES / records.frameBytes);
  const frames: Uint8Array[] = [];
  const image = new Uint8Array(SEGMENT_BYTES);
  for (let s = 0; s < segments; s++) {
    const { dataBytes } = fillSegment(image, records, s * perSegment, perSegment, 1_735_689_600_000);
    for (let off = 0; off < dataBytes; off += FRAME_BYTES) frames.push(image.slice(off, Math.min(dataBytes, off + FRAME_BYTES)));
  }
  return frames;
}

async function compressAll(codec: Codec, other: Codec, frames: readonly Uint8Array[], s: Side, keep: Uint8Array[] | null): Promise<void> {
  let next = 0;
  const outputs: Uint8Array[] = new Array<Uint8Array>(frames.length);
  const runner = async (): Promise<void> => {
    while (next < frames.length) {
      const i = next++;
      const t0 = nowNs();
      outputs[i] = await codec.compress(frames[i]!, LEVEL);
      s.histogram.record(nowNs() - t0);
    }
  };
  const cpu0 = cpuMicros();
  const t0 = nowNs();
  await Promise.all(Array.from({ length: COMPRESS_IN_FLIGHT }, runner));
  s.ns += nowNs() - t0;
  s.cpuUs += cpuMicros() - cpu0;
  // Outside the clock: the other implementation reads every frame back.
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    const out = outputs[i]!;
    s.frames++;
    s.rawBytes += frame.length;
    s.outBytes += out.length;
    if (sameBytes(await other.decompress(out, frame.length), frame)) s.ok++;
    if (keep !== null) keep[i] = out;
  }
}

async function decompressAll(codec: Codec, frames: readonly Uint8Array[], compressed: readonly Uint8Array[], s: Side): Promise<void> {
  const outputs: Uint8Array[] = [];
  const cpu0 = cpuMicros();
  const t0 = nowNs();
  for (let i = 0; i < compressed.length; i++) {
    const f0 = nowNs();
    outputs.push(await codec.decompress(compressed[i]!, frames[i]!.length));
    s.histogram.record(nowNs() - f0);
  }
  s.ns += nowNs() - t0;
  s.cpuUs += cpuMicros() - cpu0;
  for (let i = 0; i < frames.length; i++) {
    s.frames++;
    s.rawBytes += frames[i]!.length;
    s.outBytes += compressed[i]!.length;
    if (sameBytes(outputs[i]!, frames[i]!)) s.ok++;
  }
}

function measurement(name: string, s: Side): Measurement {
  return measured(name, s.frames, s.ns, s.histogram.count, s.histogram, {
    mbPerSec: mbPerSec(s.rawBytes, s.ns),
    cpuUsPerMB: s.cpuUs / (s.rawBytes / MiB),
    compressionRatio: s.rawBytes / s.outBytes,
  });
}

export const zstdZlib: Suite = {
  name: 'zstd-zlib',
  description: 'zlib zstd vs addon: the same 256 KiB frames compressed (2 in flight) and decompressed (one at a time) by Node\'s built-in zstd and @mongodb-js/zstd',
  async run(options: SuiteOptions): Promise<BenchResult[]> {
    if (!offeredImplementations().includes('zstd-zlib')) {
      options.progress(`zstd-zlib: skipped, zlib has no zstd on Node ${process.version} (22.15 and later have it)`);
      return [];
    }
    const addon = loadZstd('zstd-addon');
    const zlib = loadZstd('zstd-zlib');
    const frames = buildFrames(options.quick);
    const rounds = options.quick ? 1 : 3;
    const rawMiB = frames.reduce((n, f) => n + f.length, 0) / MiB;
    // Warmup (JIT, the addon's first load, the libuv threads) and the addon's frames for the decompress case.
    const addonFrames: Uint8Array[] = new Array<Uint8Array>(frames.length);
    await compressAll(addon, zlib, frames, side('warmup'), addonFrames);
    await compressAll(zlib, addon, frames, side('warmup'), null);

    const c = { subject: side('frame compress (each, 2 in flight)'), baseline: side('frame compress (each, 2 in flight)') };
    const d = { subject: side('frame decompress (each)'), baseline: side('frame decompress (each)') };
    for (let round = 0; round < rounds; round++) {
      options.progress(`zstd-zlib: round ${round + 1}/${rounds} (${frames.length} frames, ${rawMiB.toFixed(0)} MiB)`);
      await compressAll(addon, zlib, frames, c.baseline, null);
      await compressAll(zlib, addon, frames, c.subject, null);
      await decompressAll(addon, frames, addonFrames, d.baseline);
      await decompressAll(zlib, frames, addonFrames, d.subject);
    }
    const results: BenchResult[] = [];
    for (const [what, pair, how] of [
      ['compress', c, 'frames whose output the other implementation decodes to the exact input'],
      ['decompress', d, 'frames decoded to the exact input (frames written by the addon)'],
    ] as const) {
      const subject = measurement(`zlib.zstd${what === 'compress' ? 'Compress' : 'Decompress'} (Node ${process.versions.node})`, pair.subject);
      const baseline = measurement(`@mongodb-js/zstd ${what}`, pair.baseline);
      const expected = frames.length * rounds;
      results.push(
        ratioResult({
          suite: 'zstd-zlib',
          case: `zlib zstd vs addon: ${what}, ${FRAME_BYTES / 1024} KiB frames of 1 KiB JSON records, level ${LEVEL}`,
          subject,
          baseline,
          ratioOf: 'frames/s (= raw MB/s)',
          targets: [],
          verified: [verification('subject', expected, pair.subject.ok, how), verification('baseline', expected, pair.baseline.ok, how)],
          notes: [
            `raw MB/s: zlib ${subject.extra['mbPerSec']!.toFixed(0)} vs addon ${baseline.extra['mbPerSec']!.toFixed(0)}; ` +
              `CPU µs per MB (whole process): zlib ${subject.extra['cpuUsPerMB']!.toFixed(0)} vs addon ${baseline.extra['cpuUsPerMB']!.toFixed(0)} ` +
              `(${(baseline.extra['cpuUsPerMB']! / subject.extra['cpuUsPerMB']!).toFixed(2)}x)`,
            what === 'compress'
              ? `compression ratio: zlib ${subject.extra['compressionRatio']!.toFixed(3)}x vs addon ${baseline.extra['compressionRatio']!.toFixed(3)}x (libzstd ${process.versions['zstd'] ?? '?'} in Node)`
              : `${rounds} round(s) of ${frames.length} frames (${rawMiB.toFixed(0)} MiB raw); both sides decode the same addon-written frames`,
          ],
        }),
      );
    }
    return results;
  },
};
