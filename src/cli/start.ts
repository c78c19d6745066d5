/**
 * `npm start`: the tour a new user sees. On a local root (./data by default) it ingests a seeded
 * JSON workload into a few streams with appendSync (falling back to `await append()` on
 * WouldBlock), flushes, reads part of it back and checks every id against the bytes, restarts the
 * manager to show recovery and that ids continue, appends a little more, closes (compressing and
 * uploading everything to a local-directory Tier 2), opens an empty root on that Tier 2 to show a
 * rebuild reads every stream back, and prints a summary.
 *
 * aof2 has no Tier 2 unless one is named: the tour configures one explicitly,
 * `tier2: { kind: 'fs', root }` with the directory `tier2/` inside the demo root (or `--tier2
 * <dir>`), and prints where it is, so everything the tour writes is under the directory it names.
 *
 * Every step checks what it claims (ids dense and equal to the `seq` embedded in each record,
 * JSON that parses, durableId caught up, nextId continued after the restart); a mismatch is a
 * failure with exit code 1, a bad flag exit code 2.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { AofError, AofManager, ErrorCode, WouldBlockError, WouldBlockKind, type AofLog, type LogRecord, type ManagerStats } from '../index.js';
import { createProgress, type IngestSnapshot } from './progress.js';
import { MAX_RECORD_BYTES, MIN_RECORD_BYTES, Workload, demoStreams, type DemoStream, type StreamKind } from './workload.js';
import { RootLock } from '../root-lock.js';
import { MANIFEST_DIR, SEGMENT_FILE_SUFFIX, streamDir, STREAMS_DIR, TIER1_FILE_SUFFIX } from '../format/root-layout.js';

const DEFAULT_ROOT = './data';
/** The demo's Tier 2 directory, inside the demo root unless --tier2 names another. */
const DEMO_TIER2_DIR = 'tier2';
const DEFAULT_RECORDS = 1_500_000;
const DEFAULT_STREAMS = 4;
const MAX_STREAMS = 64;
const DEFAULT_SEED = 42;
/** Records read back from the middle of each stream with openReader({from}). */
const SAMPLE_RECORDS = 1000;
/** Records appended per stream after the restart. */
const RESUME_RECORDS = 3;
/** Records per ingest slice: after each the loop yields so the progress bar and worker messages run. */
const SLICE_RECORDS = 4096;
/** The scan parses 1 record in this many as JSON (every record's id is checked against its bytes). */
const SCAN_PARSE_EVERY = 64;

const HELP = `Usage: npm start -- [options]        (or: node dist/src/cli/start.js [options])

Runs the aof2 tour on a local directory: ingest a seeded JSON workload into several streams,
flush, read part of it back and verify it, restart the manager (recovery), append a few more
records, and print a summary. Exit code 0 when every check passed, 1 on a failure, 2 on bad flags.

Options:
  --root <dir>      where the data goes (default ${DEFAULT_ROOT}, relative to the current directory)
  --tier2 <dir>     the local-directory Tier 2 the tour configures (default <root>/${DEMO_TIER2_DIR})
  --records <n>     records to ingest in total across all streams (default ${DEFAULT_RECORDS.toLocaleString('en-US')})
  --streams <k>     number of streams, 1..${MAX_STREAMS} (default ${DEFAULT_STREAMS}: orders, payments, clicks, audit)
  --seed <n>        seed of the record generator (default ${DEFAULT_SEED})
  --fresh           delete the demo root and its Tier 2 first (only directories that are empty or
                    hold an aof2 root / aof2 objects)
  -h, --help        show this help

By default a second run appends to the streams the first one left (ids continue where they
stopped); pass --fresh to start from empty. Interrupt a run with Ctrl-C and start it again to see
recovery scan and trim the unsealed segment tails.`;

class UsageError extends Error {}
class CheckFailed extends Error {}

interface Options {
  root: string;
  /** The local-directory Tier 2 (`tier2: { kind: 'fs', root }`). */
  tier2: string;
  records: number;
  streams: number;
  seed: number;
  fresh: boolean;
}

