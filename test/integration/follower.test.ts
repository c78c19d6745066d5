/**
 * Followers from the bucket (issue 15, section 4): a writer process (support/read-only-writer.ts)
 * uploads to a real S3 server (moto on loopback, support/s3-server.ts), and this process follows
 * it with `AofManager.open({ root: cacheDir, tier2, follower })` on a directory of its own, as a
 * second machine would. Real processes, real worker threads, real HTTP; no timing assertions (waits
 * have deadlines against hangs only).
 *
 * - it reads every record the writer uploaded, checked byte for byte; its writes throw
 *   AOF_ERR_READ_ONLY; a second follower on the same directory gets AOF_ERR_LOCKED; and it never
 *   writes to the bucket: a listing of every key with its size and ETag is the same before and
 *   after it ran;
 * - `follow` yields new segments as the writer uploads them (the writer still running), then goes
 *   on across a writer restart and a rebuild of the writer on a new machine from the bucket, with
 *   dense ids and the writer's bytes;
 * - retention: once a poll saw it, expired positions are AOF_ERR_OUT_OF_RANGE and the rest reads on;
 * - lag figures in `stats().follower` and the `aof_follower_*` metrics;
 * - a follower process whose only work is a `follow` loop stays alive while it waits for the
 *   writer's next upload (support/follower-child.ts);
 * - a scan reads ahead in fills of several consecutive frames (one ranged GET each, seen as one
 *   `aof2:segment.hydrate` fill span), across segment boundaries, each frame once; a point read
 *   fills one frame; with no reader reserve the read-ahead goes back to one frame per request.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { tracingChannel } from 'node:diagnostics_channel';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { AOF_SPANS, AofError, AofManager, ErrorCode, type AofLog, type AofManagerOptions, type LogRecord, type SegmentHydrateSpanContext } from '../../src/index.js';
import { openObjectStore, type ObjectStore, type Tier2StoreConfig } from '../../src/tier2/object-store.js';
import { assertWritesRefused, isCode, readChecked } from '../../support/read-only-checks.js';
import { WriterProcess, followPayload, type WriterOptions } from '../../support/read-only-workload.js';
import { startS3Server, type S3TestServer } from '../../support/s3-server.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';

/** Small segments (about 540 records of 100 bytes) and frames, so a few thousand records make several objects. */
const TIER0 = { arenaBytes: 1024 * 1024, segmentBytes: 64 * 1024, readChunkBytes: 4096 };
const SIZE = 100;
/** A wait for the writer's uploads to show up by polls alone: a deadline against a hang, not a timing check. */
const DEADLINE_MS = 60_000;

let server: S3TestServer;
let n = 0;
const cleanups: (() => void)[] = [];

before(async () => {
  server = await startS3Server();
});
after(async () => {
  await server.close();
  cleanups.forEach((c) => c());
});

function scratch(prefix: string): string {
  const t = tempRoot(prefix);
  cleanups.push(t.cleanup);
  return t.root;
}

function bucket(name: string): Tier2StoreConfig {
  return server.config(`follower-${name}-${n++}`);
}

function writerOptions(tier2: Tier2StoreConfig): WriterOptions {
  return { tier0: TIER0, tier1: { frameBytes: 4096 }, fsync: 'interval', tier2 };
}

function follower(cacheDir: string, tier2: Tier2StoreConfig, extra: Partial<AofManagerOptions> = {}): Promise<AofManager> {
  return AofManager.open({ root: cacheDir, tier0: TIER0, tier2, follower: { pollMs: 50 }, ...extra });
}

/** Every key of the bucket's prefix with its size and ETag. */
async function bucketListing(store: ObjectStore): Promise<string[]> {
  return (await store.list('')).map((o) => `${o.key} ${o.size} ${o.etag ?? '?'}`);
}

