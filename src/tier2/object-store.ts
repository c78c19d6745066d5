/**
 * Tier 2: the object-store interface every Tier 2 backend implements, and the factory that opens a
 * backend from `tier2` options.
 *
 * Keys (relative to the backend's own prefix; `/`-separated on every backend) are built and parsed
 * by src/format/root-layout.ts (`segmentKey`, `streamPrefix`, `parseSegmentKey`, `MANIFEST_PREFIX`):
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

/**
 * Refuses keys no aof2 code builds: empty, absolute, or with an empty, `.` or `..` segment. Keys
 * come from src/format/root-layout.ts, so this guards the backends (a directory walk, a bucket prefix),
 * not users.
 * @throws AOF_ERR_INVALID_ARGUMENT
 */
export function checkObjectKey(key: string): void {
  if (key.length === 0 || key.startsWith('/') || key.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw AofError.invalidArgument(`bad object key ${JSON.stringify(key)}`, { key });
  }
}

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
