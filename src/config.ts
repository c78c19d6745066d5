/**
 * Options accepted by `AofManager.open`, their defaults and their validation. Unknown keys are an
 * error (a typo such as `fsynk` must not silently fall back to a default).
 */
import { AofError, ErrorCode } from './errors.js';
import { SEGMENT_HEADER_BYTES, SEGMENT_FOOTER_BYTES } from './format/segment.js';
import { RECORD_ALIGN, RECORD_HEADER_BYTES } from './format/record.js';
import type { RetentionOptions } from './retention.js';
import type { Registry } from 'prom-client';
import type { AofLogger } from './events.js';
import { DEFAULT_ADMISSION_SAMPLE_EVERY } from './metrics/engine-counters.js';
import { DEFAULT_READER_RESERVE_FRACTION } from './arena/window-budget.js';
import { FALLBACK_MAX_OPEN_FILES, maxOpenFilesFor, softFdLimit } from './fd-limit.js';
import { resolveCredentials, type Tier2Credentials, type Tier2CredentialsProvider } from './tier2/credentials.js';
import { CODEC_CHOICES, resolveCodec, type CodecChoice, type ZstdImplementation } from './codec/zstd.js';

/**
 * When the flush worker fdatasyncs on its own: `'always'` (each append resolves once durable),
 * `'interval'` (every `fsyncIntervalMs` while there is unsynced data; the default) or `'never'`
 * (only on `flush()`, `flushSync()`, a seal and `close()`). The table: README, "Guarantees".
 */
export type FsyncPolicy = 'always' | 'interval' | 'never';

/** The arena and raw segment files (`tier0` in {@link AofManagerOptions}). */
export interface Tier0Options {
  /** Size of the SharedArrayBuffer arena in bytes; cut into `floor(arenaBytes / segmentBytes)` slots. */
  arenaBytes?: number;
  /** Bytes of records one segment (and one arena slot) holds. Multiple of 8. */
  segmentBytes?: number;
  /**
   * Who faults the arena's pages in (a fresh page costs its first writer a page fault, 2.5-12 µs
   * on the project's VMs): `'background'` (default) the flush worker, between its passes and while
   * it waits out the write delay, lowest slots first (`open()` does not wait); `'open'` `open()`
   * itself too, beside the flush worker, for up to 100 ms before it resolves (a burst right after
   * `open()` meets fewer fresh pages, but every `open()` takes up to 100 ms longer: see
   * docs/decisions.md); `'off'` the writer, as it reaches each page. Prefaulting commits the
   * arena's memory (RSS) soon after open.
   */
  prefault?: PrefaultMode;
  /**
   * At low append rates, how long (ms) the flush worker lets appends gather before it writes them
   * to their segment file in one go (default 25; 0 writes each wake-up at once): a record waits at
   * most this long, plus one write, before it is in the file. Only under `fsync: 'interval'` and
   * `'never'`: under `'always'`, and for `flush()`, seals, drains and close, nothing waits for it.
   * `durableId` is unaffected (it waits for the fsync, which comes later anyway). Up to 100.
   */
  writeDelayMs?: number;
  /**
   * The write delay while a read-only process follows a stream of this root (default 0: each
   * append is written at once, so the follower sees it within about a hundred microseconds instead
   * of up to `writeDelayMs` later). Read-only managers announce themselves to the writer over a
   * Linux abstract socket (docs/read-path.md, "Read-only opens from another process"); set it to
   * `writeDelayMs` to have followers change nothing. From 0 to 100; 0 under `fsync: 'always'`.
   */
  followedWriteDelayMs?: number;
  /**
   * Bytes a reader brings back from a raw segment file when the record it needs is not in the
   * arena (default 256 KiB, rounded to whole records; at least one record, at most a segment): the
   * unit of a cold read of raw data, as `tier1.frameBytes` is for compressed data. Larger chunks
   * cost fewer loads for scans and more memory and bytes read for point reads.
   */
  readChunkBytes?: number;
  /**
   * Most segment files the flush worker keeps open at once. Every segment being written has a
   * file; past this many, the least recently written ones are closed and reopened when next
   * written, fsynced or sealed, so the fds do not grow with the number of streams. The worker uses
   * at most one fd more (a directory fsync). Default: a quarter of the process's soft fd limit
   * (`ulimit -n`, which Node raises to the hard limit at start), read from /proc/self/limits, at
   * least 16 and at most 65,536 (4096 → 1024, 20000 → 5000); 1024 off Linux or when the limit
   * cannot be read (src/fd-limit.ts). See docs/operations.md, "Sizing by number of streams".
   * From 1 to 1,000,000.
   */
  maxOpenFiles?: number;
  /**
   * Bytes of the arena that write windows may not take: the **reader reserve** (default an eighth
   * of `arenaBytes`, so windows hold at most seven eighths). However many streams write, readers'
   * loads (raw chunks, Tier 1 frames) always find this much of the arena free or evictable, at
   * worst after the flush worker's next pass. A writer that would go past its share gets a
   * smaller window, or waits (WouldBlock `admission`/`rollover`). 0 lets windows take the whole
   * arena; at most `arenaBytes - segmentBytes` (writers keep room for the largest record). Rounded
   * down to whole arena pages (8 KiB; 4 KiB below 8 KiB segments). See docs/architecture.md, "The arena (Tier 0)".
   */
  readerReserveBytes?: number;
}

/**
 * How the arena's pages are faulted in before the writer meets them (`tier0.prefault`):
 * `'background'` (the flush worker, between its passes; the default), `'open'` (`open()` too, for
 * up to 100 ms) or `'off'`.
 */
