/**
 * Every failure aof2 reports is an {@link AofError} with a stable `code` (the undici `UND_ERR_*`
 * habit): callers branch on `code`, never on message text. The full table, with what to do about
 * each code, lives in docs/errors.md; test/unit/errors.test.ts walks every code so the two cannot
 * drift apart.
 */

/** Stable error codes. Adding one means adding a row to docs/errors.md. */
export const ErrorCode = {
  /** The operation cannot proceed without waiting; see {@link WouldBlockError}. */
  WOULD_BLOCK: 'AOF_ERR_WOULD_BLOCK',
  /** The manager, log or reader was closed before or during the call. */
  CLOSED: 'AOF_ERR_CLOSED',
  /**
   * A write (append, flush, retention) on a manager opened with `readOnly`: it reads a root another
   * manager writes, and never writes to it.
   */
  READ_ONLY: 'AOF_ERR_READ_ONLY',
  /** An argument has the wrong type or an impossible value. */
  INVALID_ARGUMENT: 'AOF_ERR_INVALID_ARGUMENT',
  /** An options object has a key aof2 does not know (usually a typo). */
  UNKNOWN_OPTION: 'AOF_ERR_UNKNOWN_OPTION',
  /** A stream name outside `[A-Za-z0-9._-]{1,128}`, or `.`/`..`. */
  INVALID_STREAM_NAME: 'AOF_ERR_INVALID_STREAM_NAME',
  /** A record does not fit in one segment. */
  RECORD_TOO_LARGE: 'AOF_ERR_RECORD_TOO_LARGE',
  /** An `appendBatch`/`appendBatchSync` batch whose frames do not fit in one segment. */
  BATCH_TOO_LARGE: 'AOF_ERR_BATCH_TOO_LARGE',
  /** Another manager (this process or another) holds the root. */
  LOCKED: 'AOF_ERR_LOCKED',
  /** A file failed its magic, version, length or CRC check. */
  CORRUPT: 'AOF_ERR_CORRUPT',
  /**
   * Under the root, a symlink or another non-regular file where aof2 expects one of its files, or a
   * symlink or non-directory where it expects a directory: refused, never read, written or removed.
   */
  UNSAFE_PATH: 'AOF_ERR_UNSAFE_PATH',
  /** A file-system call failed (the cause carries the errno, e.g. ENOSPC). */
  IO: 'AOF_ERR_IO',
  /** A worker thread died or failed; the manager stops accepting writes. */
  WORKER_FAILED: 'AOF_ERR_WORKER_FAILED',
  /** A blocking call (`manager.flushSync()`) ran past its deadline; the work goes on in the background. */
  TIMEOUT: 'AOF_ERR_TIMEOUT',
  /** A reader asked for an id that does not exist (beyond the tail). */
  OUT_OF_RANGE: 'AOF_ERR_OUT_OF_RANGE',
  /** Records exist in the catalog but no tier holds a usable copy of them right now. */
  UNAVAILABLE: 'AOF_ERR_UNAVAILABLE',
  /** A file was written by a newer aof2 (unknown version or record type); upgrade before opening. */
  INCOMPATIBLE: 'AOF_ERR_INCOMPATIBLE',
  /** The platform cannot run aof2 (big-endian CPU, missing zlib.crc32 or Atomics.waitAsync). */
  UNSUPPORTED_PLATFORM: 'AOF_ERR_UNSUPPORTED_PLATFORM',
  /** A failure injected on purpose by a failpoint (`AOF2_FAILPOINTS`, workers/failpoints.ts). */
  INJECTED: 'AOF_ERR_INJECTED',
  /**
   * A live handle (manager, log, reader) was structured-cloned or posted to another thread. Node 20
   * cannot run code inside the clone, so this code arrives in a DataCloneError's message, see
   * src/not-cloneable.ts.
   */
  NOT_CLONEABLE: 'AOF_ERR_NOT_CLONEABLE',
  /**
   * aof2 caught itself in a state its own rules forbid (a segment transition its table does not
   * allow): a bug in aof2, never caused by data or by the caller.
   */
  INTERNAL: 'AOF_ERR_INTERNAL',
} as const;

