/**
 * Tracing (issue 14, item 5): the engine's operations arrive as spans on `node:diagnostics_channel`
 * tracing channels, and the OpenTelemetry bridge of docs/examples/otel-tracing.mjs turns them into
 * exported spans (`@opentelemetry/sdk-trace-base`, InMemorySpanExporter). Real engine, real
 * workers: appends under fsync 'always' from four writers, seals, Tier 1 compression in the
 * compress pool, uploads to a local-directory Tier 2, evictions, and a replay that reads the
 * evicted segments back from Tier 2. Checked: names, attributes against the engine's own segment
 * state, nesting (caller spans under the application's span, background spans roots), per-segment
 * order (seal, then compress, then upload), no error span; a failing compression is an error span;
 * manifest compaction; and with no subscriber, not one call on any aof2 tracing channel.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { channel, tracingChannel, type Channel } from 'node:diagnostics_channel';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { SpanStatusCode, context, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { AOF_SPANS, AofManager, type AofLog, type AofManagerOptions } from '../../src/index.js';
import { logCore } from '../../src/log.js';
import { ManifestLog } from '../../src/manifest/manifest-log.js';
import { MAX_COMPRESS_ATTEMPTS } from '../../src/tier1/tier1.js';
import { SPANS } from '../../src/tracing.js';
import { waitFor } from '../../support/engine.js';
import { withFailpoints } from '../../support/failpoints-env.js';
import { workloadOps } from '../../support/manifest-workload.js';
import { PACKAGE_ROOT } from '../../support/paths.js';
import { withTimeout } from '../../support/tier1-engine.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';

/** What docs/examples/otel-tracing.mjs exports (plain JavaScript, typed here). */
interface OtelBridge {
  subscribeOpenTelemetry(tracer: Tracer): () => void;
  spanTree(spans: readonly ReadableSpan[]): string;
}

const WRITERS = 4;
const APPENDS_PER_WRITER = 300;
const RECORD_BYTES = 1000;
const EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const;

const EXAMPLE = join(PACKAGE_ROOT, 'docs', 'examples', 'otel-tracing.mjs');
let bridge: OtelBridge;
const contextManager = new AsyncLocalStorageContextManager();

before(async () => {
  bridge = (await import(pathToFileURL(EXAMPLE).href)) as OtelBridge;
  // context.active() follows async calls, so startActiveSpan's span is the parent of what runs in it.
  context.setGlobalContextManager(contextManager.enable());
});
after(() => context.disable());

/** A tracer whose finished spans are kept in memory, fed by the example's bridge for the test's duration. */
function exported(t: TestContext): { tracer: Tracer; spans: () => ReadableSpan[] } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const unsubscribe = bridge.subscribeOpenTelemetry(provider.getTracer('aof2-test'));
  t.after(async () => {
    unsubscribe();
    await provider.shutdown();
  });
  return { tracer: provider.getTracer('aof2-test-app'), spans: () => exporter.getFinishedSpans() };
}

/** A small tiered engine: 64 KiB segments, an arena of 8, a local Tier 1 budget of 2, Tier 2 in a local directory. */
function tieredOptions(root: string): AofManagerOptions {
  return {
    root,
    fsync: 'always',
    tier0: { arenaBytes: 512 * 1024, segmentBytes: 64 * 1024 },
    tier1: { maxBytes: 128 * 1024, frameBytes: 16 * 1024, compressionLevel: 1 },
    tier2: { kind: 'fs', root: `${root}-tier2` },
  };
}

/** The segment facts spans are checked against, read from the engine before close. */
interface SegmentFacts {
  baseId: number;
  count: number;
  dataBytes: number;
  compressedBytes: number;
  frameCount: number;
  key: string;
}

/**
 * Four writers append concurrently under fsync 'always' (`ingest`), the engine settles (every
 * sealed segment compressed and uploaded, the oldest evicted from the local cache), then every
 * record is read back from id 0 (`replay`: the evicted segments come from Tier 2) and checked.
 * `wrap` runs each phase (inside an application span, in the traced test).
 */