export type PrefaultMode = 'background' | 'open' | 'off';

/** Compression of sealed segments into local Tier 1 files (`tier1` in {@link AofManagerOptions}). */
export interface Tier1Options {
  /** Compress sealed segments into Tier 1 files (default true). `false` keeps raw segment files. */
  enabled?: boolean;
  /**
   * Budget for Tier 1 files on local disk (with Tier 2 in place): uploaded files beyond it are
   * evicted; files not uploaded yet that fill it make writers wait (WouldBlock kind `tier2`).
   */
  maxBytes?: number;
  /**
   * Local disk budget for sealed raw segments waiting for compression (bytes of record data).
   * While the compressor keeps up (or this budget has room) writers never wait for it; once one
   * more segment would take the backlog past it, the next rollover waits (WouldBlock kind
   * `compression`). At least `tier0.segmentBytes`. Default: 4 x `tier0.arenaBytes`, at most half
   * of `tier1.maxBytes`, at least one segment (docs/operations.md, "Sizing the raw backlog").
   */
  rawBacklogBytes?: number;
  /**
   * zstd level, 1..19 (default 3): the ceiling. The level of each compression adapts to the raw
   * backlog, down to 1 while compression is behind and back up once it keeps up
   * (src/tier1/level-controller.ts).
   */
  compressionLevel?: number;
  /**
   * Raw bytes per independent zstd frame, at most (default 256 KiB; a record larger than this is a
   * frame of its own): the unit of a point read. A power of two fills the arena runs frames are
   * read back into.
   */
  frameBytes?: number;
  /**
   * Which zstd does the work: `'zstd-addon'`, the native `@mongodb-js/zstd` binding (every
   * supported Node), or `'zstd-zlib'`, Node's built-in `zlib.zstd*` (Node >= 22.15). Both write
   * standard zstd frames, so files written with one read with the other. `'auto'` (default): the
   * addon where it loads (it costs less CPU), zlib's where it does not (docs/decisions.md, "The
   * addon stays the default zstd; zlib's is the fallback"). Resolved once at open;
   * `stats().tier1.codec` says which.
   * @throws AOF_ERR_UNSUPPORTED_PLATFORM (from `AofManager.open`) for `'zstd-zlib'` on Node < 22.15
   */
  codec?: CodecChoice;
  /**
   * Hydration threads (frame reads from Tier 1 files and Tier 2 objects): the pool runs between
   * `hydrateMinThreads` (default 0) and `hydrateMaxThreads` (default 2), adding threads while
   * fetches queue up and retiring them after a second idle.
   */
  hydrateMinThreads?: number;
  hydrateMaxThreads?: number;
}

/**
 * Where sealed, compressed segments and the manifest are replicated (`tier2` in
 * {@link AofManagerOptions}): a local directory (`fs`), an S3-compatible bucket (`s3`), or nowhere
 * (`none`).
 */
export type Tier2Options =
  | { kind: 'none' }
  | { kind: 'fs'; root: string }
  | {
      kind: 's3';
      bucket: string;
      prefix?: string;
      endpoint?: string;
      region?: string;
      forcePathStyle?: boolean;
      /**
       * What the AWS SDK accepts: an `AwsCredentialIdentity` (also one the SDK produced, with
       * `$source`, `expiration`, `accountId`, `credentialScope`) or a provider function such as
       * `fromNodeProviderChain()`. Default: the SDK's default chain. See src/tier2/credentials.ts.
       */
      credentials?: Tier2Credentials | Tier2CredentialsProvider;
      /** Server-side encryption requested for every object aof2 writes; default: the bucket's own. */
      serverSideEncryption?: 'AES256' | 'aws:kms';
      /** KMS key id or ARN, only with `serverSideEncryption: 'aws:kms'`; default: the account's aws/s3 key. */
      sseKmsKeyId?: string;
      /**
       * A request whose socket stays silent this long fails (default 10,000 ms): how fast a hung
       * store is noticed, and so how fast the circuit breaker opens.
       */
      requestTimeoutMs?: number;
    };