/** One of the `AOF_ERR_*` codes of {@link ErrorCode}: the type of `AofError.code`. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Why a synchronous call would have to wait. */
export const WouldBlockKind = {
  /** No arena slot can be admitted for a new segment right now. */
  ADMISSION: 'admission',
  /** The active segment is full and its successor cannot be opened yet. */
  ROLLOVER: 'rollover',
  /** Durability is behind: the flusher must catch up first. */
  FLUSH: 'flush',
  /** The record lives in a segment that is not resident; hydration has been started. */
  HYDRATION: 'hydration',
  /** Tier 2 (object storage) is behind or unavailable. */
  TIER2: 'tier2',
  /**
   * Compression is behind: sealed raw segments waiting for the compressor fill the local raw
   * backlog budget (`tier1.rawBacklogBytes`), so the next segment waits until compression frees
   * room. Thrown at rollover only (once per segment); the async `append()` waits for it.
   */
  COMPRESSION: 'compression',
} as const;

/** One of the {@link WouldBlockKind} values: the type of `WouldBlockError.kind`. */
export type WouldBlockKindValue = (typeof WouldBlockKind)[keyof typeof WouldBlockKind];

/** Plain shape an error takes when it crosses a worker boundary (structured clone drops classes). */
export interface SerializedAofError {
  code: string;
  message: string;
  stack?: string | undefined;
  details?: Record<string, unknown> | undefined;
  /** The underlying error's own fields (an fs error's errno, syscall, path), rebuilt as `cause`. */
  cause?: SerializedCause | undefined;
}

/**
 * What crosses a thread of an error's `cause`. Structured clone keeps an Error's message and stack
 * but drops `code`, `errno`, `syscall` and `path`, which are what a caller of AOF_ERR_IO branches
 * on (`err.cause.code === 'ENOSPC'`), so they are copied out by hand.
 */
export interface SerializedCause {
  name: string;
  message: string;
  stack?: string | undefined;
  code?: string | undefined;
  errno?: number | undefined;
  syscall?: string | undefined;
  path?: string | undefined;
}

function serializeCause(cause: unknown): SerializedCause | undefined {
  if (cause === undefined || cause === null) return undefined;
  if (typeof cause !== 'object') return { name: 'Error', message: String(cause) };
  const c = cause as Partial<NodeJS.ErrnoException>;
  const out: SerializedCause = {
    name: typeof c.name === 'string' ? c.name : 'Error',
    message: typeof c.message === 'string' ? c.message : String(cause),
  };
  if (typeof c.stack === 'string') out.stack = c.stack;
  if (typeof c.code === 'string') out.code = c.code;
  if (typeof c.errno === 'number') out.errno = c.errno;
  if (typeof c.syscall === 'string') out.syscall = c.syscall;
  if (typeof c.path === 'string') out.path = c.path;
  return out;
}

/** The cause as the thread that threw it saw it: an Error with the errno fields of a Node fs error. */
function deserializeCause(raw: SerializedCause): Error {
  const err: NodeJS.ErrnoException = new Error(raw.message);
  err.name = raw.name;
  if (raw.stack !== undefined) err.stack = raw.stack;
  if (raw.code !== undefined) err.code = raw.code;
  if (raw.errno !== undefined) err.errno = raw.errno;
  if (raw.syscall !== undefined) err.syscall = raw.syscall;
  if (raw.path !== undefined) err.path = raw.path;
  return err;
}

/** Base class of every error aof2 throws. */
export class AofError extends Error {
  readonly code: ErrorCodeValue;
  /** Machine-readable context (paths, offsets, expected vs actual). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCodeValue, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AofError';
    this.code = code;
    this.details = options?.details;
  }

  /** AOF_ERR_CLOSED: `what` (a reader, the manifest log, ...) was used after its close. */
  static closed(what: string): AofError {
    return new AofError(ErrorCode.CLOSED, `${what} is closed`);
  }

