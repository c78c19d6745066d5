/**
 * Spans of the engine's operations, through `node:diagnostics_channel` tracing channels, so
 * OpenTelemetry and APM agents can subscribe without aof2 depending on any of them
 * (docs/tracing.md: the span layout, how to subscribe, an OpenTelemetry bridge).
 *
 * One `TracingChannel` per operation, named here and nowhere else (`AOF_SPANS`). Each span is
 * one context object, published on the channel's five events in the order of
 * `TracingChannel.tracePromise`: `start` (inside `start.runStores`, so a subscriber that bound a
 * store gets it set for the operation's main-thread work), `end` (the synchronous step that began
 * the operation returned), then, once it completed, `error` (failures only, `context.error` set
 * first), `asyncStart` and `asyncEnd`. Subscribers end their span at `asyncEnd`. Every span is
 * asynchronous; none is published with `tracePromise` itself, because most begin in one place and
 * complete in another (a seal starts at the log's rollover and completes in Tier 1's watcher).
 *
 * Free when nobody subscribes: every call site asks {@link SpanChannel.active} (one getter) before
 * it builds a context, and publishes nothing otherwise. No span is per record: append-to-durable
 * is one span per wait of a stream for its fsync (a group commit, covering every caller that
 * waits on it), opened by the first waiter (docs/decisions.md, "Tracing").
 *
 * Parents. Spans that work for a caller (`append.durable`, and `segment.hydrate` of kinds load,
 * index, fill) start on that caller's async context, so a subscriber that parents spans on the
 * active context puts them under the caller's span. The engine's background work (`segment.seal`,
 * `segment.compress`, `segment.upload`, `segment.hydrate` kind recache, `manifest.compaction`)
 * starts in a context of its own, captured when this module loaded: such a span is the root of
 * its own trace whichever caller happened to trigger it (the append that filled a segment, a
 * compression whose completion queued the upload), and subscribers relate them by stream and
 * segment instead.
 */
import { AsyncResource } from 'node:async_hooks';
import { tracingChannel, type TracingChannel } from 'node:diagnostics_channel';

/**
 * Tracing channel names, stable. `diagnostics_channel.tracingChannel(AOF_SPANS.segmentSeal)`
 * gives the five channels `tracing:aof2:segment.seal:start`, `:end`, `:asyncStart`, `:asyncEnd`
 * and `:error`.
 */
export const AOF_SPANS = {
  /** A wait of one stream for durability: from the first waiting `append()` / `appendBatch()` / `flush()` until its fsync. */
  appendDurable: 'aof2:append.durable',
  /** A segment sealed: from the log's rollover (or close) until its footer is durable and SEALED recorded. */
  segmentSeal: 'aof2:segment.seal',
  /** A sealed segment compressed into its Tier 1 file, retries included, until COMPRESSION_DONE is recorded. */
  segmentCompress: 'aof2:segment.compress',
  /** A Tier 1 file put into Tier 2, retries included, until UPLOADED is recorded. */
  segmentUpload: 'aof2:segment.upload',
  /** Data brought back: a raw chunk, a frame index, a Tier 1 frame into the arena, or a Tier 2 object into the local cache. */
  segmentHydrate: 'aof2:segment.hydrate',
  /** The manifest log compacted: a catalog snapshot written, then the chunks and snapshots behind it pruned. */
  manifestCompaction: 'aof2:manifest.compaction',
} as const;

/** The name of one of aof2's tracing channels (a value of {@link AOF_SPANS}). */
export type AofSpanName = (typeof AOF_SPANS)[keyof typeof AOF_SPANS];

/**
 * Fields every span context has. `error` is set (to the AofError, or what failed) just before the
 * `error` event, and only on failure.
 */
export interface SpanContextBase {
  error?: unknown;
}

/**
 * `aof2:append.durable`: one stream's wait for durability. Opened by the first caller that waits
 * (`append()` or `appendBatch()` under `fsync: 'always'`, `flush()` under any policy); callers that
 * wait meanwhile join it; it completes at the first fsync that makes a waiter durable, with every
 * caller that fsync covers. Callers still waiting then open the next span.
 */
