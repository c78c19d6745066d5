/**
 * src/tracing.ts: the span publisher on real `node:diagnostics_channel` tracing channels. The
 * events of a span in tracePromise's order on one context object; `active` as the zero-cost guard;
 * stores bound to `start` set for the operation's work; caller spans on the caller's async context,
 * background spans on none.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { tracingChannel } from 'node:diagnostics_channel';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { AOF_SPANS, SPANS, SpanChannel, type SegmentSealSpanContext } from '../../src/tracing.js';

type Context = SegmentSealSpanContext;
const EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const;

/** Records `event` (and the context object) for every event of channel `name` while the test runs. */
function record(t: TestContext, name: string): { event: string; context: Context; error: unknown }[] {
  const seen: { event: string; context: Context; error: unknown }[] = [];
  const tc = tracingChannel<unknown, Context>(name);
  const on = (event: string) => (context: Context) => void seen.push({ event, context, error: context.error });
  const handlers = { start: on('start'), end: on('end'), asyncStart: on('asyncStart'), asyncEnd: on('asyncEnd'), error: on('error') };
  tc.subscribe(handlers);
  t.after(() => tc.unsubscribe(handlers));
  return seen;
}

const context = (): Context => ({ stream: 's', baseId: 7, records: 3, bytes: 96 });

test('every span channel is inactive without a subscriber, and active with any one, a bound store included', (t) => {
  for (const span of Object.values(SPANS)) assert.equal(span.active, false, span.name);
  assert.deepEqual(new Set(Object.values(SPANS).map((s) => s.name)), new Set(Object.values(AOF_SPANS)), 'one channel per span name');
  for (const event of EVENTS) {
    const tc = tracingChannel(AOF_SPANS.segmentUpload);
    const onEvent = (): void => undefined;
    tc[event].subscribe(onEvent);
    assert.equal(SPANS.segmentUpload.active, true, `a subscriber to ${event}`);
    tc[event].unsubscribe(onEvent);
    assert.equal(SPANS.segmentUpload.active, false, `unsubscribed from ${event}`);
  }
  const store = new AsyncLocalStorage<string>();
  const start = tracingChannel(AOF_SPANS.segmentUpload).start;
  start.bindStore(store, () => 'span');
  t.after(() => start.unbindStore(store));
  assert.equal(SPANS.segmentUpload.active, true, 'a store bound to start is a subscriber');
});

test('a span: start and end around the work, then asyncStart and asyncEnd on completion, on one context object', (t) => {
  const seen = record(t, AOF_SPANS.segmentSeal);
  const spans = new SpanChannel<Context>(AOF_SPANS.segmentSeal, 'caller');
  const ctx = context();
  const result = spans.run(ctx, () => {
    assert.deepEqual(seen.map((e) => e.event), ['start'], 'the work runs after start, before end');
    return 42;
  });
  assert.equal(result, 42);
  assert.deepEqual(seen.map((e) => e.event), ['start', 'end']);
  spans.end(ctx);
  assert.deepEqual(seen.map((e) => e.event), ['start', 'end', 'asyncStart', 'asyncEnd']);
  assert.ok(seen.every((e) => e.context === ctx && e.error === undefined));
  // start(): the same without work.
  seen.length = 0;
  spans.start(ctx);
  assert.deepEqual(seen.map((e) => e.event), ['start', 'end']);
});

test('a failed span: context.error set, then error, asyncStart, asyncEnd', (t) => {
  const seen = record(t, AOF_SPANS.segmentSeal);
  const spans = new SpanChannel<Context>(AOF_SPANS.segmentSeal, 'caller');
  const ctx = context();
  const boom = new Error('disk on fire');
  spans.start(ctx);
  spans.fail(ctx, boom);
  assert.deepEqual(seen.map((e) => e.event), ['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
  assert.deepEqual(seen.map((e) => e.error), [undefined, undefined, boom, boom, boom]);
  assert.equal(ctx.error, boom);
});

test("a store bound to start is set for the span's work and the async work it starts, not after", async (t) => {
  const store = new AsyncLocalStorage<string>();
  const start = tracingChannel<unknown, Context>(AOF_SPANS.segmentCompress).start;
  start.bindStore(store, (ctx) => `span of ${ctx.baseId}`);
  t.after(() => start.unbindStore(store));
  const spans = new SpanChannel<Context>(AOF_SPANS.segmentCompress, 'background');
  const inside: (string | undefined)[] = [];
  await spans.run(context(), async () => {
    inside.push(store.getStore());
    await nextTurn();
    inside.push(store.getStore());
  });
  assert.deepEqual(inside, ['span of 7', 'span of 7']);
  assert.equal(store.getStore(), undefined);
});

test("caller spans start on the caller's async context, background spans on none", (t) => {
  const app = new AsyncLocalStorage<string>();
  const startedIn = new Map<string, string | undefined>();
  const workIn = new Map<string, string | undefined>();
  for (const [name, parent] of [
    [AOF_SPANS.appendDurable, 'caller'],
    [AOF_SPANS.segmentSeal, 'background'],
  ] as const) {
    const tc = tracingChannel(name);
    const onStart = (): void => void startedIn.set(name, app.getStore());
    tc.start.subscribe(onStart);
    t.after(() => tc.start.unsubscribe(onStart));
    const spans = new SpanChannel<Context>(name, parent);
    app.run('request 1', () => spans.run(context(), () => void workIn.set(name, app.getStore())));
  }
  assert.equal(startedIn.get(AOF_SPANS.appendDurable), 'request 1');
  assert.equal(workIn.get(AOF_SPANS.appendDurable), 'request 1');
  assert.equal(startedIn.get(AOF_SPANS.segmentSeal), undefined, 'a background span is no request\'s child');
  assert.equal(workIn.get(AOF_SPANS.segmentSeal), undefined, 'nor is its work');
});