function parseOptions(argv: string[]): Options | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        root: { type: 'string' },
        tier2: { type: 'string' },
        records: { type: 'string' },
        streams: { type: 'string' },
        seed: { type: 'string' },
        fresh: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help === true) return null;
  const root = values.root ?? DEFAULT_ROOT;
  if (values.tier2 === '') throw new UsageError('--tier2 must name a directory');
  return {
    root,
    tier2: values.tier2 ?? join(root, DEMO_TIER2_DIR),
    records: intFlag('--records', values.records, DEFAULT_RECORDS, 1, Number.MAX_SAFE_INTEGER),
    streams: intFlag('--streams', values.streams, DEFAULT_STREAMS, 1, MAX_STREAMS),
    seed: intFlag('--seed', values.seed, DEFAULT_SEED, 0, 0xffffffff),
    fresh: values.fresh === true,
  };
}

/** Accepts 1500000, 1_500_000 and 1.5e6. */
function intFlag(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${name} must be an integer between ${min} and ${max}, got '${raw}'`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Output helpers

const out = process.stdout;
const int = (n: number): string => n.toLocaleString('en-US');
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const secs = (ms: number): string => (ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`);
const rate = (n: number, ms: number): string => `${int(Math.round(n / (Math.max(ms, 0.001) / 1000)))}`;
const mbps = (bytes: number, ms: number): string => `${(bytes / 1e6 / (Math.max(ms, 0.001) / 1000)).toFixed(1)} MB/s`;
function line(label: string, text: string): void {
  out.write(`${label.padEnd(9)}${text}\n`);
}

function recoveryText(rec: ManagerStats['recovery']): string {
  const unclean = rec.scannedSegments > 0 || rec.trimmedBytes > 0 || rec.removedFiles > 0;
  return (
    `${int(rec.trustedSegments)} segments trusted (sealed), ${rec.scannedSegments} scanned (${mb(rec.scannedBytes)}), ` +
    `${int(rec.trimmedBytes)} bytes trimmed, ${rec.removedFiles} files removed` +
    (unclean ? '\n         the previous run stopped without closing: its unsealed tails were scanned' : '')
  );
}

function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new CheckFailed(message);
}

// ---------------------------------------------------------------------------------------------
// Steps

/**
 * --fresh: removes the root and the demo's Tier 2, refusing anything that does not look like an
 * aof2 root or a directory of aof2 objects. The Tier 2 goes too: left alone, the next open of the
 * empty root would rebuild the old data from it.
 */
function wipeRoot(root: string, tier2: string): void {
  // Both are checked before anything is deleted: a refusal leaves both as they were.
  const rootEntries = existsSync(root) ? readdirSync(root) : [];
  if (rootEntries.length > 0 && !rootEntries.includes(STREAMS_DIR)) {
    throw new UsageError(`--fresh refuses to delete ${root}: it is not empty and holds no aof2 streams/ directory`);
  }
  const tier2Stray = existsSync(tier2) ? readdirSync(tier2).filter((name) => name !== STREAMS_DIR && name !== MANIFEST_DIR) : [];
  if (tier2Stray.length > 0) throw new UsageError(`--fresh refuses to delete ${tier2}: it holds ${tier2Stray.join(', ')}, not only aof2 objects`);
  if (existsSync(root)) {
    // Taking the lock is the one check that sees every live owner (another process, or a thread of
    // this one) and takes over a dead one's. It is never released: the root goes, its lock with it.
    try {
      RootLock.acquire(root);
    } catch (err) {
      if (err instanceof AofError && err.code === ErrorCode.LOCKED) throw new UsageError(`--fresh refuses to delete ${root}: ${err.message}`);
      throw err;
    }
  }
  rmSync(tier2, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
}

interface IngestResult {
  records: number;
  bytes: number;
  ms: number;
  blocked: Record<string, number>;
}

async function ingest(logs: AofLog[], streams: DemoStream[], startIds: number[], total: number, seed: number): Promise<IngestResult> {
  const workload = new Workload(streams, seed);
  const progress = createProgress(total, out);
  const blocked: Record<string, number> = {};
  let records = 0;
  let bytes = 0;
  const t0 = performance.now();
  const snapshot = (): IngestSnapshot => {
    let durable = 0;
    for (let i = 0; i < logs.length; i++) durable += Math.max(0, logs[i]!.durableId + 1 - startIds[i]!);
    return { records, bytes, durable, elapsedMs: performance.now() - t0 };
  };
  try {
    while (records < total) {
      const sliceEnd = Math.min(total, records + SLICE_RECORDS);
      while (records < sliceEnd) {
        const index = workload.pickStream();
        const log = logs[index]!;
        const expected = log.nextId;
        const length = workload.next(index, expected);
        // A view of the reused scratch buffer: appendSync copies it before returning, and append()
        // copies it before resolving, which we await before writing the next record.
        const payload = workload.scratch.subarray(0, length);
        let id: number;
        try {
          id = log.appendSync(payload);
        } catch (err) {
          if (!(err instanceof WouldBlockError)) throw err;
          blocked[err.kind] = (blocked[err.kind] ?? 0) + 1;
          id = await log.append(payload);
        }
        if (id !== expected) throw new CheckFailed(`stream ${log.name}: append returned id ${id}, expected ${expected}`);
        records++;
        bytes += length;
      }
      progress.update(snapshot());
      // Let timers, worker messages and the progress bar run between slices.
      await yieldToEventLoop();
    }
  } finally {
    progress.stop(snapshot());
  }
  return { records, bytes, ms: performance.now() - t0, blocked };
}

const TYPE_PREFIX: Record<StreamKind, string> = { orders: 'order.', payments: 'payment.', clicks: 'click', audit: 'audit.' };
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Parses one record and checks that it is the JSON the workload wrote for this id and stream. */
function verifyRecord(record: LogRecord, stream: DemoStream): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(record.payload));
  } catch (err) {
    throw new CheckFailed(`stream ${stream.name}: record ${record.id} is not valid JSON: ${(err as Error).message}`);
  }
  const obj = parsed as { seq?: unknown; type?: unknown };
  check(obj.seq === record.id, `stream ${stream.name}: record ${record.id} holds seq ${String(obj.seq)}`);
  check(typeof obj.type === 'string' && obj.type.startsWith(TYPE_PREFIX[stream.kind]), `stream ${stream.name}: record ${record.id} has type ${String(obj.type)}`);
}