async function tieredWorkload(
  root: string,
  wrap: (phase: 'app.ingest' | 'app.replay', work: () => Promise<void>) => Promise<void>,
): Promise<{ segments: SegmentFacts[]; records: number; stats: ReturnType<AofManager['stats']> }> {
  const manager = await AofManager.open(tieredOptions(root));
  const records = WRITERS * APPENDS_PER_WRITER;
  const log: AofLog = await manager.openStream('orders');
  let stats: ReturnType<AofManager['stats']>;
  try {
    const seedOf = new Map<number, number>();
    await wrap('app.ingest', async () => {
      const writer = async (w: number): Promise<void> => {
        for (let i = 0; i < APPENDS_PER_WRITER; i++) {
          const seed = w * APPENDS_PER_WRITER + i;
          seedOf.set(await log.append(payloadFor(seed, RECORD_BYTES)), seed);
        }
      };
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    });
    assert.equal(log.durableId, records - 1);
    await withTimeout(manager.settle(), 60_000, 'settle after ingest');
    assert.ok((manager.stats().tier2?.segmentsEvicted ?? 0) > 0, 'some segments only Tier 2 holds before the replay');
    await wrap('app.replay', async () => {
      const reader = log.openReader({ from: 0 });
      try {
        for (let id = 0; id < records; id++) {
          const record = await withTimeout(reader.next(), 20_000, `record ${id}`);
          assert.ok(record !== null && record.id === id, `record ${id}`);
          assert.ok(sameBytes(record.payload, payloadFor(seedOf.get(id)!, RECORD_BYTES)), `record ${id} bytes`);
        }
      } finally {
        reader.close();
      }
    });
    await withTimeout(manager.settle(), 60_000, 'settle after replay');
    stats = manager.stats();
  } finally {
    await manager.close();
  }
  // After close: the active segment was sealed, compressed and uploaded by it too.
  const segments = logCore(log)
    .segments.filter((s) => s.sealed)
    .map((s) => ({ baseId: s.baseId, count: s.count, dataBytes: s.dataBytes, compressedBytes: s.compressedBytes, frameCount: s.frameCount, key: s.key }));
  return { segments, records, stats };
}

const attr = (span: ReadableSpan, name: string): unknown => span.attributes[`aof2.${name}`];
const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

/**
 * The order in which events were published, as `<channel> <event> <baseId>` lines, for the test's
 * duration. (Span timestamps cannot order spans of different traces: the SDK anchors each trace's
 * clock at its root.)
 */
function eventOrder(t: TestContext, names: readonly string[]): string[] {
  const order: string[] = [];
  for (const name of names) {
    const tc = tracingChannel<unknown, { baseId?: number }>(name);
    const ignore = (): void => undefined;
    const handlers = {
      start: (c: { baseId?: number }) => void order.push(`${name} start ${String(c.baseId)}`),
      end: ignore,
      asyncStart: ignore,
      asyncEnd: (c: { baseId?: number }) => void order.push(`${name} asyncEnd ${String(c.baseId)}`),
      error: ignore,
    };
    tc.subscribe(handlers);
    t.after(() => tc.unsubscribe(handlers));
  }
  return order;
}

test('no subscriber: the engine makes no call on any aof2 tracing channel', { timeout: 180_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-tracing-off-');
  t.after(cleanup);
  // Spies on the very Channel objects the engine holds (channels are one object per name while
  // referenced): every publish or runStores on any of the five events of any aof2 span is counted.
  const calls: string[] = [];
  const spied: Channel[] = [];
  for (const name of Object.values(AOF_SPANS)) {
    for (const event of EVENTS) {
      const ch = channel(`tracing:${name}:${event}`);
      for (const method of ['publish', 'runStores']) {
        Object.defineProperty(ch, method, { value: () => void calls.push(`${name}:${event} ${method}`), configurable: true, writable: true });
      }
      spied.push(ch);
    }
  }
  t.after(() => {
    for (const ch of spied) {
      Reflect.deleteProperty(ch, 'publish');
      Reflect.deleteProperty(ch, 'runStores');
    }
  });
  for (const span of Object.values(SPANS)) assert.equal(span.active, false, `${span.name} has no subscriber`);

  const { stats } = await tieredWorkload(root, (_phase, work) => work());
  // Every traced operation did happen...
  assert.ok(stats.tier1.segmentsSealed > 0 && stats.tier1.segmentsCompressed > 0, JSON.stringify(stats.tier1));
  assert.ok(stats.tier2 !== null && stats.tier2.segmentsUploaded > 0 && stats.tier2.segmentsEvicted > 0, JSON.stringify(stats.tier2));
  assert.ok(stats.tier1.framesDecompressed > 0, 'frames filled from Tier 2');
  // ...and nothing was published for it.
  assert.deepEqual(calls, []);
});

