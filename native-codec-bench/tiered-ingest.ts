/**
 * tiered-ingest: sustained ingest of 1 KiB JSON log lines through Tier 0 and Tier 1 (and, in a second
 * case, on into the local-directory Tier 2, waiting for every upload), against the
 * compression pool alone on the same bytes, in the same run.
 *
 * Subject: a manager with the shipped settings (128 MiB arena of 4 MiB segments, zstd level 3,
 * 256 KiB frames, fsync 'interval'); one stream; `await log.append(record)` in a loop (append
 * awaits WouldBlock itself) for DURATION seconds; then the clock keeps running until every sealed
 * segment is compressed (Tier 1 stats: segmentsCompressed = sealed segments, compressQueue 0).
 * The rate is the raw bytes of those segments over the whole time, so the arena absorbing the
 * first 128 MiB at memory speed does not flatter it: what counts is data that reached Tier 1.
 * On this path the main thread appends, the flush worker CRCs and writes the raw segment files
 * (fdatasync at seal), the compress pool reads each segment from its arena slot (or from the raw
 * file once the slot was reused) and writes the .t1 file, the manifest records each transition,
 * and the raw file is deleted.
 *
 * Baseline: a piscina pool over the same worker file (workers/compress.js) with the engine's pool
 * settings and two tasks in flight, as the engine keeps them, compressing as many segments as the
 * subject compressed, from segment images in a SharedArrayBuffer laid out like arena slots (same
 * records, per-record CRCs, same level and frame size), each to a .t1 file (fdatasync, rename),
 * exactly the work the engine's compress task does. The images are built before the clock starts;
 * past RING_SEGMENTS (256 MiB) they are reused in turn (frames are compressed independently, so a
 * reused image compresses exactly as a fresh one of the same generator would).
 *
 * Rounds alternate subject, baseline (two rounds in full mode), so drift on a shared machine hits
 * both. Target (issue #3): subject >= 0.7x the baseline's throughput.
 *
 * Both sides also report the CPU time of the whole process per MB (`process.cpuUsage()` counts
 * every thread: main, flush worker, pool workers and the libuv threads running zstd) and the
 * average number of cores busy: on two cores that is what decides the ratio, so a miss can be
 * attributed (the engine's extra work per byte) rather than guessed at.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { loadZstd, resolveCodec } from '../src/codec/zstd.js';
import { AofManager, type AofManagerOptions } from '../src/index.js';
import { seededRandom } from '../src/seeded-random.js';
import { readFrame, readTier1Meta } from '../src/format/tier1-file.js';
import type { CompressResult, CompressTask } from '../workers/tier1-protocol.js';
import { sameBytes, tempRoot } from '../native-free-bench/fixtures.js';
import {
  atLeast,
  LatencyHistogram,
  nowNs,
  ratioResult,
  verification,
  type BenchResult,
  type Measurement,
  type Suite,
  type SuiteOptions,
  type Verification,
} from '../native-free-bench/shared.js';
import {
  ARENA_BYTES,
  COMPRESS_IN_FLIGHT,
  FRAME_BYTES,
  LEVEL,
  MiB,
  SEED,
  SEGMENT_BYTES,
  STREAM,
  compressPool,
  listSegments,
  mbPerSec,
  recordsPerSegment,
  streamDir,
  waitUntil,
} from './fixtures.js';
import { fillSegment, LogRecords } from './records.js';

/** Appends per timed batch (each awaited; the batch mean goes to the histogram). */
const BATCH = 1000;
/** Segment images the baseline keeps in memory (4 MiB each). */
const RING_SEGMENTS = 64;
/** Records read back byte for byte after each subject round: this many random ids, and as many at the tail. */
const READ_BACK = 500;
/** Longest wait for the compression backlog to drain once appends stop. */
const DRAIN_TIMEOUT_MS = 10 * 60_000;
/** No progress in the Tier 1 counters for this long, with nothing queued: the drain is stuck. */
const STALL_MS = 5000;

/** CPU time of the whole process (every thread: main, flush worker, pool workers, libuv pool), µs. */
function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

