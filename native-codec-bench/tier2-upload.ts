/**
 * tier2-upload: throughput of the engine's Tier 2 upload path to S3 (moto over HTTP on loopback),
 * against raw `PutObject` of the same objects with the same concurrency from this thread, in the
 * same run.
 *
 * Isolating the upload. Tier 2 cannot be switched on for a running stream, and with Tier 2 on from
 * the start the figure would mix appends, compression and uploads. So a source root is written
 * once with `tier2: { kind: 'none' }` (SEGMENTS full 4 MiB segments, compressed into .t1 files,
 * closed). Each engine round copies that root, opens the copy with Tier 2 on S3 and opens the
 * stream: recovery finds every segment in Tier 1 and not uploaded, and queues them all for upload
 * at once. The clock runs from `openStream` until `stats().tier2.segmentsUploaded` reaches
 * SEGMENTS (polled every millisecond). In that time the engine: starts its upload pool (2 threads,
 * 2 tasks each: 4 uploads in flight) with one S3 client per thread, and per segment reads the file,
 * decodes its header, index and footer (never uploads damage), PUTs it, HEADs it to confirm the
 * stored size, and appends UPLOADED to the manifest (the manifest replica also uploads the grown
 * manifest chunk, debounced, during the run).
 *
 * Baseline: the same .t1 files, read from disk inside the clock, `PutObject` with 4 in flight
 * (4 lanes pulling from one cursor) through one S3 client configured like the engine's (s3.ts),
 * created before the clock (its connections are opened inside it, as the workers' are). A second
 * baseline adds the engine's confirming `HeadObject` after each put: the same requests as the
 * engine, so that result says what the engine's machinery costs apart from the extra round trip.
 *
 * Rates are segments/s (the ratio) and MB/s of object bytes (10^6 bytes/s). Latency is the
 * interval between successive confirmed uploads (batch means when several complete within one
 * poll of the engine's counter), so both sides are described by the same quantity; the raw side's
 * per-request latency is printed in the notes. Rounds rotate the order of the three sides. Each
 * side uploads under its own key prefix; after the round the bucket is listed (count and size of
 * every segment object must match the local files) and the prefix deleted, so moto's memory stays
 * bounded.
 */
import { cpSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AofManager } from '../src/index.js';
import { readTier1Meta } from '../src/format/tier1-file.js';
import type { S3StoreConfig } from '../src/tier2/s3-store.js';
import type { S3TestServer } from '../support/s3-server.js';
import { tempRoot } from '../native-free-bench/fixtures.js';
import { formatNs, LatencyHistogram, nowNs, ratioResult, verification, type BenchResult, type Measurement, type Suite, type SuiteOptions } from '../native-free-bench/shared.js';
import { listSegments, mbPerSec, MiB, readerOptions, recordsPerSegment, SEED, SEGMENT_BYTES, STREAM, writeCompressedSegments } from './fixtures.js';
import { LogRecords } from './records.js';
import { benchS3, deleteUnder, fullKey, listUnder, rawClient, serverCpuMs } from './s3.js';
import { segmentKey } from '../src/format/root-layout.js';

/** Uploads in flight: the engine's upload pool (src/tier2/tier2.ts: 2 threads x 2 tasks). */
const IN_FLIGHT = 4;
/** How often the engine's upload counter is read: fine next to the ~10-15 ms between two confirmed uploads (polling every 20 ms measured the same rate). */
const POLL_MS = 1;

interface SourceSegment {
  /** Path relative to the root (streams/<stream>/<name>.t1). */
  relPath: string;
  baseId: number;
  bytes: number;
}

interface Source {
  root: string;
  segments: SourceSegment[];
  bytes: number;
  rawBytes: number;
}

/** Writes `count` segments with Tier 2 off: every segment ends as a .t1 file nobody uploaded. */
async function buildSource(root: string, count: number, options: SuiteOptions): Promise<Source> {
  const records = new LogRecords(SEED);
  const perSegment = recordsPerSegment(records);
  options.progress(`tier2-upload: writing ${count} segments of ${SEGMENT_BYTES / MiB} MiB with Tier 2 off`);
  const found = listSegments(await writeCompressedSegments({ ...readerOptions(root, 16), tier2: { kind: 'none' } }, STREAM, records, count * perSegment));
  if (found.tier1.length !== count || found.raw.length !== 0) {
    throw new Error(`tier2-upload: expected ${count} .t1 files and no raw segment, found ${found.tier1.length} and ${found.raw.length}`);
  }
  const segments: SourceSegment[] = [];
  let rawBytes = 0;
  for (const path of found.tier1) {
    const meta = await readTier1Meta(path);
    rawBytes += meta.header.dataBytes;
    segments.push({ relPath: path.slice(root.length + 1), baseId: meta.header.baseId, bytes: meta.fileBytes });
  }
  return { root, segments, bytes: segments.reduce((n, s) => n + s.bytes, 0), rawBytes };
}