test('a tiered workload: every operation is a span with its attributes, nested under its caller or a root, none failed', { timeout: 180_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-tracing-');
  t.after(cleanup);
  const { tracer, spans } = exported(t);
  const order = eventOrder(t, [AOF_SPANS.segmentSeal, AOF_SPANS.segmentCompress, AOF_SPANS.segmentUpload]);
  const { segments, records } = await tieredWorkload(root, (phase, work) =>
    tracer.startActiveSpan(phase, async (span) => {
      try {
        await work();
      } finally {
        span.end();
      }
    }),
  );
  const all = spans();
  const named = (name: string): ReadableSpan[] => all.filter((s) => s.name === name);
  const app = (name: string): ReadableSpan => {
    const found = named(name);
    assert.equal(found.length, 1, name);
    return found[0]!;
  };
  const ingest = app('app.ingest');
  const replay = app('app.replay');
  t.diagnostic(`${all.length} spans:\n${bridge.spanTree(all)}`);

  assert.deepEqual(all.filter((s) => s.status.code === SpanStatusCode.ERROR).map((s) => `${s.name} ${s.status.message ?? ''}`), [], 'no error span');
  for (const name of [AOF_SPANS.appendDurable, AOF_SPANS.segmentSeal, AOF_SPANS.segmentCompress, AOF_SPANS.segmentUpload, AOF_SPANS.segmentHydrate]) {
    assert.ok(named(name).length > 0, `${name} spans were exported`);
  }

  // append.durable: one per wait for an fsync (group commit), under the appending caller's span.
  const durable = named(AOF_SPANS.appendDurable).sort((a, b) => Number(attr(a, 'from_id')) - Number(attr(b, 'from_id')));
  let waiters = 0;
  let previousTo = -1;
  for (const span of durable) {
    assert.equal(parentOf(span), ingest.spanContext().spanId, 'append.durable nests under the caller');
    assert.equal(attr(span, 'stream'), 'orders');
    assert.equal(attr(span, 'fsync'), 'always');
    const from = Number(attr(span, 'from_id'));
    const to = Number(attr(span, 'to_id'));
    assert.ok(from > previousTo && from <= to && to < records, `ids ${from}..${to} after ${previousTo}`);
    previousTo = to;
    const n = Number(attr(span, 'waiters'));
    assert.ok(n >= 1 && n <= to - from + 1, `${n} waiters for ${from}..${to}`);
    waiters += n;
  }
  assert.ok(waiters <= records, `${waiters} waiters of ${records} appends`);
  assert.ok(durable.length < records, `${durable.length} spans for ${records} appends: one per group commit, not per record`);

  // seal, compress, upload: exactly one each per sealed segment, attributes from the engine's
  // own state, roots (though most seals began inside an append under app.ingest), in that order.
  const bySegment = (name: string): Map<number, ReadableSpan> => {
    const map = new Map<number, ReadableSpan>();
    for (const span of named(name)) {
      assert.equal(attr(span, 'stream'), 'orders');
      assert.equal(parentOf(span), undefined, `${name} of ${String(attr(span, 'base_id'))} is a root span`);
      const baseId = Number(attr(span, 'base_id'));
      assert.ok(!map.has(baseId), `one ${name} span for segment ${baseId}`);
      map.set(baseId, span);
    }
    assert.deepEqual([...map.keys()].sort((a, b) => a - b), segments.map((s) => s.baseId), `${name}: one span per sealed segment`);
    return map;
  };
  const seals = bySegment(AOF_SPANS.segmentSeal);
  const compressions = bySegment(AOF_SPANS.segmentCompress);
  const uploads = bySegment(AOF_SPANS.segmentUpload);
  for (const seg of segments) {
    const seal = seals.get(seg.baseId)!;
    assert.equal(attr(seal, 'records'), seg.count);
    assert.equal(attr(seal, 'bytes'), seg.dataBytes);
    const compress = compressions.get(seg.baseId)!;
    assert.equal(attr(compress, 'bytes'), seg.dataBytes);
    assert.equal(attr(compress, 'compressed_bytes'), seg.compressedBytes);
    assert.equal(attr(compress, 'frames'), seg.frameCount);
    assert.equal(attr(compress, 'level'), 1);
    assert.equal(attr(compress, 'attempts'), 1);
    assert.ok(['arena', 'file'].includes(String(attr(compress, 'source'))));
    const upload = uploads.get(seg.baseId)!;
    assert.equal(attr(upload, 'key'), seg.key);
    assert.equal(attr(upload, 'bytes'), seg.compressedBytes);
    assert.ok(Number(attr(upload, 'attempts')) >= 1);
    const at = (line: string): number => order.indexOf(`${line} ${seg.baseId}`);
    assert.ok(at(`${AOF_SPANS.segmentSeal} start`) >= 0, `segment ${seg.baseId}: events recorded`);
    assert.ok(at(`${AOF_SPANS.segmentSeal} asyncEnd`) < at(`${AOF_SPANS.segmentCompress} start`), `segment ${seg.baseId}: sealed before its compression began`);
    assert.ok(at(`${AOF_SPANS.segmentCompress} asyncEnd`) < at(`${AOF_SPANS.segmentUpload} start`), `segment ${seg.baseId}: compressed before its upload began`);
  }

  // hydrate: the replay's reads of evicted segments are fills from Tier 2, under app.replay.
  const hydrates = named(AOF_SPANS.segmentHydrate);
  const forReplay = hydrates.filter((s) => parentOf(s) === replay.spanContext().spanId);
  const fromTier2 = forReplay.filter((s) => attr(s, 'kind') === 'fill' && attr(s, 'source') === 'tier2');
  assert.ok(fromTier2.length > 0, 'frames filled from Tier 2 for the replay');
  for (const span of forReplay) {
    const seg = segments.find((s) => s.baseId === attr(span, 'base_id'));
    assert.ok(seg !== undefined, `hydrate of a sealed segment (${String(attr(span, 'base_id'))})`);
    assert.equal(attr(span, 'target'), 'arena');
    assert.ok(['load', 'index', 'fill'].includes(String(attr(span, 'kind'))));
    assert.ok(Number(attr(span, 'attempts')) >= 1);
    if (attr(span, 'kind') === 'fill') {
      const frame = Number(attr(span, 'frame'));
      assert.ok(frame >= 0 && frame < seg.frameCount, `frame ${frame} of ${seg.frameCount}`);
      assert.ok(Number(attr(span, 'bytes')) > 0 && Number(attr(span, 'offset')) + Number(attr(span, 'bytes')) <= seg.dataBytes);
    }
  }
  // Whatever is not the replay's is the background re-cache of a Tier 2 object: a root.
  for (const span of hydrates.filter((s) => !forReplay.includes(s))) {
    assert.equal(attr(span, 'kind'), 'recache');
    assert.equal(parentOf(span), undefined);
  }
});