/** Options of `AofManager.open(options)`; only `root` is required (defaults: README, "Configuration"). */
export interface AofManagerOptions {
  /** Directory holding everything local. Created if missing. */
  root: string;
  tier0?: Tier0Options;
  tier1?: Tier1Options;
  /**
   * Where sealed, compressed segments and the manifest are copied beyond this machine: a local
   * directory (`{ kind: 'fs', root }`, outside `root`), S3, or `{ kind: 'none' }`. Default: none,
   * so nothing is written outside `root` and the local disk holds one copy of each sealed segment
   * (its compressed Tier 1 file). With a Tier 2, `close()` also seals each stream's tail and ships
   * it; without one it leaves the tail open for the next session to continue (docs/architecture.md,
   * "Closing and reopening").
   */
  tier2?: Tier2Options;
  /** When appends become durable: every group commit, every `fsyncIntervalMs`, or only on flush/seal. */
  fsync?: FsyncPolicy;
  /** Period of the background fsync under `fsync: 'interval'`. */
  fsyncIntervalMs?: number;
  /** Default retention of every stream (`openStream(name, { retention })` overrides it). None by default. */
  retention?: RetentionOptions & {
    /** How often retention runs (default 5,000 ms). */
    checkIntervalMs?: number;
  };
  /**
   * Also drain on process 'exit' (default false): `process.exit()` and an uncaught exception then
   * lose nothing that was appended. The 'exit' listener blocks until the flush worker has written
   * (and, unless `fsync` is 'never', fdatasynced) every appended record, for at most 10 s; it is
   * removed when the manager closes. A natural end of the event loop is drained without it; see
   * README "What survives the end of a process".
   */
  flushOnExit?: boolean;
  /** Where the metrics go (docs/metrics.md). */
  metrics?: MetricsOptions;
  /**
   * A pino-compatible logger (`info/warn/error(object, message)`): task retries and failures and
   * circuit-breaker transitions are logged through it. None by default (events still go to
   * `node:diagnostics_channel`, see AOF_EVENTS).
   */
  logger?: AofLogger;
  /**
   * Open the root **read-only**, beside the manager that writes it (in another process): no lock,
   * no recovery, no manifest append, no directory created, no flush, compression, upload or
   * retention; appends throw AOF_ERR_READ_ONLY. Several read-only managers may have a root open at
   * once. It reads what the files hold (sealed segments, Tier 1 files, the written part of the
   * active segment, every frame CRC-checked) and follows the writer: `fs.watch` wake-ups on the
   * manifest and stream directories, plus a refresh every `refreshMs` (docs/read-path.md,
   * "Read-only opens from another process"). `true` takes the defaults. Default false: the
   * manager writes.
   */
  readOnly?: boolean | ReadOnlyOptions;
  /**
   * Open a **follower**: a read-only replica on another machine whose only source is Tier 2, the
   * writer's bucket (`tier2` is required, with the writer's bucket and prefix). `root` is the
   * follower's own directory (created if needed, locked like a writer's root: one follower per
   * directory); it holds nothing of the writer's. The follower polls the replicated manifest
   * objects every `pollMs`, shows every segment the writer has uploaded and recorded, and reads
   * them with ranged GETs; every read API works, `follow` included; appends throw
   * AOF_ERR_READ_ONLY and it never writes to the bucket. It lags the writer by at least the
   * writer's upload cadence (docs/read-path.md, "Followers from the bucket"). `true` takes the
   * defaults. Cannot be combined with `readOnly`.
   */
  follower?: boolean | FollowerOptions;
}

/** Options of a follower (`follower` in {@link AofManagerOptions}). */
export interface FollowerOptions {
  /**
   * How often the follower lists the bucket's `manifest/` objects to see what the writer uploaded
   * (default 1,000 ms; from 10 to 300,000). Each poll is one LIST request, plus one GET per
   * manifest object that changed; a poll that finds nothing new costs nothing else.
   */
  pollMs?: number;
}

/** Options of a read-only manager (`readOnly` in {@link AofManagerOptions}). */
export interface ReadOnlyOptions {
  /**
   * The safety net of the refresh: every this many ms the manager looks at the manifest and at the
   * opened streams' files again, whether or not `fs.watch` reported a change (default 100; from 1
   * to 60,000). `fs.watch` wake-ups come first, usually within a millisecond of the writer's
   * write; the interval bounds how late a change is seen where the watch misses one (a network
   * file system, an exhausted inotify budget).
   */
  refreshMs?: number;
  /**
   * Hand the new records a refresh has just read and CRC-checked straight to the readers at the
   * tail (`log.follow()`, `reader.next({ wait: true })`), as a range of this manager's arena,
   * instead of their loading the same bytes again in a hydrate thread (default true). `false` is
   * the kill switch: every read goes through a load, as before (docs/read-path.md).
   */
  publishTail?: boolean;
  /**
   * Read what the writer added with synchronous reads on the main thread (true) or through the
   * libuv pool (false). Default: synchronous on Linux when the root is on a local file system
   * (the pool's round trip was most of a follower's wait there), asynchronous on a network or FUSE
   * file system, where a read may wait on a server and would stall the event loop with it. Only a
   * refresh's header read, its first piece of new bytes (up to 256 KiB) and its `fstat` are
   * affected (docs/read-path.md).
   */
  syncTailReads?: boolean;
}

/** Metrics options (`metrics` in {@link AofManagerOptions}; docs/metrics.md). */
export interface MetricsOptions {
  /**
   * prom-client registry the manager registers its metrics on (default: a private one, always
   * available as `manager.registry`). One open manager per registry: the names would collide. The
   * manager removes its metrics from the registry when it closes.
   */
  registry?: Registry;
  /**
   * Time one append in this many for `aof_tier0_admission_seconds` (default 256). 0 turns the
   * sampling off (the kill switch; the histogram then stays empty).
   */
  admissionSampleEvery?: number;
}

/** Options of `manager.openStream(name, options)`. */
export interface StreamOptions {
  /** This stream's retention, replacing the manager's default. */
  retention?: RetentionOptions;
}

/** The options after validation, every default filled in (`manager.config`; resolveConfig). */
export interface ResolvedConfig {
  root: string;
  arenaBytes: number;
  segmentBytes: number;
  slotCount: number;
  prefault: PrefaultMode;
  /** 0 under fsync 'always' whatever was asked (durable appends never wait for it). */
  writeDelayMs: number;
  /** The write delay while a read-only process follows (src/follower-presence.ts). */
  followedWriteDelayMs: number;
  /** Bytes of a raw chunk load (tier0.readChunkBytes), at most segmentBytes. */
  readChunkBytes: number;
  /** Open-file budget of the flush worker (`tier0.maxOpenFiles`). */
  maxOpenFiles: number;
  /** Bytes write windows may not take (`tier0.readerReserveBytes`). */
  readerReserveBytes: number;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  /** `codec` is resolved: the implementation every compress and hydrate thread uses. */
  tier1: Omit<Required<Tier1Options>, 'codec'> & { codec: ZstdImplementation };
  tier2: Tier2Options;
  retention: RetentionOptions;
  retentionCheckMs: number;
  metrics: { registry: Registry | null; admissionSampleEvery: number };
  logger: AofLogger | null;
  flushOnExit: boolean;
  /** null: the manager writes; else it is read-only, refreshing its view every `refreshMs` at least. */
  readOnly: { refreshMs: number; publishTail: boolean; syncTailReads: boolean | null } | null;
  /** null: not a follower; else a follower of the Tier 2 bucket, polling its manifest every `pollMs`. */
  follower: { pollMs: number } | null;
}