interface SubjectRound {
  cpuUs: number;
  records: number;
  rawBytes: number;
  compressedBytes: number;
  ns: number;
  appendNs: number;
  appended: number;
  segments: number;
  batches: number;
  retries: number;
  verified: Verification[];
}

interface BaselineRound {
  cpuUs: number;
  records: number;
  rawBytes: number;
  compressedBytes: number;
  ns: number;
  segments: number;
  verified: Verification[];
}

/** The two paths measured: into Tier 1 only (issue #3), and on into the local-directory Tier 2 (issue #6). */
interface IngestCase {
  label: string;
  /** Also wait until every compressed segment is uploaded, and count only uploaded bytes. */
  tier2: boolean;
  /** Issue #3's floor for the Tier 1 path; none was set for the Tier 2 path. */
  target: number | null;
}
const CASES: IngestCase[] = [
  { label: 'Tier 0 -> 1', tier2: false, target: 0.7 },
  { label: 'Tier 0 -> 1 -> 2 (local directory)', tier2: true, target: null },
];

function options(root: string, tier2: boolean): AofManagerOptions {
  return {
    root,
    tier0: { arenaBytes: ARENA_BYTES, segmentBytes: SEGMENT_BYTES },
    tier1: { compressionLevel: LEVEL, frameBytes: FRAME_BYTES },
    // Named: without a tier2 option the engine has no Tier 2. Inside the temp root, so its cleanup
    // removes it; the engine touches only its own directories there (streams/, manifest/, lock/).
    tier2: tier2 ? { kind: 'fs', root: join(root, 'tier2') } : { kind: 'none' },
    fsync: 'interval',
  };
}

async function subjectRound(
  records: LogRecords,
  seconds: number,
  histogram: LatencyHistogram,
  progress: (m: string) => void,
  tier2: boolean,
  verify = true,
): Promise<SubjectRound> {
  const { root, cleanup } = tempRoot('tiered-ingest');
  try {
    const config = options(root, tier2);
    const perSegment = recordsPerSegment(records);
    const manager = await AofManager.open(config);
    let id = 0;
    let batches = 0;
    let t0 = 0;
    let appendNs = 0;
    let ns = 0;
    let cpuUs = 0;
    let stats: ReturnType<AofManager['stats']>['tier1'];
    try {
      const log = await manager.openStream(STREAM);
      const cpu0 = cpuMicros();
      t0 = nowNs();
      const deadline = t0 + seconds * 1e9;
      while (nowNs() < deadline) {
        const b0 = nowNs();
        for (let i = 0; i < BATCH; i++, id++) await log.append(records.payload(id));
        histogram.recordMany((nowNs() - b0) / BATCH, BATCH);
        batches++;
      }
      appendNs = nowNs() - t0;
      const sealed = Math.floor(id / perSegment);
      progress(`tiered-ingest: ${id} records appended in ${(appendNs / 1e9).toFixed(1)} s; waiting for ${sealed} sealed segments to reach Tier ${tier2 ? 2 : 1}`);
      // Done when every sealed segment is compressed. Should the engine lose track of a sealed
      // segment (it once did: one whose slot was reused before the seal watcher looked), nothing
      // would ever complete it, so the wait also ends once nothing has moved for STALL_MS with the
      // queue empty; the verification then reports the shortfall instead of the run hanging.
      let lastMove = Date.now();
      let lastSeen = '';
      await waitUntil(
        () => {
          const { tier1: s, tier2: t2 } = manager.stats();
          if (s.compressFailures > 0) throw new Error(`compression failed: ${s.lastError ?? 'unknown error'}`);
          const uploaded = !tier2 || (t2 !== null && t2.segmentsUploaded >= sealed && t2.uploadQueue === 0);
          if (s.segmentsCompressed >= sealed && s.compressQueue === 0 && uploaded) return true;
          const seen = `${s.segmentsSealed}/${s.segmentsCompressed}/${s.compressQueue}/${t2?.segmentsUploaded ?? 0}`;
          if (seen !== lastSeen) {
            lastSeen = seen;
            lastMove = Date.now();
          }
          return s.compressQueue === 0 && Date.now() - lastMove > STALL_MS;
        },
        `${sealed} segments compressed${tier2 ? ' and uploaded' : ''}`,
        DRAIN_TIMEOUT_MS,
      );
      ns = nowNs() - t0;
      cpuUs = cpuMicros() - cpu0;
      stats = manager.stats().tier1;
    } finally {
      await manager.close();
    }
    const verified = verify ? await verifySubject(config, records, id, stats.segmentsCompressed, Math.floor(id / perSegment)) : [];
    return {
      cpuUs,
      records: stats.segmentsCompressed * perSegment,
      rawBytes: stats.rawBytesCompressed,
      compressedBytes: stats.compressedBytes,
      ns,
      appendNs,
      appended: id,
      segments: stats.segmentsCompressed,
      batches,
      retries: stats.compressRetries,
      verified,
    };
  } finally {
    cleanup();
  }
}