test('a compression that fails for good is an error span, with every attempt counted', { timeout: 120_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-tracing-fail-');
  t.after(cleanup);
  const { spans } = exported(t);
  const givenUp = await withFailpoints('compress.error=1', '7', async () => {
    const manager = await AofManager.open({ root, tier2: { kind: 'none' }, tier0: { arenaBytes: 4 * 4096, segmentBytes: 4096 } });
    try {
      const log = await manager.openStream('doomed');
      for (let i = 0; i < 30; i++) await log.append(payloadFor(i, 200)); // one full segment and a bit
      await waitFor(() => manager.stats().tier1.compressFailures >= 1, 'compression to be given up', 30_000, 20);
      await withTimeout(manager.settle(), 30_000, 'settle');
      return manager.stats().tier1.compressFailures;
    } finally {
      await manager.close();
    }
  });
  // Every compression failed: those given up after every attempt, and the one close() cut short
  // (the segment sealed by close: not a give-up, but no compression either).
  const failed = spans().filter((s) => s.name === AOF_SPANS.segmentCompress);
  assert.ok(failed.length >= 1);
  for (const span of failed) {
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(attr(span, 'error_code'), 'AOF_ERR_INJECTED');
    assert.equal(attr(span, 'compressed_bytes'), 0);
    assert.ok(span.events.some((e) => e.name === 'exception'), 'the exception is recorded');
  }
  assert.equal(failed.filter((s) => attr(s, 'attempts') === MAX_COMPRESS_ATTEMPTS).length, givenUp, 'given up after every attempt');
  const seals = spans().filter((s) => s.name === AOF_SPANS.segmentSeal);
  assert.ok(seals.length >= failed.length && seals.every((s) => s.status.code !== SpanStatusCode.ERROR), 'the seals themselves succeeded');
});

