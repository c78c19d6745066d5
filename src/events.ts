/**
 * Structured events of tier transitions and failures, through `node:diagnostics_channel`, plus
 * the optional pino-compatible logger.
 *
 * Free when nobody listens: every publish is guarded by `channel.hasSubscribers` (one property
 * load), and the payload object is only built inside the guard. Events are never on the append hot
 * path anyway: the most frequent one (`segment.sealed`) happens once per segment.
 *
 * The logger (`AofManager.open({ logger })`) gets what an operator needs without a subscriber:
 * task retries and final failures (warn / error) and circuit-breaker transitions (warn when it
 * opens, info when it closes). It is called with pino's `(object, message)` signature; a logger
 * that throws is ignored (logging must never break the engine).
 */
import { channel, type Channel } from 'node:diagnostics_channel';
import { AofError } from './errors.js';

/** Channel names, stable: subscribe with `diagnostics_channel.subscribe(AOF_EVENTS.segmentSealed, fn)`. */
export const AOF_EVENTS = {
  /** A sealed segment is durable (footer fsynced) and recorded in the manifest. */
  segmentSealed: 'aof2:segment.sealed',
  /** A sealed segment was compressed into its Tier 1 file (the raw file is gone). */
  segmentCompressed: 'aof2:segment.compressed',
  /** A Tier 1 file was uploaded to Tier 2 and the upload recorded. */
  segmentUploaded: 'aof2:segment.uploaded',
  /** An uploaded segment's local Tier 1 copy was evicted (reads now go to Tier 2). */
  segmentEvicted: 'aof2:segment.evicted',
  /** Data came back: a raw segment or a Tier 1 frame into the arena, or a Tier 2 object into the local cache. */
  segmentHydrated: 'aof2:segment.hydrated',
  /** A background task (compress, hydrate, upload) failed and will be tried again. */
  taskRetried: 'aof2:task.retried',
  /** A background task gave up (or a raw hydration failed; the reader sees the error). */
  taskFailed: 'aof2:task.failed',
  /** The Tier 2 circuit breaker opened (first opening, or a failed probe). */
  breakerOpened: 'aof2:breaker.opened',
  /** The Tier 2 circuit breaker closed (a probe succeeded). */
  breakerClosed: 'aof2:breaker.closed',
  /**
   * A manifest append the engine went on without failed (the manifest then refuses every later
   * append until reopened): the transition is not recorded, and the next open re-derives it.
   */
  manifestAppendFailed: 'aof2:manifest.append-failed',
} as const;

/** The name of a diagnostics_channel aof2 publishes on (a value of {@link AOF_EVENTS}). */
export type AofEventName = (typeof AOF_EVENTS)[keyof typeof AOF_EVENTS];

/** The subset of pino's interface aof2 calls. */
export interface AofLogger {
  /** Back to normal (the Tier 2 circuit breaker closed). */
  info(obj: object, msg?: string): void;
  /** Degraded, and aof2 works around it (a task retried, the Tier 2 circuit breaker opened). */
  warn(obj: object, msg?: string): void;
  /** A failure the application should see (a task gave up, a manifest append failed). */
  error(obj: object, msg?: string): void;
}

/** A background task: compress a segment, hydrate a frame, upload a segment, or copy one back from Tier 2 (`recache`). */
export type TaskKind = 'compress' | 'hydrate' | 'upload' | 'recache';

/** Payload of `aof2:segment.sealed`. */
export interface SegmentSealedEvent {
  stream: string;
  baseId: number;
  records: number;
  /** Bytes of frames in the segment's data region. */
  bytes: number;
}

/** Payload of `aof2:segment.compressed`. */
export interface SegmentCompressedEvent {
  stream: string;
  baseId: number;
  inputBytes: number;
  outputBytes: number;
  frames: number;
  /** Attempts it took (1 when the first one succeeded). */
  attempts: number;
}

/** Payload of `aof2:segment.uploaded`. */
export interface SegmentUploadedEvent {
  stream: string;
  baseId: number;
  key: string;
  bytes: number;
  attempts: number;
}

/** Payload of `aof2:segment.evicted`. */
export interface SegmentEvictedEvent {
  stream: string;
  baseId: number;
  /** The tier the copy left: always `tier1` (the local compressed file) for now. */
  from: 'tier1';
  bytes: number;
}