/** Waits (with a deadline) until `check()` holds, asking the follower to poll in between. */
async function until(manager: AofManager, what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${DEADLINE_MS} ms: ${JSON.stringify(manager.stats().follower)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A `follow()` consumer: checks every record as it arrives; `reached(id)` waits for it. */
class Consumer {
  next = 0;
  error: unknown = null;
  readonly #abort = new AbortController();
  readonly done: Promise<void>;

  constructor(log: AofLog, from: number) {
    this.next = from;
    const records: AsyncIterableIterator<LogRecord> = log.follow({ from, signal: this.#abort.signal });
    this.done = (async () => {
      try {
        for await (const record of records) {
          assert.equal(record.id, this.next, 'follow yields dense ids');
          assert.ok(sameBytes(record.payload, followPayload(log.name, record.id, SIZE)), `record ${record.id} holds what the writer appended`);
          this.next++;
        }
      } catch (err) {
        if (!(err instanceof Error && err.name === 'AbortError')) this.error = err;
      }
    })();
  }

  async reached(manager: AofManager, id: number): Promise<void> {
    await until(manager, `record ${id - 1} from follow`, () => this.error !== null || this.next >= id);
    if (this.error !== null) throw this.error;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.done;
    if (this.error !== null) throw this.error;
  }
}

test('a follower reads what the writer uploaded, refuses writes, locks its directory, and never writes to the bucket', async (t) => {
  const tier2 = bucket('nowrite');
  const writer = await WriterProcess.start(scratch('aof2-fw-writer-'), writerOptions(tier2));
  t.after(() => writer.kill());
  await writer.command(`append orders 3000 ${SIZE}`);
  await writer.command(`append audit 700 ${SIZE}`);
  // Closed: every segment sealed and uploaded, the manifest mirrored; nothing else writes now.
  await writer.close();
  const admin = await openObjectStore(tier2);
  t.after(() => admin.close());
  const before = await bucketListing(admin);
  assert.ok(before.some((line) => line.startsWith('manifest/')) && before.some((line) => line.startsWith('streams/orders/')));

  const cacheDir = scratch('aof2-fw-cache-');
  const manager = await follower(cacheDir, tier2);
  try {
    await assert.rejects(follower(cacheDir, tier2), isCode(ErrorCode.LOCKED), 'one follower per directory');
    assert.deepEqual(await manager.listStreams(), ['audit', 'orders']);
    const orders = await manager.openStream('orders');
    const audit = await manager.openStream('audit');
    assert.equal(orders.nextId, 3000);
    assert.equal(audit.nextId, 700);
    assert.equal(await readChecked(orders, SIZE), 3000);
    assert.equal(await readChecked(audit, SIZE, 650), 50);
    // A reader in the middle, and a second pass (its frames cached in the arena or fetched again).
    const reader = orders.openReader({ from: 1234, copy: true });
    for (let id = 1234; id < 1300; id++) assert.equal((await reader.next())?.id, id);
    reader.close();
    await assert.rejects(manager.openStream('nosuch'), (err: unknown) => isCode(ErrorCode.IO)(err) && (err as AofError).details?.['errno'] === 'ENOENT');

    await assertWritesRefused(manager, orders);
    await manager.refresh();

    const stats = manager.stats();
    assert.equal(stats.readOnly, null);
    assert.ok(stats.follower !== null);
    assert.ok(stats.follower.polls >= 2 && stats.follower.manifestReplays >= 1 && stats.follower.manifestGets >= 1);
    assert.equal(stats.follower.lastError, null);
    const lag = stats.follower.streams['orders']!;
    assert.equal(lag.nextId, 3000);
    assert.equal(lag.recordsNotUploaded, 0, 'the writer closed: everything it sealed is in the bucket');
    assert.ok(lag.lagSeconds !== null && lag.lagSeconds >= 0);
    const tier2Segments = stats.segments.tier2.active + stats.segments.tier2.resident + stats.segments.tier2.cold;
    assert.ok(tier2Segments >= 7 && stats.segments.raw.cold + stats.segments.tier1.cold + stats.segments.tier1.resident === 0, 'every segment it shows is read from Tier 2');
    assert.ok(stats.tier1.framesDecompressed > 0, 'frames were fetched from the bucket and decompressed');
    const text = await manager.registry.metrics();
    assert.match(text, /aof_follower_lag_seconds\{stream="orders"\} [0-9.e+-]+/);
    assert.match(text, /aof_follower_records_not_uploaded\{stream="audit"\} 0/);
    assert.match(text, /aof_follower_next_id\{stream="orders"\} 3000/);
    assert.match(text, /aof_follower_polls_total [1-9]/);
    assert.match(text, /aof_follower_last_change_timestamp_seconds [1-9]/);
  } finally {
    await manager.close();
  }
  assert.deepEqual(await bucketListing(admin), before, 'the follower wrote nothing to the bucket: same keys, sizes and ETags');
  // Closed: its directory is free again.
  await (await follower(cacheDir, tier2)).close();
});

test('follow yields segments as the writer uploads them, across a writer restart and a rebuild on a new machine', async (t) => {
  const tier2 = bucket('follow');
  const rootA = scratch('aof2-fw-a-');
  let writer = await WriterProcess.start(rootA, writerOptions(tier2));
  t.after(() => writer.kill());
  await writer.command(`append s 1200 ${SIZE}`);
  await writer.command('settle');

  const manager = await follower(scratch('aof2-fw-cache-'), tier2);
  t.after(() => manager.close());
  const log = await manager.openStream('s');
  const consumer = new Consumer(log, 0);
  t.after(() => consumer.stop().catch(() => undefined));
  // Sealed by size and uploaded while the writer runs: the active segment is not in the bucket.
  assert.ok(log.nextId > 0 && log.nextId < 1200, `the uploaded segments only (${log.nextId})`);
  await consumer.reached(manager, log.nextId);

  // The writer still running: more sealed segments, uploaded; follow yields them by polls alone.
  const shown = log.nextId;
  await writer.command(`append s 1800 ${SIZE}`);
  await writer.command('settle');
  await until(manager, 'newly uploaded segments', () => log.nextId > shown);
  await consumer.reached(manager, log.nextId);
  const lag = manager.stats().follower!.streams['s']!;
  assert.ok(lag.lagSeconds !== null && lag.recordsNotUploaded >= 0);

  // A writer restart: close uploads the rest, the reopened writer continues the stream.
  await writer.close();
  await consumer.reached(manager, 3000);
  writer = await WriterProcess.start(rootA, writerOptions(tier2));
  assert.equal(await writer.command(`append s 1000 ${SIZE}`), 'appended 4000 3999');
  await writer.close();
  await consumer.reached(manager, 4000);

  // The writer's machine is lost (SIGKILL, with records never uploaded) and the writer is rebuilt
  // on a new, empty root from the bucket: it keeps everything the follower could have shown.
  writer = await WriterProcess.start(rootA, writerOptions(tier2));
  await writer.command(`append s 700 ${SIZE}`);
  await writer.command('settle');
  await writer.command(`append s 200 ${SIZE}`);
  await writer.kill();
  const rebuilt = await WriterProcess.start(scratch('aof2-fw-rebuilt-'), writerOptions(tier2));
  writer = rebuilt;
  const resumedAt = Number((await rebuilt.command(`append s 1 ${SIZE}`)).split(' ')[1]) - 1;
  assert.ok(resumedAt >= log.nextId, `the rebuild keeps every record the follower shows (${resumedAt} >= ${log.nextId})`);
  assert.ok(resumedAt < 4900, 'the records never uploaded were lost with the machine');
  await rebuilt.command(`append s 800 ${SIZE}`);
  await rebuilt.close();
  await consumer.reached(manager, resumedAt + 801);
  await consumer.stop();
  assert.equal(consumer.next, resumedAt + 801);
  assert.equal(log.nextId, resumedAt + 801);
  assert.equal(await readChecked(log, SIZE, 0), resumedAt + 801, 'a second pass reads the same records');
  assert.equal(manager.stats().follower!.lastError, null);
});

test('retention under a follower: expired positions are AOF_ERR_OUT_OF_RANGE once a poll saw it, the rest reads on', async (t) => {
  const tier2 = bucket('retain');
  const writer = await WriterProcess.start(scratch('aof2-fw-retain-'), writerOptions(tier2));
  t.after(() => writer.kill());
  await writer.command(`append r 3000 ${SIZE}`);
  await writer.command('settle');
  const manager = await follower(scratch('aof2-fw-cache-'), tier2);
  t.after(() => manager.close());
  const log = await manager.openStream('r');
  const shown = log.nextId;
  assert.ok(shown > 1200);
  const reader = log.openReader({ from: 0, copy: true });
  for (let id = 0; id < 100; id++) assert.equal((await reader.next())?.id, id);
  // The reader's read-ahead done: a frame GET still under way when the writer deletes its object
  // would fail with the store's AOF_ERR_UNAVAILABLE (docs/read-path.md), another case than this one.
  await until(manager, 'the read-ahead to settle', () => manager.stats().queues.hydrate === 0);

  const firstId = Number((await writer.command('retain r 120000')).split(' ')[1]);
  assert.ok(firstId > 100 && firstId < shown, `retention expired the oldest segments (first id ${firstId})`);
  await manager.refresh();
  assert.equal(log.firstId, firstId);
  assert.throws(() => log.openReader({ from: 0 }), isCode(ErrorCode.OUT_OF_RANGE));
  let position = 100;
  let error: unknown = null;
  try {
    for (let record = await reader.next(); record !== null; record = await reader.next()) {
      // What was already in this process's arena reads on, and is right.
      assert.equal(record.id, position);
      assert.ok(sameBytes(record.payload, followPayload('r', position, SIZE)));
      position++;
    }
  } catch (err) {
    error = err;
  }
  assert.ok(isCode(ErrorCode.OUT_OF_RANGE)(error), `the reader's expired position is AOF_ERR_OUT_OF_RANGE, got ${String(error)} at ${position}`);
  reader.close();
  assert.equal(await readChecked(log, SIZE, firstId), shown - firstId, 'reading on from the new first id works');
  await writer.close();
  await manager.refresh();
  assert.equal(await readChecked(log, SIZE, firstId), 3000 - firstId);
});

test('close() during a follow wait ends the follow, an aborted signal ends it with AbortError; nothing is left pending', async (t) => {
  const tier2 = bucket('close');
  const writer = await WriterProcess.start(scratch('aof2-fw-close-'), writerOptions(tier2));
  t.after(() => writer.kill());
  await writer.command(`append c 600 ${SIZE}`);
  await writer.close();
  const manager = await follower(scratch('aof2-fw-cache-'), tier2);
  const log = await manager.openStream('c');
  assert.equal(log.nextId, 600);

  const aborted = new AbortController();
  const abortable = log.follow({ from: 600, signal: aborted.signal });
  const abortedNext = abortable.next();
  aborted.abort();
  await assert.rejects(abortedNext, (err: unknown) => err instanceof Error && err.name === 'AbortError');

  const waiting = log.follow({ from: 599 });
  assert.equal((await waiting.next()).value?.id, 599);
  const pending = waiting.next(); // at the tail: waits for the next poll that finds an upload
  await manager.close();
  assert.deepEqual(await pending, { done: true, value: undefined }, 'close() completes a follow waiting at the tail');
  await assert.rejects(manager.refresh(), isCode(ErrorCode.CLOSED));
});

test('a follower process whose only work is a follow loop waits for the writer\'s next upload instead of exiting', async (t) => {
  const tier2 = bucket('alive');
  const writer = await WriterProcess.start(scratch('aof2-fw-alive-'), writerOptions(tier2));
  t.after(() => writer.kill());
  await writer.command(`append k 600 ${SIZE}`);
  await writer.command('settle');
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('../../support/follower-child.js', import.meta.url)), scratch('aof2-fw-cache-'), JSON.stringify({ tier0: TIER0, tier2, follower: { pollMs: 50 }, size: SIZE }), 'k', '0', '1200'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
  );
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const deadline = Date.now() + DEADLINE_MS;
  while (!out.includes('following') && child.exitCode === null) {
    if (Date.now() > deadline) throw new Error(`the follower child did not start: ${out}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.match(out, /^following \d+\n/);
  // The child reads what the bucket holds (the sealed segments), then waits at its tail with
  // nothing but the follower's poll to keep it alive: the rest is uploaded only at close.
  await writer.command(`append k 600 ${SIZE}`);
  await writer.close();
  const code = await Promise.race([exited, new Promise<'hang'>((resolve) => setTimeout(() => resolve('hang'), DEADLINE_MS).unref())]);
  assert.equal(code, 0, `the child exited cleanly (${String(code)}): ${out}`);
  assert.match(out, /got 1200\n/, 'it stayed alive and received every record the writer uploaded later');
});

/** A fill span (`aof2:segment.hydrate`, kind fill), and what `position()` said when it started. */
interface Fill {
  span: SegmentHydrateSpanContext;
  startedAt: number;
}

/** The fills of this process's managers that start and end while `run` runs. */
async function fillsDuring(run: () => Promise<void>, position: () => number = () => -1): Promise<Fill[]> {
  const started = new Map<SegmentHydrateSpanContext, number>();
  const fills: Fill[] = [];
  const channel = tracingChannel<unknown, SegmentHydrateSpanContext>(AOF_SPANS.segmentHydrate);
  const handlers = {
    start: (c: SegmentHydrateSpanContext) => void started.set(c, position()),
    end: () => undefined,
    asyncStart: () => undefined,
    asyncEnd: (c: SegmentHydrateSpanContext) => void (c.kind === 'fill' && started.has(c) && fills.push({ span: c, startedAt: started.get(c)! })),
    error: () => undefined,
  };
  channel.subscribe(handlers);
  try {
    await run();
  } finally {
    channel.unsubscribe(handlers);
  }
  return fills;
}

/**
 * Checks that `fills` bring back every frame of each segment they touch once, in order: per
 * segment, sorted by frame, the first fill starts at frame 0 and each next one where the one
 * before ended. Returns the fills by segment, in order.
 */
function assertTiled(fills: Fill[]): Map<number, Fill[]> {
  const bySegment = new Map<number, Fill[]>();
  for (const f of fills) bySegment.set(f.span.baseId, [...(bySegment.get(f.span.baseId) ?? []), f]);
  for (const [baseId, segFills] of bySegment) {
    segFills.sort((a, b) => a.span.frame! - b.span.frame!);
    assert.equal(segFills[0]!.span.frame, 0, `segment ${baseId}: its first fill starts at frame 0`);
    assert.equal(segFills[0]!.span.offset, 0);
    for (let i = 1; i < segFills.length; i++) {
      const [a, b] = [segFills[i - 1]!.span, segFills[i]!.span];
      assert.ok(b.frame! > a.frame!, `segment ${baseId}: frame ${b.frame} filled once`);
      assert.equal(b.offset, a.offset + a.bytes, `segment ${baseId}: the fill of frame ${b.frame} starts where the one of frame ${a.frame} ended`);
    }
    for (const f of segFills) assert.equal(f.span.source, 'tier2');
  }
  return bySegment;
}

/** Reads `log` from 0 to its end, checking ids and bytes; `at.id` is the id it reads next. */
async function scanChecked(log: AofLog, at: { id: number }): Promise<void> {
  for await (const record of log.read({ from: 0 })) {
    assert.equal(record.id, at.id, 'ids are dense');
    assert.ok(sameBytes(record.payload, followPayload(log.name, record.id, SIZE)), `record ${record.id} holds what the writer appended`);
    at.id++;
  }
  assert.equal(at.id, log.nextId);
}

test('a follower scan reads ahead in fills of several frames, across segments, each frame once; a point read fills one frame; no reserve, one frame per fill', async (t) => {
  const tier2 = bucket('scan');
  const writer = await WriterProcess.start(scratch('aof2-fw-scan-'), writerOptions(tier2));
  t.after(() => writer.kill());
  await writer.command(`append scan 3000 ${SIZE}`);
  await writer.close();

  // Defaults: the reader reserve is an eighth of the 1 MiB arena, about 30 of the writer's 4 KiB
  // frames: fills of up to half of that, into the next segments too.
  const manager = await follower(scratch('aof2-fw-cache-'), tier2);
  try {
    const log = await manager.openStream('scan');
    const before = manager.stats().tier1.framesDecompressed;
    const at = { id: 0 };
    const fills = await fillsDuring(
      () => scanChecked(log, at),
      () => at.id,
    );
    const frames = manager.stats().tier1.framesDecompressed - before;
    const bySegment = assertTiled(fills);
    t.diagnostic(`${frames} frames of ${bySegment.size} segments in ${fills.length} fills`);
    assert.ok(bySegment.size >= 5, `the scan read ${bySegment.size} segments from the bucket`);
    assert.equal(fills.reduce((n, f) => n + f.span.bytes, 0), [...bySegment.values()].reduce((n, f) => n + f[f.length - 1]!.span.offset + f[f.length - 1]!.span.bytes, 0));
    assert.ok(fills.length <= frames / 4, `most frames come in fills of several: ${frames} frames in ${fills.length} fills`);
    // Every segment after the first was asked for while the reader was still in the one before.
    for (const [baseId, segFills] of [...bySegment].slice(1)) {
      assert.ok(segFills[0]!.startedAt < baseId, `segment ${baseId}: its first fill started with the reader at ${segFills[0]!.startedAt}`);
    }
  } finally {
    await manager.close();
  }

  // A point read: one frame, one fill.
  const point = await follower(scratch('aof2-fw-cache-'), tier2);
  try {
    const log = await point.openStream('scan');
    const before = point.stats().tier1.framesDecompressed;
    const fills = await fillsDuring(async () => {
      const reader = log.openReader({ from: 1500 });
      assert.equal((await reader.next())?.id, 1500);
      reader.close();
    });
    assert.equal(point.stats().tier1.framesDecompressed - before, 1, 'a point read decompresses one frame');
    assert.deepEqual(
      fills.map((f) => f.span.kind),
      ['fill'],
    );
  } finally {
    await point.close();
  }

  // No reader reserve: the read-ahead keeps two frames ahead, one per fill (one GET each).
  const bounded = await follower(scratch('aof2-fw-cache-'), tier2, { tier0: { ...TIER0, readerReserveBytes: 0 } });
  try {
    const log = await bounded.openStream('scan');
    const before = bounded.stats().tier1.framesDecompressed;
    const fills = await fillsDuring(async () => assert.equal(await readChecked(log, SIZE), 3000));
    assertTiled(fills);
    assert.equal(fills.length, bounded.stats().tier1.framesDecompressed - before, 'every fill is of one frame');
  } finally {
    await bounded.close();
  }
});