/**
 * After the (closed) subject round: every sealed segment was compressed before the clock stopped;
 * after close every segment is a .t1 file, except without Tier 2 the stream's tail, which the
 * close leaves open as one raw .seg (the next open continues it), and no other raw or temp file
 * is left; a reopen recovers nextId; random records and the tail read back byte for byte.
 */
async function verifySubject(config: AofManagerOptions, records: LogRecords, appended: number, compressed: number, sealed: number): Promise<Verification[]> {
  const out = [verification('subject', sealed, compressed, 'sealed segments compressed when the clock stopped (stats.tier1.segmentsCompressed)')];
  const segments = Math.ceil(appended / recordsPerSegment(records));
  const openTail = config.tier2?.kind === 'none' && appended > 0 ? 1 : 0;
  const files = listSegments(streamDir(config.root));
  const leftovers = files.raw.length - openTail + files.temp.length;
  out.push(
    verification(
      'subject',
      segments - openTail,
      leftovers === 0 ? files.tier1.length : -leftovers,
      `segments in Tier 1 after close (${files.raw.length} raw .seg, ${openTail} of them the open tail, and ${files.temp.length} .tmp left; the rest must be 0)`,
    ),
  );
  const manager = await AofManager.open(config);
  try {
    const log = await manager.openStream(STREAM);
    out.push(verification('subject', appended, log.nextId, 'reopened the root; nextId recovered from the manifest and the Tier 1 files'));
    const rand = seededRandom(appended);
    let matched = 0;
    for (let i = 0; i < READ_BACK; i++) {
      const id = Math.floor(rand() * appended);
      const reader = log.openReader({ from: id });
      const rec = await reader.next();
      if (rec !== null && rec.id === id && records.matches(id, rec.payload)) matched++;
      reader.close();
    }
    let id = appended - READ_BACK;
    for await (const rec of log.read({ from: id })) {
      if (rec.id === id && records.matches(id, rec.payload)) matched++;
      id++;
    }
    out.push(verification('subject', 2 * READ_BACK, matched, `read ${READ_BACK} random records and the last ${READ_BACK} back from Tier 1 (ids and bytes)`));
  } finally {
    await manager.close();
  }
  return out;
}