/** Payload of `aof2:segment.hydrated`. */
export interface SegmentHydratedEvent {
  stream: string;
  baseId: number;
  /** Where the bytes came from: the raw segment file, the local Tier 1 file or a Tier 2 object. */
  source: 'raw' | 'tier1' | 'tier2';
  /** Where they went: an arena slot (readers), or the local Tier 1 cache (a Tier 2 re-cache). */
  target: 'arena' | 'tier1';
  /** The Tier 1 frame hydrated, or null for a raw chunk or a re-cache. */
  frame: number | null;
  seconds: number;
  /**
   * Data offset in the segment of the bytes brought into the arena (a raw chunk's start, a
   * frame's rawOffset); 0 for a re-cache.
   */
  offset: number;
  /** Bytes brought back: the raw chunk's or frame's raw bytes in the arena, the file for a re-cache. */
  bytes: number;
}

/** Payload of `aof2:task.retried` and `aof2:task.failed`. */
export interface TaskEvent {
  task: TaskKind;
  stream: string;
  baseId: number;
  attempt: number;
  error: { code: string; message: string };
}

/** Payload of `aof2:manifest.append-failed`. */
export interface ManifestAppendFailedEvent {
  /** The component that appended: `tier1` (compression) or `tier2` (upload). */
  from: 'tier1' | 'tier2';
  stream: string;
  baseId: number;
  /** The record type that was not written (`COMPRESSION_STARTED`, `COMPRESSION_FAILED`, `NEEDS_RECOVERY`). */
  record: string;
  error: { code: string; message: string };
}

/** Payload of `aof2:breaker.opened` and `aof2:breaker.closed`. */
export interface BreakerEvent {
  /** The object store (its location: `s3://bucket/prefix` or `file:///dir`). */
  store: string;
  from: string;
  to: string;
  /** Cool-down before the next probe (ms), when opened. */
  coolDownMs: number;
}

function errorFields(err: unknown): { code: string; message: string } {
  if (err instanceof AofError) return { code: err.code, message: err.message };
  return { code: 'unknown', message: err instanceof Error ? err.message : String(err) };
}

/** The engine's one publisher: the channels, resolved once, and the logger. */
export class EngineEvents {
  readonly #sealed: Channel = channel(AOF_EVENTS.segmentSealed);
  readonly #compressed: Channel = channel(AOF_EVENTS.segmentCompressed);
  readonly #uploaded: Channel = channel(AOF_EVENTS.segmentUploaded);
  readonly #evicted: Channel = channel(AOF_EVENTS.segmentEvicted);
  readonly #hydrated: Channel = channel(AOF_EVENTS.segmentHydrated);
  readonly #retried: Channel = channel(AOF_EVENTS.taskRetried);
  readonly #failed: Channel = channel(AOF_EVENTS.taskFailed);
  readonly #opened: Channel = channel(AOF_EVENTS.breakerOpened);
  readonly #closed: Channel = channel(AOF_EVENTS.breakerClosed);
  readonly #appendFailed: Channel = channel(AOF_EVENTS.manifestAppendFailed);
  readonly #logger: AofLogger | null;

  constructor(logger: AofLogger | null) {
    this.#logger = logger;
  }

