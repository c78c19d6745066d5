/**
 * One open object store per distinct Tier 2 configuration, per worker thread, for the thread's
 * lifetime (workers/upload.ts, workers/hydrate.ts).
 *
 * Why: tasks carry the store's configuration (plain data crosses the thread boundary, an S3 client
 * does not), and opening a store per task would cost a client and its connection pool every
 * upload. Keyed by a canonical JSON of the config (object keys sorted), so `{ kind, root }` and
 * `{ root, kind }` share one store. The cache holds the opening promise, so concurrent tasks of
 * one thread share the same open; a failed open is forgotten, so the next task tries again (a store
 * that was unreachable at first is not cached as broken). Stores are never closed: a thread opens
 * a handful at most and piscina ends idle threads, which releases everything.
 *
 * Except with rotating credentials: a `tier2.credentials` provider's identity is resolved on the
 * main thread and sent with each task (src/tier2/credentials.ts), so temporary credentials give a
 * new configuration (a new key) at every refresh. When an identity with an `expiration` replaces
 * another for the same store, the old store is dropped from the cache and closed a minute later
 * (tasks already running on it finish first), so a long-lived thread holds one client per store,
 * not one per hour of uptime.
 */
import { openObjectStore, type ObjectStore, type Tier2StoreConfig } from '../src/tier2/object-store.js';

const stores = new Map<string, Promise<ObjectStore>>();
/** For each store without its credentials: the key of the store last opened for it. */
const latestByStore = new Map<string, string>();
/** How long a store replaced by rotated credentials stays open for the tasks still using it. */
export const RETIRE_AFTER_MS = 60_000;

/** JSON with object keys sorted at every level: equal configs give equal strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/**
 * This thread's store for `config`, opened on first use.
 * @throws what openObjectStore throws (AOF_ERR_INVALID_ARGUMENT, AOF_ERR_UNAVAILABLE)
 */
export function storeFor(config: Tier2StoreConfig): Promise<ObjectStore> {
  const key = canonicalJson(config);
  let store = stores.get(key);
  if (store === undefined) {
    retireRotated(config, key);
    const opening = openObjectStore(config);
    stores.set(key, opening);
    opening.catch(() => {
      if (stores.get(key) === opening) stores.delete(key);
    });
    store = opening;
  }
  return store;
}

/** Drops (and soon closes) the store `config` replaces when only its expiring credentials changed. */
function retireRotated(config: Tier2StoreConfig, key: string): void {
  if (config.kind !== 's3') return;
  const base = canonicalJson({ ...config, credentials: null });
  const previous = latestByStore.get(base);
  latestByStore.set(base, key);
  if (previous === undefined || previous === key) return;
  const credentials = config.credentials;
  if (typeof credentials !== 'object' || credentials.expiration === undefined) return; // static identities: distinct users, keep both
  const old = stores.get(previous);
  stores.delete(previous);
  setTimeout(() => void old?.then((s) => s.close()).catch(() => undefined), RETIRE_AFTER_MS).unref();
}

/** Number of stores this thread holds open (or is opening). For tests. */
export function openStoreCount(): number {
  return stores.size;
}