const SEQ_PREFIX = Buffer.from('{"seq":', 'latin1');

/** Cheap check for the scan: the payload starts with `{"seq":<id>,` and ends with `}`. */
function seqMatches(payload: Uint8Array, id: number): boolean {
  const n = payload.length;
  if (n < MIN_RECORD_BYTES || n > MAX_RECORD_BYTES || payload[n - 1] !== 0x7d) return false;
  for (let i = 0; i < SEQ_PREFIX.length; i++) if (payload[i] !== SEQ_PREFIX[i]) return false;
  let at = SEQ_PREFIX.length;
  let value = 0;
  while (at < n && payload[at]! >= 0x30 && payload[at]! <= 0x39) value = value * 10 + (payload[at++]! - 0x30);
  return at > SEQ_PREFIX.length && payload[at] === 0x2c && value === id;
}

/** Reads up to SAMPLE_RECORDS from the middle of each stream through openReader({from}) (arena views). */
async function sampleMiddles(logs: AofLog[], streams: DemoStream[]): Promise<{ records: number; hydrations: number; ms: number }> {
  const t0 = performance.now();
  let records = 0;
  let hydrations = 0;
  for (let i = 0; i < logs.length; i++) {
    const log = logs[i]!;
    const size = Math.min(SAMPLE_RECORDS, log.nextId - log.firstId);
    const from = log.firstId + Math.floor((log.nextId - log.firstId - size) / 2);
    const reader = log.openReader({ from });
    try {
      for (let k = 0; k < size; k++) {
        let record: LogRecord | null;
        try {
          record = reader.nextSync();
        } catch (err) {
          // Old segments were evicted from the arena during ingest: nextSync starts loading the
          // segment and says so; next() waits for it.
          if (!(err instanceof WouldBlockError) || err.kind !== WouldBlockKind.HYDRATION) throw err;
          hydrations++;
          record = await reader.next();
        }
        check(record !== null, `stream ${log.name}: reader stopped at ${reader.position}, expected ${from + size}`);
        check(record.id === from + k, `stream ${log.name}: reader returned id ${record.id}, expected ${from + k}`);
        // The payload is a view into the arena, valid until the next call on this reader: parse now.
        verifyRecord(record, streams[i]!);
        records++;
      }
    } finally {
      reader.close();
    }
  }
  return { records, hydrations, ms: performance.now() - t0 };
}