  sealed(stream: string, baseId: number, records: number, bytes: number): void {
    if (this.#sealed.hasSubscribers) this.#sealed.publish({ stream, baseId, records, bytes } satisfies SegmentSealedEvent);
  }

  compressed(stream: string, baseId: number, inputBytes: number, outputBytes: number, frames: number, attempts: number): void {
    if (this.#compressed.hasSubscribers) {
      this.#compressed.publish({ stream, baseId, inputBytes, outputBytes, frames, attempts } satisfies SegmentCompressedEvent);
    }
  }

  uploaded(stream: string, baseId: number, key: string, bytes: number, attempts: number): void {
    if (this.#uploaded.hasSubscribers) this.#uploaded.publish({ stream, baseId, key, bytes, attempts } satisfies SegmentUploadedEvent);
  }

  evicted(stream: string, baseId: number, bytes: number): void {
    if (this.#evicted.hasSubscribers) this.#evicted.publish({ stream, baseId, from: 'tier1', bytes } satisfies SegmentEvictedEvent);
  }

  hydrated(
    stream: string,
    baseId: number,
    source: SegmentHydratedEvent['source'],
    target: SegmentHydratedEvent['target'],
    frame: number | null,
    seconds: number,
    offset: number,
    bytes: number,
  ): void {
    if (this.#hydrated.hasSubscribers) {
      this.#hydrated.publish({ stream, baseId, source, target, frame, seconds, offset, bytes } satisfies SegmentHydratedEvent);
    }
  }

  /** A task failed and will run again after a backoff. */
  retried(task: TaskKind, stream: string, baseId: number, attempt: number, err: unknown): void {
    const logger = this.#logger;
    if (!this.#retried.hasSubscribers && logger === null) return;
    const event: TaskEvent = { task, stream, baseId, attempt, error: errorFields(err) };
    if (this.#retried.hasSubscribers) this.#retried.publish(event);
    if (logger !== null) safeLog(() => logger.warn({ event: AOF_EVENTS.taskRetried, ...event }, `aof2: ${task} of ${stream}/${baseId} failed (attempt ${attempt}); retrying`));
  }

  /** A task gave up. */
  failed(task: TaskKind, stream: string, baseId: number, attempt: number, err: unknown): void {
    const logger = this.#logger;
    if (!this.#failed.hasSubscribers && logger === null) return;
    const event: TaskEvent = { task, stream, baseId, attempt, error: errorFields(err) };
    if (this.#failed.hasSubscribers) this.#failed.publish(event);
    if (logger !== null) safeLog(() => logger.error({ event: AOF_EVENTS.taskFailed, ...event }, `aof2: ${task} of ${stream}/${baseId} failed after ${attempt} attempt(s)`));
  }

  /** A manifest append that its caller does not wait for (or goes on without) failed. */
  manifestAppendFailed(from: ManifestAppendFailedEvent['from'], stream: string, baseId: number, record: string, err: unknown): void {
    const logger = this.#logger;
    if (!this.#appendFailed.hasSubscribers && logger === null) return;
    const event: ManifestAppendFailedEvent = { from, stream, baseId, record, error: errorFields(err) };
    if (this.#appendFailed.hasSubscribers) this.#appendFailed.publish(event);
    if (logger !== null) {
      safeLog(() => logger.error({ event: AOF_EVENTS.manifestAppendFailed, ...event }, `aof2: ${record} of ${stream}/${baseId} could not be recorded in the manifest; the next open re-derives it`));
    }
  }

  /**
   * The writer could not listen for its read-only followers (the root's abstract socket name is
   * taken by another process): they cannot announce themselves and wait up to the write delay.
   * Logged only (no channel): it happens once, at open, and changes no data.
   */
  presenceRefused(root: string, err: Error): void {
    const logger = this.#logger;
    if (logger === null) return;
    // The system's code (EADDRINUSE) says more than errorFields' 'unknown'.
    const error = { code: (err as NodeJS.ErrnoException).code ?? 'unknown', message: err.message };
    safeLog(() =>
      logger.warn(
        { event: 'aof2:presence.refused', root, error },
        `aof2: cannot listen for read-only followers of ${root} (its presence socket name is taken); they see new records up to tier0.writeDelayMs late`,
      ),
    );
  }

  /** A breaker transition; half-open is not an event (it is the probe starting). */
  breaker(store: string, from: string, to: string, coolDownMs: number): void {
    const logger = this.#logger;
    if (to === 'open') {
      const event: BreakerEvent = { store, from, to, coolDownMs };
      if (this.#opened.hasSubscribers) this.#opened.publish(event);
      if (logger !== null) safeLog(() => logger.warn({ event: AOF_EVENTS.breakerOpened, ...event }, `aof2: Tier 2 circuit breaker opened for ${store}; next probe in ${coolDownMs} ms`));
    } else if (to === 'closed') {
      const event: BreakerEvent = { store, from, to, coolDownMs: 0 };
      if (this.#closed.hasSubscribers) this.#closed.publish(event);
      if (logger !== null) safeLog(() => logger.info({ event: AOF_EVENTS.breakerClosed, ...event }, `aof2: Tier 2 circuit breaker closed for ${store}`));
    }
  }
}

function safeLog(call: () => void): void {
  try {
    call();
  } catch {
    // A broken logger must not break a tier transition.
  }
}