async function baselineRound(records: LogRecords, segments: number, histogram: LatencyHistogram): Promise<BaselineRound> {
  const { root, cleanup } = tempRoot('tiered-ingest-pool');
  const pool = compressPool();
  try {
    const perSegment = recordsPerSegment(records);
    const ring = Math.min(segments, RING_SEGMENTS);
    const sab = new SharedArrayBuffer(ring * SEGMENT_BYTES);
    const images = Array.from({ length: ring }, (_, k) =>
      fillSegment(new Uint8Array(sab, k * SEGMENT_BYTES, SEGMENT_BYTES), records, k * perSegment, perSegment, Date.now()),
    );
    const results: CompressResult[] = [];
    const paths: string[] = [];
    let next = 0;
    const runner = async (): Promise<void> => {
      while (next < segments) {
        const j = next++;
        const k = j % ring;
        const image = images[k]!;
        const task: CompressTask = {
          source: { kind: 'arena', sab, offset: k * SEGMENT_BYTES },
          dataBytes: image.dataBytes,
          recordCount: perSegment,
          baseId: j * perSegment,
          dataCrc: image.dataCrc,
          level: LEVEL,
          codec: resolveCodec('auto'), // what the subject's engine resolves at defaults
          frameTarget: FRAME_BYTES,
          targetPath: join(root, `${String(j).padStart(6, '0')}.t1`),
        };
        paths[j] = task.targetPath;
        const s0 = nowNs();
        results[j] = (await pool.run(task)) as CompressResult;
        histogram.record(nowNs() - s0);
      }
    };
    const cpu0 = cpuMicros();
    const t0 = nowNs();
    await Promise.all(Array.from({ length: COMPRESS_IN_FLIGHT }, runner));
    const ns = nowNs() - t0;
    const cpuUs = cpuMicros() - cpu0;

    // Every file is on disk at the size reported, and its first frame decompresses to the image's bytes.
    const codec = loadZstd();
    let ok = 0;
    for (let j = 0; j < segments; j++) {
      const res = results[j]!;
      const path = paths[j]!;
      const meta = await readTier1Meta(path);
      const entry = meta.index[0]!;
      const raw = await readFrame(path, entry, codec);
      const k = j % ring;
      const image = new Uint8Array(sab, k * SEGMENT_BYTES + entry.rawOffset, entry.rawBytes);
      if (statSync(path).size === res.compressedBytes && meta.header.recordCount === perSegment && sameBytes(raw, image)) ok++;
    }
    const rawBytes = images.reduce((n, img, k) => n + img.dataBytes * Math.ceil((segments - k) / ring), 0);
    return {
      cpuUs,
      records: segments * perSegment,
      rawBytes,
      compressedBytes: results.reduce((n, r) => n + r.compressedBytes, 0),
      ns,
      segments,
      verified: [verification('baseline', segments, ok, '.t1 files on disk at the size reported; frame 0 of each decompressed and compared with its image')],
    };
  } finally {
    await pool.destroy();
    cleanup();
  }
}

/** One verification per check over several rounds: counts summed, ok only if every round was. */
function mergeVerifications(lists: Verification[][]): Verification[] {
  const first = lists[0] ?? [];
  return first.map((v, i) => {
    const all = lists.map((l) => l[i]!);
    const how = lists.length > 1 ? `${v.how}; summed over ${lists.length} rounds` : v.how;
    const merged = verification(v.what, all.reduce((n, x) => n + x.expected, 0), all.reduce((n, x) => n + x.found, 0), how);
    return { ...merged, ok: merged.ok && all.every((x) => x.ok) };
  });
}

export const tieredIngest: Suite = {
  name: 'tiered-ingest',
  description: 'append() of 1 KiB JSON lines until in Tier 1 (and Tier 2) vs the compression pool alone on the same bytes',
  async run(opts: SuiteOptions): Promise<BenchResult[]> {
    const results: BenchResult[] = [];
    for (const c of CASES) results.push(await runCase(opts, c));
    return results;
  },
};