test('a group commit whose fsync fails is an error span, counting the callers it rejected', { timeout: 60_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-tracing-fsync-');
  t.after(cleanup);
  const { tracer, spans } = exported(t);
  // Every fdatasync of the flush worker fails (workers/failpoints.ts): the first group commit does.
  const manager = await withFailpoints('flush.error=1', '1', () =>
    AofManager.open({ root, fsync: 'always', tier1: { enabled: false }, tier0: { arenaBytes: 4 * 65536, segmentBytes: 65536 } }),
  );
  t.after(() => manager.close().catch(() => undefined));
  const log = await manager.openStream('s');
  const outcomes = await tracer.startActiveSpan('app.write', async (span) => {
    const settled = await Promise.allSettled([0, 1, 2].map((i) => log.append(payloadFor(i, 100))));
    span.end();
    return settled;
  });
  assert.ok(outcomes.every((o) => o.status === 'rejected' && (o.reason as { code?: string }).code === 'AOF_ERR_INJECTED'), JSON.stringify(outcomes));
  const durable = spans().filter((s) => s.name === AOF_SPANS.appendDurable);
  const write = spans().find((s) => s.name === 'app.write')!;
  assert.equal(durable.length, 1, 'one wait, for the one group');
  const span = durable[0]!;
  assert.equal(span.status.code, SpanStatusCode.ERROR);
  assert.equal(attr(span, 'error_code'), 'AOF_ERR_INJECTED');
  assert.equal(attr(span, 'waiters'), 3, 'the three callers it rejected');
  assert.equal(attr(span, 'from_id'), 0);
  assert.equal(parentOf(span), write.spanContext().spanId);
});

test('manifest compaction: a root span per snapshot, by record count or on request, with what it wrote and pruned', { timeout: 60_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-tracing-manifest-');
  t.after(cleanup);
  const { tracer, spans } = exported(t);
  const { manifest, catalog } = await ManifestLog.open({ dir: join(root, 'manifest'), chunkBytes: 512, snapshotEvery: 20 });
  // Inside an application span: compaction is background work all the same.
  await tracer.startActiveSpan('app.transitions', async (span) => {
    for (let i = 0; i < 100; i += 5) await manifest.append(workloadOps(i, i + 5));
    await manifest.snapshot();
    span.end();
  });
  await manifest.close();
  const stats = manifest.stats();
  const compactions = spans()
    .filter((s) => s.name === AOF_SPANS.manifestCompaction)
    .sort((a, b) => Number(attr(a, 'snapshot_seq')) - Number(attr(b, 'snapshot_seq')));
  assert.equal(compactions.length, stats.snapshots);
  assert.deepEqual(
    compactions.map((s) => attr(s, 'trigger')),
    [...Array.from({ length: stats.snapshots - 1 }, () => 'records'), 'request'],
  );
  let segmentsInCatalog = 0;
  for (const entries of catalog.toSnapshotStreams().values()) segmentsInCatalog += entries.length;
  for (const span of compactions) {
    assert.equal(parentOf(span), undefined, 'compaction is a root span');
    assert.notEqual(span.status.code, SpanStatusCode.ERROR);
    assert.ok(Number(attr(span, 'bytes')) > 0 && Number(attr(span, 'segments')) > 0);
  }
  assert.equal(attr(compactions.at(-1)!, 'segments'), segmentsInCatalog, 'the last snapshot describes the whole catalog');
  assert.equal(compactions.reduce((n, s) => n + Number(attr(s, 'pruned_chunks')), 0), stats.prunedChunks);
  assert.equal(compactions.reduce((n, s) => n + Number(attr(s, 'pruned_snapshots')), 0), stats.prunedSnapshots);
  assert.ok(stats.prunedChunks > 0, 'chunks were pruned');
});

test('the example runs as documented and prints the tree of every kind of span', { timeout: 120_000 }, async () => {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [EXAMPLE], { timeout: 100_000 }, (err, out, errOut) => {
      if (err !== null) reject(new Error(`the example failed: ${err.message}\n${errOut}`));
      else resolve(out);
    });
  });
  assert.match(stdout, /^\d+ spans\napp\.ingest /);
  assert.match(stdout, /^ {2}aof2:append\.durable orders /m, 'durable waits under app.ingest');
  assert.match(stdout, /^ {2}aof2:segment\.hydrate orders \d+ fill tier2 /m, 'fills from Tier 2 under app.replay');
  for (const name of [AOF_SPANS.segmentSeal, AOF_SPANS.segmentCompress, AOF_SPANS.segmentUpload]) assert.match(stdout, new RegExp(`^${name.replace('.', '\\.')} orders \\d+ `, 'm'), `${name} roots`);
  assert.doesNotMatch(stdout, /ERROR/);
});