export interface AppendDurableSpanContext extends SpanContextBase {
  readonly stream: string;
  readonly fsync: 'always' | 'interval' | 'never';
  /** The first id not yet durable when the wait began (`durableId + 1`). */
  readonly fromId: number;
  /** The last id a completed caller waited for: final at `asyncEnd` (at `start`, the first caller's). */
  toId: number;
  /** Callers (appends, batches, flushes) the span completed: final at `asyncEnd`. */
  waiters: number;
}

/** `aof2:segment.seal`: the log sealed a segment; the flush worker writes its footer and fsyncs, Tier 1 records SEALED. */
export interface SegmentSealSpanContext extends SpanContextBase {
  readonly stream: string;
  readonly baseId: number;
  readonly records: number;
  /** Bytes of frames in the segment's data region. */
  readonly bytes: number;
}

/** `aof2:segment.compress`: one segment's compression, every attempt, until COMPRESSION_DONE is durable and the raw file gone. */
export interface SegmentCompressSpanContext extends SpanContextBase {
  readonly stream: string;
  readonly baseId: number;
  /** Raw bytes compressed (the data region). */
  readonly bytes: number;
  /** zstd level of every attempt. */
  readonly level: number;
  /** Bytes of the Tier 1 file: final at `asyncEnd` (0 until then, and on failure). */
  compressedBytes: number;
  /** Its zstd frames: final at `asyncEnd`. */
  frames: number;
  /** Where the last attempt read the segment: its arena slot, or its raw file. */
  source: 'arena' | 'file';
  /** Attempts made: final at `asyncEnd`. */
  attempts: number;
}

/** `aof2:segment.upload`: one Tier 1 file put into Tier 2, every attempt, until UPLOADED (and its frame index) is durable. */
export interface SegmentUploadSpanContext extends SpanContextBase {
  readonly stream: string;
  readonly baseId: number;
  /** The object's key. */
  readonly key: string;
  /** Bytes of the Tier 1 file. */
  readonly bytes: number;
  /** Attempts made: final at `asyncEnd` (0 when the upload was abandoned at close before any). */
  attempts: number;
}

/**
 * `aof2:segment.hydrate`: data brought back, in the read path's words (docs/read-path.md):
 * `load` a chunk of a raw segment file into the arena, `index` a compressed segment's frame index
 * from the source holding it, `fill` one Tier 1 frame decompressed into the arena (retries
 * included; or several consecutive frames read with one request: a scan's read-ahead in segments
 * only Tier 2 holds), `recache` a Tier 2 object copied back into the local Tier 1 cache.
 */
export interface SegmentHydrateSpanContext extends SpanContextBase {
  readonly stream: string;
  readonly baseId: number;
  readonly kind: 'load' | 'index' | 'fill' | 'recache';
  /** Where the bytes come from (a fill: the source of the last attempt, final at `asyncEnd`). */
  source: 'raw' | 'tier1' | 'tier2';
  /** Where they go: the arena (readers), or the local Tier 1 cache (recache). */
  readonly target: 'arena' | 'tier1';
  /** The Tier 1 frame filled (of several: the first), or null (load, index, recache). */
  readonly frame: number | null;
  /** Data offset in the segment of the bytes brought into the arena: final at `asyncEnd` for a load (-1 when none); 0 for index and recache. */
  offset: number;
  /** Bytes brought back: final at `asyncEnd` for a load (0 when none); the raw bytes of the frame (or frames) filled; the object's for a recache; 0 for index. */
  bytes: number;
  /** Attempts made: final at `asyncEnd` (fills retry; the others make one). */
  attempts: number;
}

/** `aof2:manifest.compaction`: a catalog snapshot written (temp, fsync, rename), its marker committed, older files pruned. */
export interface ManifestCompactionSpanContext extends SpanContextBase {
  /** `records`: `snapshotEvery` records were committed since the last one; `request`: `snapshot()` was called (`aof2-admin snapshot create`). */
  readonly trigger: 'records' | 'request';
  /** Sequence number of the snapshot: final at `asyncEnd`. */
  snapshotSeq: number;
  /** Segments the snapshot describes (the catalog's entries): final at `asyncEnd`. */
  segments: number;
  /** Bytes of the snapshot file: final at `asyncEnd`. */
  bytes: number;
  /** Chunk files pruned: final at `asyncEnd`. */
  prunedChunks: number;
  /** Snapshot files pruned: final at `asyncEnd`. */
  prunedSnapshots: number;
}

