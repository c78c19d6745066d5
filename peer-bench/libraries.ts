/**
 * The peer libraries (lmdb-js, hypercore, sonic-boom, and ioredis, the client of the Redis Streams
 * peer), loaded from peer-bench's own install:
 * peer-bench/package.json and its lockfile, installed into peer-bench/node_modules by install.ts.
 * They are not dependencies of the aof2 package, so an `npm install` of aof2 (a user's, or a
 * fresh clone's) never fetches them nor runs lmdb's native install scripts (docs/decisions.md,
 * "The package ships dist/, built in prepack; the peer libraries live under peer-bench/").
 *
 * Node resolves a bare import from the importing file's directory upwards, and this file runs as
 * dist/peer-bench/libraries.js, from which peer-bench/node_modules is not on the way up; a
 * `require` created for peer-bench/package.json resolves from there instead. All four packages
 * load as CommonJS (lmdb's `require` export is its full build; ioredis's module is its Redis class).
 *
 * The types below are the part of each API the peers suite uses, written here rather than taken
 * from the packages: the root build (tsconfig.json) compiles peer-bench/ on a clone that has not
 * installed the peers, where `import type ... from 'lmdb'` would not resolve.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** peer-bench/package.json, seen from dist/peer-bench/. */
export const PEER_PACKAGE_JSON = fileURLToPath(new URL('../../peer-bench/package.json', import.meta.url));
/** The packages peer-bench/package.json lists, each loaded by loadPeerLibraries(). */
export const PEER_PACKAGES = ['lmdb', 'hypercore', 'sonic-boom', 'ioredis'] as const;

/** lmdb-js 3: a database of `V` values under `K` keys. */
export interface LmdbDatabase<V, K> {
  put(key: K, value: V): Promise<boolean>;
  /** Resolves once every committed write so far is synced. */
  readonly flushed: Promise<boolean>;
  get(key: K): V | undefined;
  getKeysCount(): number;
  close(): Promise<void>;
}

export interface LmdbOptions {
  path: string;
  encoding: 'binary';
  compression: false;
}

/** hypercore 11: an append-only log of blocks (the package ships no type declarations). */
export interface Hypercore {
  readonly length: number;
  ready(): Promise<void>;
  append(blocks: Uint8Array | Uint8Array[]): Promise<{ length: number; byteLength: number }>;
  get(index: number): Promise<Buffer | null>;
  close(): Promise<void>;
}

export interface SonicBoomOptions {
  dest: string;
  sync: boolean;
  /** 'buffer': `write` takes bytes (its own types say strings only). */
  contentMode: 'buffer';
  mkdir: boolean;
}

/** sonic-boom 5: a file writer. */
export interface SonicBoom {
  write(chunk: Buffer): boolean;
  /** Writes what is buffered, then fsyncs. */
  flushSync(): void;
  end(): void;
  once(event: 'close', listener: () => void): unknown;
}

/** ioredis connection options (the ones the Redis Streams peer sets). */
export interface RedisOptions {
  host: string;
  port: number;
  /** Connect on `connect()`, not in the constructor. */
  lazyConnect: boolean;
  /** Fail a command instead of queueing it while disconnected. */
  enableOfflineQueue: boolean;
  /** Never reconnect: a dropped connection fails the run. */
  retryStrategy: () => null;
  /** Off by default in ioredis; the per-record case keeps it off (one write per command). */
  enableAutoPipelining: boolean;
}

/** One entry of an XREAD reply, read as buffers: its id and its flat field/value list. */
export type RedisStreamEntry = [id: Buffer, fields: Buffer[]];

/** ioredis's pipeline: commands queued, sent in one write by `exec()`. */
export interface RedisPipeline {
  xadd(key: string, id: '*', field: string, value: Buffer): RedisPipeline;
  /** Per command `[error, result]`. */
  exec(): Promise<[Error | null, unknown][] | null>;
}

/** ioredis: one connection to a Redis server (the commands the Redis Streams peer sends). */
export interface RedisClient {
  connect(): Promise<void>;
  /** XADD key * field value: resolves with the new entry's id. */
  xadd(key: string, id: '*', field: string, value: Buffer): Promise<string | null>;
  /** XREAD with replies as buffers: per stream `[key, entries]`; null on a BLOCK timeout. */
  xreadBuffer(...args: (string | number | Buffer)[]): Promise<[Buffer, RedisStreamEntry[]][] | null>;
  xlen(key: string): Promise<number>;
  del(key: string): Promise<number>;
  pipeline(): RedisPipeline;
  quit(): Promise<string>;
  /** Closes at once; pending commands reject. */
  disconnect(): void;
}

export interface PeerLibraries {
  openLmdb<V, K>(options: LmdbOptions): LmdbDatabase<V, K>;
  Hypercore: new (storage: string) => Hypercore;
  SonicBoom: new (options: SonicBoomOptions) => SonicBoom;
  Redis: new (options: RedisOptions) => RedisClient;
}

/** Loads the peers from peer-bench/node_modules (install.ts puts them there first). */
export function loadPeerLibraries(): PeerLibraries {
  const require = createRequire(PEER_PACKAGE_JSON);
  const lmdb = require('lmdb') as { open: PeerLibraries['openLmdb'] };
  return {
    openLmdb: lmdb.open,
    Hypercore: require('hypercore') as PeerLibraries['Hypercore'],
    SonicBoom: require('sonic-boom') as PeerLibraries['SonicBoom'],
    Redis: require('ioredis') as PeerLibraries['Redis'],
  };
}

/** ioredis alone, for a process that needs no other peer (tail-follower.ts's Redis consumer). */
export function loadRedis(): PeerLibraries['Redis'] {
  return createRequire(PEER_PACKAGE_JSON)('ioredis') as PeerLibraries['Redis'];
}