async function runCase(opts: SuiteOptions, c: IngestCase): Promise<BenchResult> {
  const seconds = opts.quick ? 2 : 10;
  const rounds = opts.quick ? 1 : 2;
  opts.progress('tiered-ingest: generating records');
  const records = new LogRecords(SEED);
  const subjectHist = new LatencyHistogram('append (batch mean)');
  const baselineHist = new LatencyHistogram('segment task (submit to done)');
  const subjects: SubjectRound[] = [];
  const baselines: BaselineRound[] = [];
  // A warmup of both paths (JIT, the zstd addon's first load, first-touch of pages), unrecorded.
  opts.progress('tiered-ingest: warmup');
  await subjectRound(records, 0.5, new LatencyHistogram('warmup'), () => undefined, c.tier2, false);
  await baselineRound(records, 4, new LatencyHistogram('warmup'));
  for (let round = 0; round < rounds; round++) {
    opts.progress(`tiered-ingest ${c.label}: round ${round + 1}/${rounds}, engine: ${seconds} s of append() then drain`);
    const s = await subjectRound(records, seconds, subjectHist, opts.progress, c.tier2);
    subjects.push(s);
    opts.progress(`tiered-ingest: round ${round + 1}/${rounds}, compression pool alone: ${s.segments} segments`);
    baselines.push(await baselineRound(records, s.segments, baselineHist));
  }
  const sum = <T>(xs: T[], f: (x: T) => number): number => xs.reduce((n, x) => n + f(x), 0);
  const sRaw = sum(subjects, (x) => x.rawBytes);
  const sNs = sum(subjects, (x) => x.ns);
  const bRaw = sum(baselines, (x) => x.rawBytes);
  const bNs = sum(baselines, (x) => x.ns);
  const subject: Measurement = {
    name: c.tier2 ? 'append() -> Tier 2' : 'append() -> Tier 1',
    records: sum(subjects, (x) => x.records),
    elapsedMs: sNs / 1e6,
    ratePerSec: (sum(subjects, (x) => x.records) * 1e9) / sNs,
    samples: sum(subjects, (x) => x.batches),
    latency: subjectHist.summary(),
    extra: {
      mbPerSec: mbPerSec(sRaw, sNs),
      appendPhaseMbPerSec: mbPerSec(sum(subjects, (x) => x.appended) * records.frameBytes, sum(subjects, (x) => x.appendNs)),
      drainMs: (sNs - sum(subjects, (x) => x.appendNs)) / 1e6,
      compressionRatio: sRaw / sum(subjects, (x) => x.compressedBytes),
      segments: sum(subjects, (x) => x.segments),
      compressRetries: sum(subjects, (x) => x.retries),
      cpuMsPerMB: sum(subjects, (x) => x.cpuUs) / 1000 / (sRaw / 1e6),
      coresBusy: (sum(subjects, (x) => x.cpuUs) * 1000) / sNs,
    },
  };
  const baseline: Measurement = {
    name: 'compress pool alone',
    records: sum(baselines, (x) => x.records),
    elapsedMs: bNs / 1e6,
    ratePerSec: (sum(baselines, (x) => x.records) * 1e9) / bNs,
    samples: sum(baselines, (x) => x.segments),
    latency: baselineHist.summary(),
    extra: {
      mbPerSec: mbPerSec(bRaw, bNs),
      compressionRatio: bRaw / sum(baselines, (x) => x.compressedBytes),
      segments: sum(baselines, (x) => x.segments),
      cpuMsPerMB: sum(baselines, (x) => x.cpuUs) / 1000 / (bRaw / 1e6),
      coresBusy: (sum(baselines, (x) => x.cpuUs) * 1000) / bNs,
    },
  };
  const result = ratioResult({
    suite: 'tiered-ingest',
    case: `${c.label}, 1 KiB JSON, level ${LEVEL}`,
    subject,
    baseline,
    ratioOf: 'raw MB/s into Tier 1',
    targets: [],
    verified: [...mergeVerifications(subjects.map((s) => s.verified)), ...mergeVerifications(baselines.map((b) => b.verified))],
    notes: [
      `engine ${subject.extra['mbPerSec']!.toFixed(0)} MB/s of records into Tier 1 (append phase ${subject.extra['appendPhaseMbPerSec']!.toFixed(0)} MB/s, ` +
        `then ${(subject.extra['drainMs']! / 1000).toFixed(1)} s draining the compression backlog) vs pool alone ${baseline.extra['mbPerSec']!.toFixed(0)} MB/s; ` +
        `compression ${subject.extra['compressionRatio']!.toFixed(2)}x (pool ${baseline.extra['compressionRatio']!.toFixed(2)}x)`,
      `${rounds} round(s) of ${seconds} s of appends; per round ratio ${subjects.map((s, i) => (mbPerSec(s.rawBytes, s.ns) / mbPerSec(baselines[i]!.rawBytes, baselines[i]!.ns)).toFixed(2)).join(', ')}; ` +
        `${subject.extra['segments']} segments of ${SEGMENT_BYTES / MiB} MiB, ${FRAME_BYTES / 1024} KiB frames; compress retries ${subject.extra['compressRetries']}`,
      `CPU (all threads of the process): engine ${subject.extra['cpuMsPerMB']!.toFixed(2)} core-ms per MB with ${subject.extra['coresBusy']!.toFixed(2)} cores busy on average, ` +
        `pool alone ${baseline.extra['cpuMsPerMB']!.toFixed(2)} core-ms per MB with ${baseline.extra['coresBusy']!.toFixed(2)} cores busy`,
    ],
  });
  if (c.target !== null) result.targets.push(atLeast('ratio', c.target, result.ratio));
  return result;
}