/** Full `for await (log.read())` scan of one stream from `from` (copies), checking every id. */
async function scan(log: AofLog, stream: DemoStream, from: number): Promise<{ records: number; bytes: number; ms: number }> {
  const end = log.nextId;
  const t0 = performance.now();
  let expected = from;
  let bytes = 0;
  for await (const record of log.read({ from })) {
    check(record.id === expected, `stream ${log.name}: scan returned id ${record.id}, expected ${expected}`);
    check(seqMatches(record.payload, record.id), `stream ${log.name}: record ${record.id} does not hold seq ${record.id}`);
    if (record.id % SCAN_PARSE_EVERY === 0) verifyRecord(record, stream);
    bytes += record.payload.length;
    expected++;
  }
  check(expected === end, `stream ${log.name}: scan ended at ${expected}, expected ${end}`);
  return { records: expected - from, bytes, ms: performance.now() - t0 };
}

/** Raw (.seg) and Tier 1 (.t1) segment files of a stream, with their bytes. */
function segmentFiles(root: string, name: string): { raw: number; tier1: number; bytes: number } {
  const dir = streamDir(root, name);
  const out = { raw: 0, tier1: 0, bytes: 0 };
  for (const entry of readdirSync(dir)) {
    if (entry.endsWith(SEGMENT_FILE_SUFFIX)) out.raw++;
    else if (entry.endsWith(TIER1_FILE_SUFFIX)) out.tier1++;
    else continue;
    out.bytes += statSync(join(dir, entry)).size;
  }
  return out;
}

/** Segment objects in the demo's Tier 2 directory. */
function tier2Objects(tier2: string): { count: number; bytes: number } {
  const dir = join(tier2, STREAMS_DIR);
  const out = { count: 0, bytes: 0 };
  if (!existsSync(dir)) return out;
  for (const stream of readdirSync(dir)) {
    for (const name of readdirSync(join(dir, stream))) {
      if (!name.endsWith(TIER1_FILE_SUFFIX)) continue;
      out.count++;
      out.bytes += statSync(join(dir, stream, name)).size;
    }
  }
  return out;
}

/**
 * Opens a fresh, empty root on the demo's Tier 2 (what a new machine would do), checks every stream
 * is listed with the same nextId, and reads its first and last record back from Tier 2.
 */