export const DEFAULTS = {
  arenaBytes: 128 * 1024 * 1024,
  segmentBytes: 4 * 1024 * 1024,
  prefault: 'background' as PrefaultMode,
  // 25, not 10: each pass costs the flush worker ~150 µs of CPU on these VMs whatever it writes
  // (a timed wake-up, a pwrite); at 5,000 appends/s 10 ms cost ~3.5 µs per append, 25 ms ~1.8
  // (docs/decisions.md, "The write delay defaults to 25 ms").
  writeDelayMs: 25,
  followedWriteDelayMs: 0,
  readChunkBytes: 256 * 1024,
  /** The reader reserve, as a fraction of the arena (src/arena/window-budget.ts says why an eighth). */
  readerReserveFraction: DEFAULT_READER_RESERVE_FRACTION,
  fsync: 'interval' as FsyncPolicy,
  fsyncIntervalMs: 1000,
  frameBytes: 256 * 1024,
  tier1MaxBytes: 10 * 1024 * 1024 * 1024,
  /**
   * Default raw backlog budget, in arenas: 4 arenas (512 MiB by default) absorb a burst of several
   * seconds at full append speed without the writer feeling the compressor, cost 5 % of the
   * default `tier1.maxBytes` of disk, and are read back from the page cache, not the disk, when
   * compression gets to them. See rawBacklogDefault.
   */
  rawBacklogArenas: 4,
  compressionLevel: 3,
  retentionCheckMs: 5000,
  hydrateMaxThreads: 2,
  /**
   * Deadline of `manager.flushSync()` and of the exit drains: writing and fsyncing a full default
   * arena (128 MiB) takes about a second on an SSD; ten leave room for a slow disk, and stay
   * below the usual 10-30 s a supervisor waits between SIGTERM and SIGKILL.
   */
  flushSyncTimeoutMs: 10_000,
  /**
   * Safety-net refresh of a read-only manager: `fs.watch` wakes it at once, so this only bounds
   * a missed wake-up; a look every 100 ms costs one readdir of the manifest and one fstat per
   * followed stream, nothing per record.
   */
  readOnlyRefreshMs: 100,
  /**
   * A follower's poll of the bucket: one LIST request a second is cheap (S3 bills LISTs per
   * thousand) and small beside the writer's upload cadence, which bounds the lag anyway (a
   * segment reaches the bucket only once sealed, compressed and uploaded).
   */
  followerPollMs: 1000,
} as const;

/** Follower poll bounds: below 10 ms a LIST storm, above five minutes a follower would look dead. */
export const MIN_FOLLOWER_POLL_MS = 10;
export const MAX_FOLLOWER_POLL_MS = 300_000;

/** Longest read-only refresh interval: a minute, past which a follower would look dead. */
export const MAX_READ_ONLY_REFRESH_MS = 60_000;

/** Smallest segment: room for a few records plus header and footer, and a sane syscall size. */
export const MIN_SEGMENT_BYTES = 4096;
/** Offsets live in Int32 control words, so a slot must stay below 2 GiB; 1 GiB keeps headroom. */
export const MAX_SEGMENT_BYTES = 1024 * 1024 * 1024;
/**
 * Compress and upload threads end after this long without a task (and start again on demand).
 * Long enough that a low, steady append rate (a seal every few seconds) does not start a thread
 * and load the zstd binding for every segment (50-100 ms of CPU each time, measured); an idle
 * thread costs no CPU and keeps nothing alive: piscina 5 unrefs a thread and its port while it has
 * no task (docs/decisions.md, "Pool threads end when idle"). The hydrate pool keeps 1 s: its size
 * follows the read backlog (`tier1.hydrateMinThreads`).
 */
export const POOL_IDLE_MS = 30_000;
/** A longer write delay saves nothing more (a wake-up every 100 ms is free) and only holds records in memory. */
export const MAX_WRITE_DELAY_MS = 100;
/** Far above any per-process limit seen in practice; a typo (an extra digit or three) is caught. */
export const MAX_OPEN_FILES = 1_000_000;

const TOP_KEYS = ['root', 'tier0', 'tier1', 'tier2', 'fsync', 'fsyncIntervalMs', 'retention', 'metrics', 'logger', 'flushOnExit', 'readOnly', 'follower'];

function checkKeys(obj: object, allowed: string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new AofError(ErrorCode.UNKNOWN_OPTION, `unknown option ${where}${key}; expected one of: ${allowed.join(', ')}`, {
        details: { option: `${where}${key}` },
      });
    }
  }
}

function positiveInt(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw AofError.invalidArgument(`${name} must be a positive integer, got ${String(value)}`, { option: name });
  }
  return value;
}

/** `tier0.writeDelayMs` or `tier0.followedWriteDelayMs`: ms in [0, MAX_WRITE_DELAY_MS], fractions allowed. */
function writeDelay(tier0: Record<string, unknown>, key: 'writeDelayMs' | 'followedWriteDelayMs'): number {
  const value = tier0[key] === undefined ? DEFAULTS[key] : tier0[key];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_WRITE_DELAY_MS) {
    throw AofError.invalidArgument(`tier0.${key} must be a number of ms in [0, ${MAX_WRITE_DELAY_MS}], got ${String(value)}`, { option: `tier0.${key}` });
  }
  return value;
}

