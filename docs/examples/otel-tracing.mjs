/**
 * aof2's spans exported with OpenTelemetry. aof2 publishes them on `node:diagnostics_channel`
 * tracing channels (docs/tracing.md) and depends on no tracing library: this file is the bridge an
 * application writes (or an APM agent ships), about 40 lines, plus a small workload that shows
 * every span: appends under fsync 'always', seals, compressions, uploads to a local-directory
 * Tier 2, evictions and a cold read that hydrates from Tier 2.
 *
 *   npm run build && node docs/examples/otel-tracing.mjs
 *
 * It prints the finished spans as a tree. In an application, replace the InMemorySpanExporter
 * with the exporter of your backend (OTLP, Zipkin, ...) and keep `subscribeOpenTelemetry`.
 * test/integration/tracing.test.ts runs the same bridge against the real engine.
 */
import { tracingChannel } from 'node:diagnostics_channel';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SpanStatusCode, context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AOF_SPANS, AofManager } from 'aof2';

/**
 * Turns every aof2 span into an OpenTelemetry span of `tracer`, named after its channel. Returns
 * the function that unsubscribes.
 *
 * - `start`: the span begins, its parent the active context. aof2 publishes the spans it runs for
 *   a caller (append.durable, hydrate of a read) on that caller's context, so they nest under the
 *   caller's span; background spans (seal, compress, upload, recache, compaction) arrive on an
 *   empty context and become roots.
 * - `asyncEnd`: the span ends, with the context's fields as attributes (some are only final
 *   then: bytes produced, attempts) and the error, if `error` was published before.
 */
export function subscribeOpenTelemetry(tracer) {
  const open = new WeakMap();
  const unsubscribes = [];
  for (const name of Object.values(AOF_SPANS)) {
    const channel = tracingChannel(name);
    const handlers = {
      start(message) {
        open.set(message, tracer.startSpan(name, { attributes: attributesOf(message) }, context.active()));
      },
      asyncEnd(message) {
        const span = open.get(message);
        if (span === undefined) return; // started before this subscriber came
        open.delete(message);
        span.setAttributes(attributesOf(message));
        if (message.error !== undefined) {
          const error = message.error instanceof Error ? message.error : new Error(String(message.error));
          span.recordException(error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
          if (typeof error.code === 'string') span.setAttribute('aof2.error_code', error.code);
        }
        span.end();
      },
    };
    channel.subscribe(handlers);
    unsubscribes.push(() => channel.unsubscribe(handlers));
  }
  return () => {
    for (const unsubscribe of unsubscribes) unsubscribe();
  };
}

/** `{ baseId: 4096, stream: 'orders' }` → `{ 'aof2.base_id': 4096, 'aof2.stream': 'orders' }`: plain values only. */
export function attributesOf(message) {
  const attributes = {};
  for (const [key, value] of Object.entries(message)) {
    if (key === 'error' || !['string', 'number', 'boolean'].includes(typeof value)) continue;
    attributes[`aof2.${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`] = value;
  }
  return attributes;
}

/**
 * The finished spans as an indented tree, children under their parent, in start order; of a run
 * of more than three childless siblings of one name, the first two and a count.
 */
export function spanTree(spans) {
  const ids = new Set(spans.map((s) => s.spanContext().spanId));
  const children = new Map();
  for (const span of spans) {
    const parent = span.parentSpanContext?.spanId;
    const key = parent !== undefined && ids.has(parent) ? parent : 'root';
    if (!children.has(key)) children.set(key, []);
    children.get(key).push(span);
  }
  const lines = [];
  const walk = (key, depth) => {
    const list = (children.get(key) ?? []).sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    let run = 0;
    for (let i = 0; i < list.length; i++) {
      const span = list[i];
      const repeated = i > 0 && list[i - 1].name === span.name && !children.has(span.spanContext().spanId);
      run = repeated ? run + 1 : 0;
      if (run >= 2) {
        let more = 1;
        while (i + more < list.length && list[i + more].name === span.name && !children.has(list[i + more].spanContext().spanId)) more++;
        if (more > 1) {
          lines.push(`${'  '.repeat(depth)}... ${more} more ${span.name}`);
          i += more - 1;
          run = 0;
          continue;
        }
      }
      const a = span.attributes;
      const what = [a['aof2.stream'], a['aof2.base_id'], a['aof2.kind'], a['aof2.source']].filter((v) => v !== undefined).join(' ');
      const ms = (span.duration[0] * 1e3 + span.duration[1] / 1e6).toFixed(1);
      const failed = span.status.code === SpanStatusCode.ERROR ? ` ERROR ${span.status.message}` : '';
      lines.push(`${'  '.repeat(depth)}${span.name} ${what} ${ms} ms${failed}`);
      walk(span.spanContext().spanId, depth + 1);
    }
  };
  walk('root', 0);
  return lines.join('\n');
}

async function main() {
  // The context manager makes `context.active()` follow async calls (startActiveSpan below).
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('aof2-example');
  const unsubscribe = subscribeOpenTelemetry(tracer);

  const dir = mkdtempSync(join(tmpdir(), 'aof2-otel-'));
  try {
    const manager = await AofManager.open({
      root: join(dir, 'data'),
      fsync: 'always',
      // Small segments, arena and local budget, so a short run seals, uploads, evicts, and the
      // replay reads the oldest segments back from Tier 2.
      tier0: { arenaBytes: 512 * 1024, segmentBytes: 64 * 1024 },
      tier1: { maxBytes: 128 * 1024, frameBytes: 16 * 1024, compressionLevel: 1 },
      tier2: { kind: 'fs', root: join(dir, 'tier2') },
    });
    const log = await manager.openStream('orders');
    await tracer.startActiveSpan('app.ingest', async (span) => {
      // Four writers at once: their appends share group commits (one append.durable span each).
      const writer = async () => {
        for (let i = 0; i < 300; i++) await log.append(randomBytes(1000));
      };
      await Promise.all([writer(), writer(), writer(), writer()]);
      span.end();
    });
    await manager.settle(); // every sealed segment compressed and uploaded; the oldest evicted
    await tracer.startActiveSpan('app.replay', async (span) => {
      let records = 0;
      for await (const record of log.read({ from: 0 })) records += record.payload.length > 0 ? 1 : 0;
      span.setAttribute('app.records', records);
      span.end();
    });
    await manager.close();
  } finally {
    unsubscribe();
    rmSync(dir, { recursive: true, force: true });
  }
  const spans = exporter.getFinishedSpans();
  console.log(`${spans.length} spans\n${spanTree(spans)}`);
  await provider.shutdown();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