/**
 * The async context background spans start in: the one this module was loaded in, which is no
 * caller's. `runInAsyncScope` restores it (AsyncLocalStorage stores included) for the publish
 * and the operation's work, so neither inherits the context of whatever triggered it.
 */
const BACKGROUND_SCOPE = new AsyncResource('aof2:background', { requireManualDestroy: true });

/**
 * `TracingChannel.hasSubscribers` came in Node 20.13 (and 22.0); without it, the five channels
 * are asked one by one, as that getter does. Chosen once per channel, at construction.
 */
function anySubscriber(tc: TracingChannel<unknown, object>, aggregate: boolean): boolean {
  if (aggregate) return tc.hasSubscribers;
  return tc.start.hasSubscribers || tc.end.hasSubscribers || tc.asyncStart.hasSubscribers || tc.asyncEnd.hasSubscribers || tc.error.hasSubscribers;
}

/** Where a span's start is published: on the caller's async context, or in the background scope. */
type SpanParent = 'caller' | 'background';

/** One traced operation: its tracing channel and where its spans start. */
export class SpanChannel<C extends SpanContextBase> {
  readonly name: AofSpanName;
  readonly #tc: TracingChannel<unknown, C>;
  readonly #background: boolean;
  readonly #aggregate: boolean;

  constructor(name: AofSpanName, parent: SpanParent) {
    this.name = name;
    this.#tc = tracingChannel<unknown, C>(name);
    this.#background = parent === 'background';
    this.#aggregate = 'hasSubscribers' in this.#tc;
  }

  /** True when anyone subscribes to any of the five events: build a context and publish only then. */
  get active(): boolean {
    return anySubscriber(this.#tc, this.#aggregate);
  }

  /** Publishes `start` and `end` of a span whose operation runs elsewhere. */
  start(context: C): void {
    this.run(context, noop);
  }

  /**
   * Publishes `start` (through `start.runStores`, which sets the stores subscribers bound for
   * the duration of `work` and the async work it starts), runs `work`, then publishes `end`.
   * Returns what `work` returned. `work` must not throw synchronously (async functions do not):
   * the span's completion is {@link end} or {@link fail}, called once it settled.
   */
  run<R>(context: C, work: () => R): R {
    const tc = this.#tc;
    const begin = (): R => {
      try {
        return tc.start.runStores(context, work);
      } finally {
        tc.end.publish(context);
      }
    };
    return this.#background ? BACKGROUND_SCOPE.runInAsyncScope(begin) : begin();
  }

  /** The operation completed: `asyncStart`, `asyncEnd`. */
  end(context: C): void {
    this.#tc.asyncStart.publish(context);
    this.#tc.asyncEnd.publish(context);
  }

  /** The operation failed: `context.error` set, then `error`, `asyncStart`, `asyncEnd`. */
  fail(context: C, error: unknown): void {
    context.error = error;
    this.#tc.error.publish(context);
    this.end(context);
  }
}

function noop(): void {}

/** The engine's span channels, one per operation (created once: a channel lookup is not free). */
export const SPANS = {
  appendDurable: new SpanChannel<AppendDurableSpanContext>(AOF_SPANS.appendDurable, 'caller'),
  segmentSeal: new SpanChannel<SegmentSealSpanContext>(AOF_SPANS.segmentSeal, 'background'),
  segmentCompress: new SpanChannel<SegmentCompressSpanContext>(AOF_SPANS.segmentCompress, 'background'),
  segmentUpload: new SpanChannel<SegmentUploadSpanContext>(AOF_SPANS.segmentUpload, 'background'),
  /** Loads, index fetches and fills, for the reader that asked. */
  segmentHydrate: new SpanChannel<SegmentHydrateSpanContext>(AOF_SPANS.segmentHydrate, 'caller'),
  /** Recaches: Tier 2's background copy of an object back into the local cache (same channel name). */
  segmentRecache: new SpanChannel<SegmentHydrateSpanContext>(AOF_SPANS.segmentHydrate, 'background'),
  manifestCompaction: new SpanChannel<ManifestCompactionSpanContext>(AOF_SPANS.manifestCompaction, 'background'),
} as const;