interface Side {
  /** Intervals between successive confirmed uploads, the first one (from the start) excluded. */
  histogram: LatencyHistogram;
  /** Raw sides: each request from reading the file to the answer. */
  requests: LatencyHistogram;
  /** Sustained: from the first confirmed upload of a round to its last. */
  ns: number;
  uploads: number;
  /** Whole rounds: from the start (openStream, or the first request) to the last confirmed upload. */
  wholeNs: number;
  wholeUploads: number;
  /** Rounds' time to the first confirmed upload. */
  firstNs: number[];
  /** CPU time of this process over whole rounds (every thread: main, pool workers, libuv), µs. */
  cpuUs: number;
  /** The same from each round's first confirmed upload on (the sustained part), µs. */
  steadyCpuUs: number;
  /** CPU of the moto process over the sustained parts, ms (-1: not measurable here). */
  serverCpuMs: number;
  /** Segment objects found in the bucket with the local file's size. */
  listed: number;
  /** Engine: segments the stats counted as uploaded; raw: puts that succeeded. */
  confirmed: number;
}

function side(): Side {
  return {
    histogram: new LatencyHistogram('segment (interval between confirmed uploads)'),
    requests: new LatencyHistogram('request'),
    ns: 0,
    uploads: 0,
    wholeNs: 0,
    wholeUploads: 0,
    firstNs: [],
    cpuUs: 0,
    steadyCpuUs: 0,
    serverCpuMs: 0,
    listed: 0,
    confirmed: 0,
  };
}

/**
 * The completions of one round: `k` uploads confirmed at `at`. The first confirmation ends the
 * start-up (pool threads, clients, connections, the first round trip); from there the pipeline is
 * full and the sustained rate counts the uploads confirmed after it.
 */
class Round {
  readonly #s: Side;
  readonly #t0: number;
  #first = -1;
  #last: number;
  #after = 0;
  #total = 0;
  readonly #cpu0 = process.cpuUsage();
  #cpuFirst: NodeJS.CpuUsage | null = null;
  #serverFirst: number | null = null;

  constructor(s: Side, t0: number) {
    this.#s = s;
    this.#t0 = t0;
    this.#last = t0;
  }

  done(at: number, k: number): void {
    if (this.#first < 0) {
      this.#first = at;
      this.#cpuFirst = process.cpuUsage();
      this.#serverFirst = serverCpuMs();
      this.#s.firstNs.push(at - this.#t0);
      // Several confirmed within the first poll: the ones past the first count as sustained ones at zero time apart.
      if (k > 1) this.#s.histogram.recordMany(0, k - 1);
      this.#after += k - 1;
    } else {
      this.#s.histogram.recordMany((at - this.#last) / k, k);
      this.#after += k;
    }
    this.#total += k;
    this.#last = at;
  }