  /**
   * AOF_ERR_READ_ONLY: `what` (an append, a flush, retention) was asked of a manager opened with
   * `readOnly`, which never writes to its root, or with `follower` (`openedWith`), which never
   * writes to the bucket.
   */
  static readOnly(what: string, root: string, openedWith: 'readOnly' | 'follower' | 'attach' = 'readOnly'): AofError {
    const remedy =
      openedWith === 'follower'
        ? 'a follower reads the bucket; write through the manager that owns it'
        : openedWith === 'attach'
          ? 'a view attached in a worker thread reads; write through the manager that shared it'
          : 'write through the manager that holds the root';
    return new AofError(ErrorCode.READ_ONLY, `${what}: the manager of ${root} is read-only (opened with ${openedWith}); ${remedy}`, {
      details: { root },
    });
  }

  /** AOF_ERR_INVALID_ARGUMENT with `message` (expected vs actual) and optional `details`. */
  static invalidArgument(message: string, details?: Record<string, unknown>): AofError {
    return new AofError(ErrorCode.INVALID_ARGUMENT, message, details === undefined ? undefined : { details });
  }

  /** AOF_ERR_CORRUPT: stored bytes failed a check (magic, version, length, CRC); `details` says where. */
  static corrupt(message: string, details: Record<string, unknown>): AofError {
    return new AofError(ErrorCode.CORRUPT, message, { details });
  }

  /**
   * Wraps a Node fs error, keeping errno/code in `cause` and the path in `details`. Out of file
   * descriptors (EMFILE: the process; ENFILE: the system) says which limit and which option, since
   * the errno alone sends users looking for a leak.
   */
  static io(action: string, path: string, cause: unknown): AofError {
    const errno = (cause as NodeJS.ErrnoException | undefined)?.code ?? 'unknown';
    const hint =
      errno === 'EMFILE'
        ? ' (the process is out of file descriptors: raise `ulimit -n`, or lower tier0.maxOpenFiles; see docs/operations.md, "Sizing by number of streams")'
        : errno === 'ENFILE'
          ? ' (the system is out of file descriptors: raise fs.file-max, or lower tier0.maxOpenFiles; see docs/operations.md, "Sizing by number of streams")'
          : '';
    return new AofError(ErrorCode.IO, `${action} failed for ${path}: ${errno}${hint}`, { cause, details: { path, errno } });
  }

  /** Flattens for postMessage; see {@link AofError.deserialize}. */
  serialize(): SerializedAofError {
    const out: SerializedAofError = { code: this.code, message: this.message, stack: this.stack, details: this.details };
    const cause = serializeCause(this.cause);
    if (cause !== undefined) out.cause = cause;
    return out;
  }

  /**
   * Rebuilds an error that crossed a worker boundary, keeping its code, the worker's stack and its
   * `cause` (an Error carrying the errno fields, so AOF_ERR_IO from the flush worker has
   * `cause.code === 'ENOSPC'` like one thrown on this thread).
   */
  static deserialize(raw: SerializedAofError): AofError {
    const known = Object.values(ErrorCode) as string[];
    const code = (known.includes(raw.code) ? raw.code : ErrorCode.WORKER_FAILED) as ErrorCodeValue;
    const options: { cause?: unknown; details?: Record<string, unknown> } = {};
    if (raw.details !== undefined) options.details = raw.details;
    if (raw.cause !== undefined) options.cause = deserializeCause(raw.cause);
    const err = new AofError(code, raw.message, options);
    if (raw.stack !== undefined) err.stack = raw.stack;
    return err;
  }
}

/**
 * Thrown by the synchronous API (`appendSync`, `nextSync`) when the call cannot complete without
 * waiting. Nothing was written or consumed: retry later, or use the async twin, which awaits the
 * matching wake-up and retries for you.
 */
export class WouldBlockError extends AofError {
  readonly kind: WouldBlockKindValue;

  constructor(kind: WouldBlockKindValue, message: string) {
    super(ErrorCode.WOULD_BLOCK, message, { details: { kind } });
    this.name = 'WouldBlockError';
    this.kind = kind;
  }
}
