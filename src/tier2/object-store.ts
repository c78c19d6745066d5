/**
 * Tier 2: the object-store interface every Tier 2 backend implements, the keys aof2 stores under,
 * and the factory that opens a backend from `tier2` options.
 *
 * Keys (relative to the backend's own prefix; `/`-separated on every backend):
 * ```
 * streams/<stream>/<baseId as 20 digits>.t1   a Tier 1 file, byte for byte (src/format/tier1.ts)
 * manifest/<chunkSeq as 20 digits>.mlog       a manifest chunk (src/format/manifest.ts)
 * manifest/<snapshotSeq as 20 digits>.snap    a catalog snapshot (src/format/snapshot.ts)
 * ```
 * Keys are deterministic (stream name and first id, never a process-local counter), so a retried or
 * duplicated upload writes the same bytes under the same key: harmless by construction.
 *
 * Contract every backend keeps (and test/tier2/object-store.test.ts checks on each):
 * - `put` is atomic: a reader sees the whole new object or the previous state, never a prefix.
 * - `get` of a missing key resolves `null` (not an error); a range past the end is clamped.
 * - `delete` of a missing key succeeds (idempotent).
 * - `list` returns every key under a key prefix, ascending, with sizes.
 * - Transport failures (refused connection, timeouts, 5xx, throttling) reject with
 *   AOF_ERR_UNAVAILABLE: the caller retries (with backoff, through the circuit breaker). Anything the
 *   store says is permanently wrong (no such bucket, access denied) also rejects with
 *   AOF_ERR_UNAVAILABLE, with the store's own code in `details.storeCode`, because the fix is on the
 *   operator's side and writers must keep their data meanwhile.
 *
 * Backends are plain data to configure (`Tier2StoreConfig`), so a worker thread can open its own
 * instance from the same options: an S3 client cannot cross a thread boundary, its options can.
 */
import type { Tier2Options } from '../config.js';
import { AofError } from '../errors.js';

export interface ObjectInfo {
  key: string;
  size: number;
}

/** `length` bytes starting at `offset` (both >= 0). */
export interface ByteRange {
  offset: number;
  length: number;
}

export interface ObjectStore {
  /** Where the objects live, for messages: `file:///abs/dir` or `s3://bucket/prefix`. */
  readonly location: string;
  /** Stores `body` under `key`, replacing any previous object atomically. @throws AOF_ERR_UNAVAILABLE */
  put(key: string, body: Uint8Array): Promise<void>;
  /** The object's bytes (or the range of them), or null if there is no such object. @throws AOF_ERR_UNAVAILABLE */
  get(key: string, range?: ByteRange): Promise<Uint8Array | null>;
  /** The object's size, or null if there is no such object. @throws AOF_ERR_UNAVAILABLE */
  size(key: string): Promise<number | null>;
  /** Every object whose key starts with `prefix`, ascending by key. @throws AOF_ERR_UNAVAILABLE */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Removes the object; a missing one is not an error. @throws AOF_ERR_UNAVAILABLE */
  delete(key: string): Promise<void>;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

/** The `tier2` options of a real store (what `kind: 'none'` is not). Structured-clonable. */
export type Tier2StoreConfig = Exclude<Tier2Options, { kind: 'none' }>;

const ID_DIGITS = 20;

/** Key of the Tier 1 object of segment `baseId` of `stream`. */
export function segmentKey(stream: string, baseId: number): string {
  return `streams/${stream}/${String(baseId).padStart(ID_DIGITS, '0')}.t1`;
}

/** Key prefix of every segment object of `stream`. */
export function streamPrefix(stream: string): string {
  return `streams/${stream}/`;
}

/** Parses a segment key back into stream and base id; null for any other key. */
export function parseSegmentKey(key: string): { stream: string; baseId: number } | null {
  const m = /^streams\/([A-Za-z0-9._-]{1,128})\/(\d{20})\.t1$/.exec(key);
  if (m === null) return null;
  const baseId = Number(m[2]);
  return Number.isSafeInteger(baseId) ? { stream: m[1]!, baseId } : null;
}

/**
 * Refuses keys no aof2 code builds: empty, absolute, or with an empty, `.` or `..` segment. Keys
 * come from the functions above, so this guards the backends (a directory walk, a bucket prefix),
 * not users.
 * @throws AOF_ERR_INVALID_ARGUMENT
 */
export function checkObjectKey(key: string): void {
  if (key.length === 0 || key.startsWith('/') || key.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw AofError.invalidArgument(`bad object key ${JSON.stringify(key)}`, { key });
  }
}

/** Key prefix of the replicated manifest (chunks and snapshots keep their local file names). */
export const MANIFEST_PREFIX = 'manifest/';

/**
 * Opens the backend `config` describes. The S3 backend (and the AWS SDK) is loaded only when asked
 * for, so an embedded fs-only user never pays for it.
 * Opening touches no network: an S3 endpoint that is down at startup shows up as AOF_ERR_UNAVAILABLE
 * on the first call, like any later outage.
 * @throws AOF_ERR_INVALID_ARGUMENT on unusable options; AOF_ERR_UNAVAILABLE if the fs root cannot be created
 */
export async function openObjectStore(config: Tier2StoreConfig): Promise<ObjectStore> {
  if (config.kind === 'fs') {
    const { FsObjectStore } = await import('./fs-store.js');
    return FsObjectStore.open(config.root);
  }
  const { S3ObjectStore } = await import('./s3-store.js');
  return S3ObjectStore.open(config, config.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: config.requestTimeoutMs });
}