async function rebuildCheck(tier2: string, logs: AofLog[], streams: DemoStream[]): Promise<{ streams: number; records: number; ms: number }> {
  const t0 = performance.now();
  const fresh = mkdtempSync(join(tmpdir(), 'aof2-rebuild-'));
  try {
    const manager = await AofManager.open({ root: fresh, tier2: { kind: 'fs', root: tier2 } });
    try {
      const listed = await manager.listStreams();
      check(streams.every((s) => listed.includes(s.name)), `rebuild lists ${listed.join(', ')}, expected every demo stream`);
      let records = 0;
      for (let i = 0; i < logs.length; i++) {
        const log = await manager.openStream(streams[i]!.name);
        check(log.nextId === logs[i]!.nextId, `rebuilt stream ${log.name}: nextId ${log.nextId}, expected ${logs[i]!.nextId}`);
        for (const id of [log.firstId, log.nextId - 1]) {
          const reader = log.openReader({ from: id });
          const rec = await reader.next();
          reader.close();
          check(rec !== null && rec.id === id, `rebuilt stream ${log.name}: record ${id} did not read back`);
          verifyRecord(rec, streams[i]!);
          records++;
        }
      }
      return { streams: listed.length, records, ms: performance.now() - t0 };
    } finally {
      await manager.close();
    }
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
}

/** The tour's engine: default options, plus the local-directory Tier 2 it shows (named, not a default). */
async function openAll(root: string, tier2: string, streams: DemoStream[]): Promise<{ manager: AofManager; logs: AofLog[] }> {
  const manager = await AofManager.open({ root, fsync: 'interval', tier2: { kind: 'fs', root: tier2 } });
  try {
    const logs = await Promise.all(streams.map((s) => manager.openStream(s.name)));
    return { manager, logs };
  } catch (err) {
    await manager.close();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------

async function main(opts: Options): Promise<void> {
  const tStart = performance.now();
  const root = opts.root;
  const streams = demoStreams(opts.streams);
  const tier2 = opts.tier2;
  if (opts.fresh) wipeRoot(root, tier2);

  const tFirstOpen = performance.now();
  let { manager, logs } = await openAll(root, tier2, streams);
  const firstOpenMs = performance.now() - tFirstOpen;
  const startIds = logs.map((l) => l.nextId);
  const existing = startIds.reduce((a, b) => a + b, 0);
  const { config } = manager;
  out.write(
    `aof2 demo: ${int(opts.records)} records into ${streams.length} stream${streams.length === 1 ? '' : 's'} under ${resolve(root)}\n` +
      `         fsync ${config.fsync} (${config.fsyncIntervalMs} ms), arena ${config.arenaBytes / 2 ** 20} MiB = ${config.slotCount} slots ` +
      `x ${config.segmentBytes / 2 ** 20} MiB, JSON records ${MIN_RECORD_BYTES} B..${MAX_RECORD_BYTES / 1024} KiB\n`,
  );
  line('tier 2', `a local directory, ${resolve(tier2)}: configured by the tour (tier2: { kind: 'fs', root }); without a tier2 option aof2 writes nothing outside its root`);
  if (existing === 0) {
    line('open', `empty, ready in ${secs(firstOpenMs)}`);
  } else {
    line('open', `${int(existing)} existing records, ready in ${secs(firstOpenMs)}; appending to them (--fresh starts over)`);
    line('recovery', recoveryText(manager.stats().recovery));
  }

  // 1. Ingest.
  const ing = await ingest(logs, streams, startIds, opts.records, opts.seed);
  const blockedTotal = Object.values(ing.blocked).reduce((a, b) => a + b, 0);
  const blockedKinds = Object.entries(ing.blocked)
    .map(([kind, n]) => `${kind} ${int(n)}`)
    .join(', ');
  line(
    'ingest',
    `${int(ing.records)} records  ${mb(ing.bytes)}  in ${secs(ing.ms)}  ${rate(ing.records, ing.ms)} rec/s  ${mbps(ing.bytes, ing.ms)}`,
  );
  line(
    '',
    blockedTotal === 0
      ? 'every record went through appendSync (it never threw WouldBlock)'
      : `${int(ing.records - blockedTotal)} through appendSync, ${int(blockedTotal)} WouldBlock (${blockedKinds}) retried with await append()`,
  );

  // 2. Flush: everything appended is durable.
  const tFlush = performance.now();
  await Promise.all(logs.map((l) => l.flush()));
  for (const log of logs) check(log.durableId === log.nextId - 1, `stream ${log.name}: durableId ${log.durableId} after flush, expected ${log.nextId - 1}`);
  line('flush', `every record durable in ${secs(performance.now() - tFlush)}`);

  // 3. Read back: a sample from the middle of every stream, and a full scan of the busiest one.
  const sample = await sampleMiddles(logs, streams);
  line('sample', `${int(sample.records)} records mid-stream via openReader({from}): JSON + ids ok, ${sample.hydrations} segment loads, ${secs(sample.ms)}`);
  let busiest = 0;
  for (let i = 1; i < logs.length; i++) if (logs[i]!.nextId - startIds[i]! > logs[busiest]!.nextId - startIds[busiest]!) busiest = i;
  const scanned = await scan(logs[busiest]!, streams[busiest]!, startIds[busiest]!);
  line(
    'scan',
    `${streams[busiest]!.name} ${int(startIds[busiest]!)}..${int(logs[busiest]!.nextId - 1)} via log.read(): ${int(scanned.records)} rec  ${mb(scanned.bytes)}  ` +
      `in ${secs(scanned.ms)}  ${rate(scanned.records, scanned.ms)} rec/s  ${mbps(scanned.bytes, scanned.ms)}`,
  );

  // 4. Restart: close, reopen, recover.
  const before = logs.map((l) => l.nextId);
  const tClose = performance.now();
  await manager.close();
  const closeMs = performance.now() - tClose;
  const tOpen = performance.now();
  ({ manager, logs } = await openAll(root, tier2, streams));
  const reopenMs = performance.now() - tOpen;
  const rec = manager.stats().recovery;
  for (let i = 0; i < logs.length; i++) {
    check(logs[i]!.nextId === before[i], `stream ${logs[i]!.name}: nextId ${logs[i]!.nextId} after restart, expected ${before[i]}`);
  }
  line('restart', `closed in ${secs(closeMs)}, reopened in ${secs(reopenMs)}; nextId continued on every stream`);
  line('recovery', recoveryText(rec));

  // 5. Append a little more after the restart, through the async API, and make it durable.
  const resumeWorkload = new Workload(streams, opts.seed ^ 0x5eed);
  for (let i = 0; i < logs.length; i++) {
    for (let k = 0; k < RESUME_RECORDS; k++) {
      const length = resumeWorkload.next(i, logs[i]!.nextId);
      const id = await logs[i]!.append(resumeWorkload.scratch.subarray(0, length));
      check(id === before[i]! + k, `stream ${logs[i]!.name}: append after restart returned ${id}, expected ${before[i]! + k}`);
    }
  }
  await Promise.all(logs.map((l) => l.flush()));
  line('resume', `${RESUME_RECORDS} more records per stream via await append(), ids continue where they stopped`);

  // 6. Close. With a Tier 2, closing seals every stream's tail and finishes compressing and
  // uploading every sealed segment, so the files below are final.
  const durable = logs.map((log) => log.durableId);
  const tFinalClose = performance.now();
  await manager.close();
  const objects = tier2Objects(tier2);
  line('tier 2', `${int(objects.count)} segment objects (${mb(objects.bytes)}) in ${resolve(tier2)}, manifest mirrored; close took ${secs(performance.now() - tFinalClose)}`);

  // 7. Rebuild: an empty root pointed at the same Tier 2 sees every stream and reads it back.
  const rebuilt = await rebuildCheck(tier2, logs, streams);
  line('rebuild', `empty root + same Tier 2: ${rebuilt.streams} streams listed, ids continue at the same nextId, ${int(rebuilt.records)} records read back (first and last of each) in ${secs(rebuilt.ms)}`);
  out.write('\nstream        records  this run   durable id   raw  tier1        size\n');
  let rawFiles = 0;
  let tier1Files = 0;
  let diskBytes = 0;
  for (let i = 0; i < logs.length; i++) {
    const log = logs[i]!;
    const disk = segmentFiles(root, log.name);
    rawFiles += disk.raw;
    tier1Files += disk.tier1;
    diskBytes += disk.bytes;
    out.write(
      `${log.name.padEnd(12)}${int(log.nextId).padStart(9)}${int(log.nextId - startIds[i]!).padStart(10)}${int(durable[i]!).padStart(13)}` +
        `${int(disk.raw).padStart(6)}${int(disk.tier1).padStart(7)}${mb(disk.bytes).padStart(12)}\n`,
    );
  }
  out.write(
    `\nsummary  ingest ${int(ing.records)} records, ${mb(ing.bytes)}: ${rate(ing.records, ing.ms)} rec/s, ${mbps(ing.bytes, ing.ms)}\n` +
      `         scan   ${int(scanned.records)} records, ${mb(scanned.bytes)}: ${rate(scanned.records, scanned.ms)} rec/s, ${mbps(scanned.bytes, scanned.ms)}\n` +
      `         reopen ${secs(reopenMs)} (recovery: ${rec.trustedSegments} trusted, ${rec.scannedSegments} scanned)\n` +
      `         disk   ${int(rawFiles)} raw + ${int(tier1Files)} Tier 1 (zstd) segment files, ${mb(diskBytes)} on disk\n` +
      `all checks passed in ${secs(performance.now() - tStart)}. Run again to append more, or add --fresh to start over.\n`,
  );
}

function fail(err: unknown): never {
  if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.message}\nRun with --help for the options.\n`);
    process.exit(2);
  }
  if (err instanceof CheckFailed) {
    process.stderr.write(`\nFAILED check: ${err.message}\n`);
  } else if (err instanceof AofError) {
    process.stderr.write(`\nFAILED: ${err.message} (${err.code})\n`);
    if (err.code === 'AOF_ERR_LOCKED') process.stderr.write('Another process is using this root; stop it or pass another --root.\n');
  } else {
    process.stderr.write(`\nFAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  // Exit at once: a failed engine may hold timers or a worker; a lock left behind belongs to a dead
  // pid and the next run takes it over.
  process.exit(1);
}

let options: Options | null;
try {
  options = parseOptions(process.argv.slice(2));
} catch (err) {
  fail(err);
}
if (options === null) {
  out.write(`${HELP}\n`);
} else {
  // Ctrl-C stops without closing the manager, on purpose: that is the crash the next run recovers
  // from. The handler only restores the terminal (the progress bar hides the cursor) and says so.
  process.once('SIGINT', () => {
    if (out.isTTY === true) out.write('\x1b[?25h');
    process.stderr.write('\ninterrupted: the manager was not closed; run again to watch recovery\n');
    process.exit(130);
  });
  main(options).catch(fail);
}
