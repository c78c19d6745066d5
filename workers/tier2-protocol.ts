/**
 * Task shapes of the Tier 2 piscina pool (workers/upload.ts). Everything here crosses a thread
 * boundary by structured clone: the store travels as its configuration (plain data) and each
 * worker thread opens its own store from it (workers/store-cache.ts).
 *
 * Errors: as for the Tier 1 pools (workers/tier1-protocol.ts), a task rejects with a plain
 * `SerializedAofError`; rebuild it with `fromWorkerRejection` from src/worker-error.ts.
 *
 * Tier 2 hydration of one frame is a HydrateTask with an `object` source (workers/tier1-protocol.ts):
 * it shares the hydrate pool and its decode/publish path with Tier 1.
 */
import type { Tier2StoreConfig } from '../src/tier2/object-store.js';

/**
 * Copy one complete local Tier 1 file to the object store. Idempotent: `key` is deterministic
 * (src/tier2/object-store.ts `segmentKey`), so a retried or duplicated task writes the same bytes
 * under the same key. Caller obligation: the file must not change while the task runs (a .t1 file
 * never does: it is renamed into place complete and only ever deleted).
 */
export interface UploadTask {
  store: Tier2StoreConfig;
  /** The local .t1 file. */
  path: string;
  /** Object key, e.g. `segmentKey(stream, baseId)`. */
  key: string;
  /** Size of the file as the catalog knows it (the compression result); checked before upload. */
  expectedBytes: number;
}

export interface UploadResult {
  /** Size of the object as the store reports it after the put: equals `expectedBytes`. */
  objectBytes: number;
  /**
   * The frame index of the bytes uploaded, in the compact form the manifest records
   * (src/format/recorded-index.ts); null past MAX_RECORDED_FRAMES frames (not recorded).
   */
  frameIndex: Uint8Array | null;
}
