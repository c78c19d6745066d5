/**
 * The object-store contract every Tier 2 backend implements (the rules are listed in
 * src/tier2/object-store.ts, which also opens the backends), and the key check the backends apply.
 * Separate from object-store.ts so that fs-store.ts and s3-store.ts import the contract, not the
 * module that loads them.
 */
import type { Tier2Options } from '../config.js';
import { AofError } from '../errors.js';

export interface ObjectInfo {
  key: string;
  size: number;
  /**
   * A tag that changes whenever the object is replaced (S3: the ETag; the fs store: mtime and
   * inode of the file a put renamed into place), or undefined when the backend has none. A
   * follower compares it to know which manifest objects to GET again: the size alone misses a
   * chunk whose header was rewritten in place.
   */
  etag?: string;
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