function plainObject(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw AofError.invalidArgument(`${name} must be an object, got ${value === null ? 'null' : typeof value}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Validates user options and fills defaults.
 * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION; AOF_ERR_UNSUPPORTED_PLATFORM for
 *   `tier1.codec: 'zstd-zlib'` on a runtime without zlib's zstd
 */
export function resolveConfig(input: unknown): ResolvedConfig {
  const opts = plainObject(input, 'options');
  checkKeys(opts, TOP_KEYS, '');
  if (typeof opts['root'] !== 'string' || opts['root'].length === 0) {
    throw AofError.invalidArgument('options.root must be a non-empty string (a directory path)');
  }
  const tier0 = plainObject(opts['tier0'] ?? {}, 'options.tier0');
  checkKeys(tier0, ['arenaBytes', 'segmentBytes', 'prefault', 'writeDelayMs', 'followedWriteDelayMs', 'readChunkBytes', 'maxOpenFiles', 'readerReserveBytes'], 'tier0.');
  const segmentBytes = positiveInt(tier0['segmentBytes'], 'tier0.segmentBytes', DEFAULTS.segmentBytes);
  if (segmentBytes % RECORD_ALIGN !== 0 || segmentBytes < MIN_SEGMENT_BYTES || segmentBytes > MAX_SEGMENT_BYTES) {
    throw AofError.invalidArgument(
      `tier0.segmentBytes must be a multiple of ${RECORD_ALIGN} between ${MIN_SEGMENT_BYTES} and ${MAX_SEGMENT_BYTES}, got ${segmentBytes}`,
    );
  }
  const arenaBytes = positiveInt(tier0['arenaBytes'], 'tier0.arenaBytes', Math.max(DEFAULTS.arenaBytes, 2 * segmentBytes));
  const slotCount = Math.floor(arenaBytes / segmentBytes);
  if (slotCount < 2) {
    throw AofError.invalidArgument(
      `tier0.arenaBytes must hold at least 2 segments of ${segmentBytes} bytes, got ${arenaBytes}`,
    );
  }
  const fsync = opts['fsync'] ?? DEFAULTS.fsync;
  if (fsync !== 'always' && fsync !== 'interval' && fsync !== 'never') {
    throw AofError.invalidArgument(`fsync must be 'always', 'interval' or 'never', got ${String(fsync)}`);
  }
  const fsyncIntervalMs = positiveInt(opts['fsyncIntervalMs'], 'fsyncIntervalMs', DEFAULTS.fsyncIntervalMs);
  const prefault = tier0['prefault'] === undefined ? DEFAULTS.prefault : tier0['prefault'];
  if (prefault !== 'background' && prefault !== 'open' && prefault !== 'off') {
    throw AofError.invalidArgument(`tier0.prefault must be 'background', 'open' or 'off', got ${String(prefault)}`, { option: 'tier0.prefault' });
  }
  const writeDelayMs = writeDelay(tier0, 'writeDelayMs');
  const followedWriteDelayMs = writeDelay(tier0, 'followedWriteDelayMs');
  const readChunkBytes = Math.min(segmentBytes, positiveInt(tier0['readChunkBytes'], 'tier0.readChunkBytes', DEFAULTS.readChunkBytes));
  // The default follows the fd limit (src/fd-limit.ts): read only when no budget was given.
  const maxOpenFiles =
    tier0['maxOpenFiles'] === undefined ? maxOpenFilesFor(softFdLimit()) : positiveInt(tier0['maxOpenFiles'], 'tier0.maxOpenFiles', FALLBACK_MAX_OPEN_FILES);
  if (maxOpenFiles > MAX_OPEN_FILES) {
    throw AofError.invalidArgument(`tier0.maxOpenFiles must be an integer in [1, ${MAX_OPEN_FILES}], got ${maxOpenFiles}`, { option: 'tier0.maxOpenFiles' });
  }
  const resolvedArenaBytes = slotCount * segmentBytes;
  const reserve = tier0['readerReserveBytes'];
  const readerReserveBytes = reserve === undefined ? Math.floor(resolvedArenaBytes * DEFAULTS.readerReserveFraction) : reserve;
  // Writers keep room for one segment-sized run: a record can be as large as a segment.
  if (typeof readerReserveBytes !== 'number' || !Number.isSafeInteger(readerReserveBytes) || readerReserveBytes < 0 || readerReserveBytes > resolvedArenaBytes - segmentBytes) {
    throw AofError.invalidArgument(
      `tier0.readerReserveBytes must be an integer in [0, ${resolvedArenaBytes - segmentBytes}] (the arena less one segment), got ${String(readerReserveBytes)}`,
      { option: 'tier0.readerReserveBytes' },
    );
  }
  const tier1 = plainObject(opts['tier1'] ?? {}, 'options.tier1');
  checkKeys(tier1, ['enabled', 'maxBytes', 'rawBacklogBytes', 'compressionLevel', 'frameBytes', 'codec', 'hydrateMinThreads', 'hydrateMaxThreads'], 'tier1.');
  const hydrateMaxThreads = positiveInt(tier1['hydrateMaxThreads'], 'tier1.hydrateMaxThreads', DEFAULTS.hydrateMaxThreads);
  const hydrateMinThreads = tier1['hydrateMinThreads'] === 0 ? 0 : positiveInt(tier1['hydrateMinThreads'], 'tier1.hydrateMinThreads', 0);
  if (hydrateMinThreads > hydrateMaxThreads) {
    throw AofError.invalidArgument(`tier1.hydrateMinThreads (${hydrateMinThreads}) must not exceed tier1.hydrateMaxThreads (${hydrateMaxThreads})`);
  }
  if (tier1['enabled'] !== undefined && typeof tier1['enabled'] !== 'boolean') {
    throw AofError.invalidArgument(`tier1.enabled must be a boolean, got ${String(tier1['enabled'])}`);
  }
  const compressionLevel = positiveInt(tier1['compressionLevel'], 'tier1.compressionLevel', DEFAULTS.compressionLevel);
  if (compressionLevel > 19) throw AofError.invalidArgument(`tier1.compressionLevel must be between 1 and 19, got ${compressionLevel}`);
  const frameBytes = positiveInt(tier1['frameBytes'], 'tier1.frameBytes', DEFAULTS.frameBytes);
  if (frameBytes < MIN_SEGMENT_BYTES) throw AofError.invalidArgument(`tier1.frameBytes must be at least ${MIN_SEGMENT_BYTES}, got ${frameBytes}`);
  const codecChoice = tier1['codec'] === undefined ? 'auto' : tier1['codec'];
  if (!(CODEC_CHOICES as readonly unknown[]).includes(codecChoice)) {
    throw AofError.invalidArgument(`tier1.codec must be ${CODEC_CHOICES.map((c) => `'${c}'`).join(', ')}, got ${String(codecChoice)}`, { option: 'tier1.codec' });
  }
  // Resolved here, once, for both pools: every compress and hydrate thread gets this one. 'auto'
  // tries the addon on this thread only when Tier 1 is on: with it off nothing compresses, and the
  // process loads no native addon (native-free-bench relies on it).
  const codec = resolveCodec(codecChoice as CodecChoice, { probe: tier1['enabled'] !== false });
  const maxBytes = positiveInt(tier1['maxBytes'], 'tier1.maxBytes', DEFAULTS.tier1MaxBytes);
  const rawBacklogBytes = positiveInt(tier1['rawBacklogBytes'], 'tier1.rawBacklogBytes', rawBacklogDefault(slotCount * segmentBytes, segmentBytes, maxBytes));
  // A budget below one segment would never admit a segment: every rollover would wait forever.
  if (rawBacklogBytes < segmentBytes) {
    throw AofError.invalidArgument(`tier1.rawBacklogBytes must be at least one segment (tier0.segmentBytes, ${segmentBytes}), got ${rawBacklogBytes}`, {
      option: 'tier1.rawBacklogBytes',
    });
  }
  // Tier 2 stores Tier 1 files: without compression there is nothing to upload.
  const requested = resolveTier2(opts['tier2']);
  const tier2: Tier2Options = tier1['enabled'] === false ? { kind: 'none' } : requested;
  const retention = plainObject(opts['retention'] ?? {}, 'options.retention');
  const flushOnExit = opts['flushOnExit'] ?? false;
  if (typeof flushOnExit !== 'boolean') {
    throw AofError.invalidArgument(`flushOnExit must be a boolean, got ${typeof flushOnExit}`, { option: 'flushOnExit' });
  }
  return {
    root: opts['root'],
    arenaBytes: resolvedArenaBytes,
    segmentBytes,
    slotCount,
    prefault,
    writeDelayMs: fsync === 'always' ? 0 : writeDelayMs,
    followedWriteDelayMs: fsync === 'always' ? 0 : followedWriteDelayMs,
    readChunkBytes,
    maxOpenFiles,
    readerReserveBytes,
    fsync,
    fsyncIntervalMs,
    tier1: {
      enabled: tier1['enabled'] !== false,
      maxBytes,
      rawBacklogBytes,
      compressionLevel,
      frameBytes,
      codec,
      hydrateMinThreads,
      hydrateMaxThreads,
    },
    tier2,
    retention: resolveRetention(retention, 'retention'),
    retentionCheckMs: positiveInt(retention['checkIntervalMs'], 'retention.checkIntervalMs', DEFAULTS.retentionCheckMs),
    metrics: resolveMetrics(opts['metrics']),
    logger: resolveLogger(opts['logger']),
    flushOnExit,
    readOnly: resolveReadOnly(opts['readOnly']),
    follower: resolveFollower(opts['follower'], opts['readOnly'], tier2),
  };
}

/**
 * `follower`: false or absent, true (the defaults) or `{ pollMs }`; needs a real `tier2` and
 * excludes `readOnly` (a follower is read-only already, from the bucket instead of a root).
 * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION
 */
function resolveFollower(value: unknown, readOnly: unknown, tier2: Tier2Options): ResolvedConfig['follower'] {
  if (value === undefined || value === false) return null;
  let pollMs: number = DEFAULTS.followerPollMs;
  if (value !== true) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw AofError.invalidArgument(`follower must be a boolean or an object { pollMs }, got ${value === null ? 'null' : typeof value}`, { option: 'follower' });
    }
    const fo = value as Record<string, unknown>;
    checkKeys(fo, ['pollMs'], 'follower.');
    pollMs = positiveInt(fo['pollMs'], 'follower.pollMs', DEFAULTS.followerPollMs);
    if (pollMs < MIN_FOLLOWER_POLL_MS || pollMs > MAX_FOLLOWER_POLL_MS) {
      throw AofError.invalidArgument(`follower.pollMs must be an integer in [${MIN_FOLLOWER_POLL_MS}, ${MAX_FOLLOWER_POLL_MS}], got ${pollMs}`, { option: 'follower.pollMs' });
    }
  }
  if (tier2.kind === 'none') {
    throw AofError.invalidArgument('follower needs the writer\'s tier2 option (its bucket is the follower\'s only source)', { option: 'follower' });
  }
  if (readOnly !== undefined && readOnly !== false) {
    throw AofError.invalidArgument('follower and readOnly exclude each other: a follower reads the bucket, a read-only manager a root', { option: 'follower' });
  }
  return { pollMs };
}

/**
 * `readOnly`: false or absent (a writer), true (the defaults) or `{ refreshMs, publishTail, syncTailReads }`
 * (`syncTailReads` null: chosen by the root's file system when the manager opens).
 * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION
 */
function resolveReadOnly(value: unknown): ResolvedConfig['readOnly'] {
  if (value === undefined || value === false) return null;
  if (value === true) return { refreshMs: DEFAULTS.readOnlyRefreshMs, publishTail: true, syncTailReads: null };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw AofError.invalidArgument(`readOnly must be a boolean or an object { refreshMs, publishTail, syncTailReads }, got ${value === null ? 'null' : typeof value}`, { option: 'readOnly' });
  }
  const ro = value as Record<string, unknown>;
  checkKeys(ro, ['refreshMs', 'publishTail', 'syncTailReads'], 'readOnly.');
  const refreshMs = positiveInt(ro['refreshMs'], 'readOnly.refreshMs', DEFAULTS.readOnlyRefreshMs);
  if (refreshMs > MAX_READ_ONLY_REFRESH_MS) {
    throw AofError.invalidArgument(`readOnly.refreshMs must be an integer in [1, ${MAX_READ_ONLY_REFRESH_MS}], got ${refreshMs}`, { option: 'readOnly.refreshMs' });
  }
  const publishTail = ro['publishTail'] ?? true;
  if (typeof publishTail !== 'boolean') {
    throw AofError.invalidArgument(`readOnly.publishTail must be a boolean, got ${typeof publishTail}`, { option: 'readOnly.publishTail' });
  }
  const syncTailReads = ro['syncTailReads'] ?? null;
  if (syncTailReads !== null && typeof syncTailReads !== 'boolean') {
    throw AofError.invalidArgument(`readOnly.syncTailReads must be a boolean, got ${typeof syncTailReads}`, { option: 'readOnly.syncTailReads' });
  }
  return { refreshMs, publishTail, syncTailReads };
}

/**
 * The default raw backlog budget: DEFAULTS.rawBacklogArenas arenas, capped at half of
 * `tier1.maxBytes` (raw segments count against that budget too, in Tier 2's back-pressure, and
 * compressed files need the other half), and never below one segment (the smallest budget that
 * admits anything).
 */
export function rawBacklogDefault(arenaBytes: number, segmentBytes: number, maxBytes: number): number {
  return Math.max(segmentBytes, Math.min(DEFAULTS.rawBacklogArenas * arenaBytes, Math.floor(maxBytes / 2)));
}

/**
 * Validates `manager.flushSync(options)`; returns the deadline in ms.
 * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION
 */
export function resolveFlushSyncTimeout(input: unknown): number {
  const opts = plainObject(input ?? {}, 'flushSync options');
  checkKeys(opts, ['timeoutMs'], '');
  return positiveInt(opts['timeoutMs'], 'timeoutMs', DEFAULTS.flushSyncTimeoutMs);
}

/** Duck-typed so a registry from another copy of prom-client works too. */
function resolveMetrics(value: unknown): ResolvedConfig['metrics'] {
  const m = plainObject(value ?? {}, 'options.metrics');
  checkKeys(m, ['registry', 'admissionSampleEvery'], 'metrics.');
  const registry = m['registry'] ?? null;
  if (registry !== null) {
    const r = registry as Partial<Record<'registerMetric' | 'getSingleMetric' | 'metrics' | 'removeSingleMetric', unknown>>;
    if (typeof registry !== 'object' || [r.registerMetric, r.getSingleMetric, r.metrics, r.removeSingleMetric].some((f) => typeof f !== 'function')) {
      throw AofError.invalidArgument('metrics.registry must be a prom-client Registry', { option: 'metrics.registry' });
    }
  }
  const every = m['admissionSampleEvery'];
  let admissionSampleEvery: number = DEFAULT_ADMISSION_SAMPLE_EVERY;
  if (every !== undefined) {
    if (typeof every !== 'number' || !Number.isSafeInteger(every) || every < 0) {
      throw AofError.invalidArgument(`metrics.admissionSampleEvery must be an integer >= 0 (0: off), got ${String(every)}`, { option: 'metrics.admissionSampleEvery' });
    }
    admissionSampleEvery = every;
  }
  return { registry: registry as Registry | null, admissionSampleEvery };
}

function resolveLogger(value: unknown): AofLogger | null {
  if (value === undefined || value === null) return null;
  const l = value as Partial<Record<'info' | 'warn' | 'error', unknown>>;
  if (typeof value !== 'object' || typeof l.info !== 'function' || typeof l.warn !== 'function' || typeof l.error !== 'function') {
    throw AofError.invalidArgument('logger must have info, warn and error methods (pino-compatible)', { option: 'logger' });
  }
  return value as AofLogger;
}

/**
 * Validates a retention policy (`where` names it in messages).
 * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION
 */
export function resolveRetention(value: Record<string, unknown>, where: string, extraKeys: string[] = ['checkIntervalMs']): RetentionOptions {
  checkKeys(value, ['maxAgeMs', 'maxBytes', ...extraKeys], `${where}.`);
  const out: RetentionOptions = {};
  if (value['maxAgeMs'] !== undefined) out.maxAgeMs = positiveInt(value['maxAgeMs'], `${where}.maxAgeMs`, 0);
  if (value['maxBytes'] !== undefined) out.maxBytes = positiveInt(value['maxBytes'], `${where}.maxBytes`, 0);
  return out;
}

/**
 * Validates `openStream` options.
 * @throws AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNKNOWN_OPTION
 */
export function resolveStreamOptions(input: unknown, fallback: RetentionOptions): { retention: RetentionOptions } {
  const opts = plainObject(input ?? {}, 'stream options');
  checkKeys(opts, ['retention'], '');
  if (opts['retention'] === undefined) return { retention: fallback };
  return { retention: resolveRetention(plainObject(opts['retention'], 'options.retention'), 'retention', []) };
}

/**
 * Without a `tier2` option there is no Tier 2: aof2 writes nothing outside `root`, and the
 * compressed Tier 1 files are the only local copy of sealed segments (docs/decisions.md, "No
 * Tier 2 unless asked for"). A local directory or a bucket is named explicitly.
 */
function resolveTier2(value: unknown): Tier2Options {
  if (value === undefined) return { kind: 'none' };
  const t2 = plainObject(value, 'options.tier2');
  switch (t2['kind']) {
    case 'none':
      checkKeys(t2, ['kind'], 'tier2.');
      return { kind: 'none' };
    case 'fs':
      checkKeys(t2, ['kind', 'root'], 'tier2.');
      if (typeof t2['root'] !== 'string' || t2['root'].length === 0) {
        throw AofError.invalidArgument('tier2.root must be a non-empty string');
      }
      return { kind: 'fs', root: t2['root'] };
    case 's3':
      return resolveS3(t2);
    default:
      throw AofError.invalidArgument(`tier2.kind must be 'none', 'fs' or 's3', got ${String(t2['kind'])}`);
  }
}

const S3_KEYS = ['kind', 'bucket', 'prefix', 'endpoint', 'region', 'forcePathStyle', 'credentials', 'serverSideEncryption', 'sseKmsKeyId', 'requestTimeoutMs'];

function optionalString(obj: Record<string, unknown>, key: string, where: string, allowEmpty: boolean): string | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0)) {
    throw AofError.invalidArgument(
      `${where}${key} must be a ${allowEmpty ? '' : 'non-empty '}string, got ${value === '' ? 'an empty string' : typeof value}`,
      { option: `${where}${key}` },
    );
  }
  return value;
}

/**
 * Checks every s3 key's type and copies only the known ones. The result is structured-clonable
 * (it goes to worker threads), except a credentials provider function, which never leaves the main
 * thread (src/tier2/credentials.ts).
 */
function resolveS3(t2: Record<string, unknown>): Tier2Options {
  checkKeys(t2, S3_KEYS, 'tier2.');
  const bucket = optionalString(t2, 'bucket', 'tier2.', false);
  if (bucket === undefined) throw AofError.invalidArgument('tier2.bucket must be a non-empty string, got undefined', { option: 'tier2.bucket' });
  const out: Extract<Tier2Options, { kind: 's3' }> = { kind: 's3', bucket };
  if (t2['requestTimeoutMs'] !== undefined) out.requestTimeoutMs = positiveInt(t2['requestTimeoutMs'], 'tier2.requestTimeoutMs', 0);
  const prefix = optionalString(t2, 'prefix', 'tier2.', true);
  if (prefix !== undefined) out.prefix = prefix;
  const endpoint = optionalString(t2, 'endpoint', 'tier2.', false);
  if (endpoint !== undefined) {
    if (!URL.canParse(endpoint)) {
      throw AofError.invalidArgument(`tier2.endpoint must be a URL such as http://127.0.0.1:9000, got ${JSON.stringify(endpoint)}`, { option: 'tier2.endpoint' });
    }
    out.endpoint = endpoint;
  }
  const region = optionalString(t2, 'region', 'tier2.', false);
  if (region !== undefined) out.region = region;
  const forcePathStyle = t2['forcePathStyle'];
  if (forcePathStyle !== undefined) {
    if (typeof forcePathStyle !== 'boolean') {
      throw AofError.invalidArgument(`tier2.forcePathStyle must be a boolean, got ${typeof forcePathStyle}`, { option: 'tier2.forcePathStyle' });
    }
    out.forcePathStyle = forcePathStyle;
  }
  if (t2['credentials'] !== undefined) out.credentials = resolveCredentials(t2['credentials']);
  const sse = t2['serverSideEncryption'];
  if (sse !== undefined) {
    if (sse !== 'AES256' && sse !== 'aws:kms') {
      throw AofError.invalidArgument(`tier2.serverSideEncryption must be 'AES256' or 'aws:kms', got ${JSON.stringify(sse)}`, {
        option: 'tier2.serverSideEncryption',
      });
    }
    out.serverSideEncryption = sse;
  }
  const kmsKey = optionalString(t2, 'sseKmsKeyId', 'tier2.', false);
  if (kmsKey !== undefined) {
    if (sse !== 'aws:kms') {
      throw AofError.invalidArgument(`tier2.sseKmsKeyId needs tier2.serverSideEncryption 'aws:kms', got ${JSON.stringify(sse)}`, {
        option: 'tier2.sseKmsKeyId',
      });
    }
    out.sseKmsKeyId = kmsKey;
  }
  return out;
}

/** Largest payload that fits one segment: the slot minus one record header. */
export function maxPayloadBytes(segmentBytes: number): number {
  return segmentBytes - RECORD_HEADER_BYTES;
}

/** Bytes a full segment file takes on disk: header + records + footer. */
export function segmentFileBytes(segmentBytes: number): number {
  return SEGMENT_HEADER_BYTES + segmentBytes + SEGMENT_FOOTER_BYTES;
}
