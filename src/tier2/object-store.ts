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

// The contract lives in its own module so that the backends, which implement it, do not import
// this file (which loads them): no import cycle (docs/architecture.md).
export type { ByteRange, ObjectInfo, ObjectStore, Tier2StoreConfig } from './store-contract.js';
export { checkObjectKey } from './store-contract.js';
import type { ObjectStore, Tier2StoreConfig } from './store-contract.js';

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