  end(): void {
    this.#s.ns += this.#last - this.#first;
    this.#s.uploads += this.#after;
    this.#s.wholeNs += this.#last - this.#t0;
    this.#s.wholeUploads += this.#total;
    const cpu = process.cpuUsage(this.#cpu0);
    this.#s.cpuUs += cpu.user + cpu.system;
    const steady = process.cpuUsage(this.#cpuFirst ?? undefined);
    this.#s.steadyCpuUs += steady.user + steady.system;
    const server = serverCpuMs();
    if (this.#s.serverCpuMs >= 0) this.#s.serverCpuMs = server === null || this.#serverFirst === null ? -1 : this.#s.serverCpuMs + server - this.#serverFirst;
  }
}

/** Counts the segment objects under the store's prefix whose size equals the local file's. */
async function verifyBucket(client: S3Client, bucket: string, store: S3StoreConfig, src: Source): Promise<number> {
  const listed = await listUnder(client, bucket, fullKey(store, `streams/${STREAM}/`));
  const ok = src.segments.filter((s) => listed.get(fullKey(store, segmentKey(STREAM, s.baseId))) === s.bytes).length;
  // Anything else under the segment prefix would be an orphan or a stray key.
  return listed.size === src.segments.length ? ok : Math.min(ok, src.segments.length - 1);
}

async function engineRound(server: S3TestServer, client: S3Client, src: Source, round: number, s: Side): Promise<void> {
  const store = server.config(`bench-upload/engine-${round}`);
  const { root, cleanup } = tempRoot('tier2-upload');
  try {
    cpSync(src.root, root, { recursive: true });
    const manager = await AofManager.open({ ...readerOptions(root, 4), tier2: store });
    try {
      const n = src.segments.length;
      const uploaded = (): number => manager.stats().tier2?.segmentsUploaded ?? 0;
      const t0 = nowNs();
      await manager.openStream(STREAM);
      const timing = new Round(s, t0);
      let seen = 0;
      const deadline = Date.now() + 300_000;
      while (seen < n) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        const now = uploaded();
        if (now > seen) {
          timing.done(nowNs(), now - seen);
          seen = now;
        }
        if (Date.now() > deadline) throw new Error(`tier2-upload: ${seen} of ${n} segments uploaded after 300 s`);
      }
      timing.end();
      const stats = manager.stats().tier2!;
      if (stats.uploadedBytes === src.bytes && stats.uploadRetries === 0) s.confirmed += stats.segmentsUploaded;
      await manager.settle();
    } finally {
      await manager.close();
    }
    s.listed += await verifyBucket(client, server.bucket, store, src);
  } finally {
    cleanup();
    await deleteUnder(client, server.bucket, fullKey(store, ''));
  }
}

async function rawRound(server: S3TestServer, src: Source, round: number, head: boolean, s: Side): Promise<void> {
  const store = server.config(`bench-upload/raw-${head ? 'head-' : ''}${round}`);
  const client = rawClient(store);
  try {
    let next = 0;
    const timing = new Round(s, nowNs());
    const lane = async (): Promise<void> => {
      while (next < src.segments.length) {
        const seg = src.segments[next++]!;
        const r0 = nowNs();
        const body = await readFile(`${src.root}/${seg.relPath}`);
        const Key = fullKey(store, segmentKey(STREAM, seg.baseId));
        await client.send(new PutObjectCommand({ Bucket: server.bucket, Key, Body: body, ContentLength: body.length }));
        if (head) {
          const out = await client.send(new HeadObjectCommand({ Bucket: server.bucket, Key }));
          if (out.ContentLength !== body.length) throw new Error(`tier2-upload: ${Key} holds ${out.ContentLength} bytes after a put of ${body.length}`);
        }
        const at = nowNs();
        s.requests.record(at - r0);
        timing.done(at, 1);
        s.confirmed++;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    timing.end();
    s.listed += await verifyBucket(client, server.bucket, store, src);
    await deleteUnder(client, server.bucket, fullKey(store, ''));
  } finally {
    client.destroy();
  }
}

/** Sustained rates; `objectBytes` is the mean object size (segments are all full: within a few %). */
function measurement(name: string, s: Side, objectBytes: number): Measurement {
  return {
    name,
    records: s.uploads,
    elapsedMs: s.ns / 1e6,
    ratePerSec: s.ns === 0 ? 0 : (s.uploads * 1e9) / s.ns,
    samples: s.histogram.count,
    latency: s.histogram.summary(),
    extra: {
      mbPerSec: mbPerSec(s.uploads * objectBytes, s.ns),
      wholeMbPerSec: mbPerSec(s.wholeUploads * objectBytes, s.wholeNs),
      firstUploadMs: s.firstNs.reduce((a, b) => a + b, 0) / Math.max(1, s.firstNs.length) / 1e6,
      cpuMsPerMB: s.wholeUploads === 0 ? 0 : s.cpuUs / 1e3 / ((s.wholeUploads * objectBytes) / 1e6),
      steadyCpuMsPerMB: s.uploads === 0 ? 0 : s.steadyCpuUs / 1e3 / ((s.uploads * objectBytes) / 1e6),
      serverCpuMsPerMB: s.uploads === 0 || s.serverCpuMs < 0 ? -1 : s.serverCpuMs / ((s.uploads * objectBytes) / 1e6),
    },
  };
}

export const tier2Upload: Suite = {
  name: 'tier2-upload',
  description: 'Tier 2 upload of already-compressed segments to S3 (moto) by the engine vs raw PutObject, 4 in flight',
  async run(options: SuiteOptions): Promise<BenchResult[]> {
    // Full: 512 MiB of records, ~90 MB of objects per side and round; the start-up is then a small part of a round.
    const count = options.quick ? 8 : 128;
    const rounds = options.quick ? 1 : 3;
    const server = await benchS3(options);
    const admin = rawClient(server.config(''));
    const source = tempRoot('tier2-upload-src');
    try {
      const src = await buildSource(source.root, count, options);
      const engine = side();
      const put = side();
      const putHead = side();
      // Unrecorded warmup of the raw client path (JIT, the SDK's first request on this thread).
      await rawRound(server, src, -1, true, side());
      for (let r = 0; r < rounds; r++) {
        options.progress(`tier2-upload: round ${r + 1}/${rounds}: ${count} segments, ${(src.bytes / 1e6).toFixed(1)} MB per side`);
        const steps = [() => engineRound(server, admin, src, r, engine), () => rawRound(server, src, r, false, put), () => rawRound(server, src, r, true, putHead)];
        const k = r % steps.length;
        for (const step of [...steps.slice(k), ...steps.slice(0, k)]) await step();
      }
      return results(src, rounds, engine, put, putHead);
    } finally {
      admin.destroy();
      source.cleanup();
    }
  },
};

function results(src: Source, rounds: number, engine: Side, put: Side, putHead: Side): BenchResult[] {
  const n = src.segments.length * rounds;
  const objectBytes = src.bytes / src.segments.length;
  const subject = measurement('engine upload pool (put + head + manifest)', engine, objectBytes);
  const first = (s: Side): string => s.firstNs.map((ns) => (ns / 1e6).toFixed(0)).join(', ');
  const serverCpu = (m: Measurement): string => (m.extra['serverCpuMsPerMB']! < 0 ? 'n/a' : `${m.extra['serverCpuMsPerMB']!.toFixed(1)} ms`);
  const mb = (m: Measurement, key: string): string => `${m.extra[key]!.toFixed(1)} MB/s`;
  const engineChecks = [
    verification('subject', n, engine.confirmed, 'segments counted by stats().tier2.segmentsUploaded, uploadedBytes equal to the files\' bytes, no retry'),
    verification('subject', n, engine.listed, 'segment objects listed in the bucket with the local file\'s exact size, nothing else under the prefix'),
  ];
  const setting =
    `${src.segments.length} segments per round (${(src.bytes / 1e6).toFixed(1)} MB of .t1 objects, ${(src.bytes / src.segments.length / MiB).toFixed(2)} MiB each, ` +
    `from ${(src.rawBytes / MiB).toFixed(0)} MiB of records), ${rounds} round(s), ${IN_FLIGHT} uploads in flight on both sides, moto over HTTP on loopback`;
  const out: BenchResult[] = [];
  for (const [label, s, how] of [
    ['PutObject', put, 'readFile + PutObject'],
    ['PutObject + HeadObject', putHead, 'readFile + PutObject + HeadObject'],
  ] as const) {
    const baseline = measurement(`raw ${how}, ${IN_FLIGHT} in flight`, s, objectBytes);
    const req = s.requests.summary();
    out.push(
      ratioResult({
        suite: 'tier2-upload',
        case: `vs ${label}, ${(src.bytes / src.segments.length / MiB).toFixed(2)} MiB objects`,
        subject,
        baseline,
        ratioOf: 'segments/s (= object MB/s)',
        targets: [],
        verified: [
          ...engineChecks,
          verification('baseline', n, s.confirmed, `${label === 'PutObject' ? 'puts' : 'puts confirmed by HEAD at the file\'s size'} that succeeded`),
          verification('baseline', n, s.listed, 'segment objects listed in the bucket with the local file\'s exact size, nothing else under the prefix'),
        ],
        notes: [
          `sustained (from the first confirmed upload of a round to its last): engine ${mb(subject, 'mbPerSec')} vs raw ${mb(baseline, 'mbPerSec')} of objects ` +
            `(${((subject.extra['mbPerSec']! * src.rawBytes) / src.bytes).toFixed(0)} vs ${((baseline.extra['mbPerSec']! * src.rawBytes) / src.bytes).toFixed(0)} MB/s of records)`,
          `whole rounds (start-up included): engine ${mb(subject, 'wholeMbPerSec')} vs raw ${mb(baseline, 'wholeMbPerSec')} ` +
            `(${(subject.extra['wholeMbPerSec']! / baseline.extra['wholeMbPerSec']!).toFixed(2)}x); time to the first confirmed upload per round: ` +
            `engine ${first(engine)} ms (starts the upload pool's threads and their S3 clients), raw ${first(s)} ms`,
          `CPU of this process per MB of objects (all threads), sustained part: engine ${subject.extra['steadyCpuMsPerMB']!.toFixed(1)} ms, ` +
            `raw ${baseline.extra['steadyCpuMsPerMB']!.toFixed(1)} ms; whole rounds: ${subject.extra['cpuMsPerMB']!.toFixed(1)} vs ${baseline.extra['cpuMsPerMB']!.toFixed(1)} ms; ` +
            `moto's CPU per MB, sustained part: ${serverCpu(subject)} vs ${serverCpu(baseline)}`,
          `raw request latency (readFile to answer): p50 ${formatNs(req.p50)}, p99 ${formatNs(req.p99)} over ${req.count} requests`,
          setting,
        ],
      }),
    );
  }
  return out;
}
