/**
 * Tier 2 as a read-only manager reads it: a segment the writer evicted from its local Tier 1 cache
 * (uploaded, then its `.t1` removed) is read from the object store the writer uploads to, by the
 * same ranged GETs the writer's own readers make, when the read-only manager is opened with the
 * writer's `tier2` option. It only ever reads (`get`): no upload, no manifest mirror, no recache
 * into the writer's root, no delete; the bucket and the root stay the writer's.
 *
 * The read path's remote port (src/read/ports.ts `RemoteSegmentSource`), read-only:
 * - `recordedIndex`: the frame index the writer's manifest recorded at upload, checked against the
 *   segment (no request);
 * - `loadIndex`: otherwise two ranged GETs of the object (header, index), not recorded anywhere;
 * - `frameSource`: where a hydrate task GETs a frame (the store configuration, with the identity a
 *   credentials provider returned);
 * - `touched`: nothing (a recache would write into the writer's root);
 * - `dropCorruptLocal`: the damaged local copy is left where it is (the writer's to deal with); this
 *   process reads the segment from Tier 2 from now on (NEEDS_RECOVERY in memory only).
 */
import { AofError, ErrorCode } from '../errors.js';
import { expandRecordedIndex } from '../format/recorded-index.js';
import type { FrameIndexEntry } from '../format/tier1.js';
import type { RemoteSegmentSource } from '../read/ports.js';
import { SegmentEventType, SegmentTier, type Segment } from '../tier0/segment.js';
import { CredentialSource } from '../tier2/credentials.js';
import type { ObjectStore, Tier2StoreConfig } from '../tier2/object-store.js';
import { fetchTier1Meta } from '../tier2/remote-meta.js';
import type { HydrateSource } from '../../workers/tier1-protocol.js';

export class RemoteReads implements RemoteSegmentSource {
  readonly store: ObjectStore;
  readonly #storeConfig: Tier2StoreConfig;
  readonly #credentials: CredentialSource | null;
  /** Segments whose recorded index did not describe them: their index comes from the object. */
  readonly #rejected = new WeakSet<Segment>();
  /** The latest failure (`CODE: message`), for `stats().tier1.lastError`. */
  lastError: string | null = null;

  constructor(store: ObjectStore, storeConfig: Tier2StoreConfig) {
    this.store = store;
    this.#storeConfig = storeConfig;
    const credentials = storeConfig.kind === 's3' ? storeConfig.credentials : undefined;
    this.#credentials = typeof credentials === 'function' ? new CredentialSource(credentials) : null;
  }

  recordedIndex(_stream: string, seg: Segment): FrameIndexEntry[] | null {
    const recorded = seg.recordedIndex;
    if (recorded === null || this.#rejected.has(seg)) return null;
    try {
      return expandRecordedIndex(recorded, { frameCount: seg.frameCount, recordCount: seg.count, dataBytes: seg.dataBytes, fileBytes: seg.compressedBytes });
    } catch (err) {
      this.#rejected.add(seg);
      this.lastError = `${err instanceof AofError ? err.code : 'Error'}: ${String((err as Error).message)} (segment ${seg.key}; its index is read from the object instead)`;
      return null;
    }
  }

  /** @throws (rejects) AOF_ERR_UNAVAILABLE (the store, or no object), AOF_ERR_CORRUPT (details.key) */
  loadIndex(_stream: string, seg: Segment): Promise<FrameIndexEntry[]> {
    return fetchTier1Meta(this.store, seg.key, seg.compressedBytes, seg.frameCount).then(
      (meta) => meta.index,
      (err: unknown) => {
        const error = err instanceof AofError ? err : new AofError(ErrorCode.UNAVAILABLE, `tier 2: ${String(err)}`, { cause: err });
        this.lastError = `${error.code}: ${error.message}`;
        throw error;
      },
    );
  }

  /** @throws (rejects) AOF_ERR_UNAVAILABLE when a credentials provider fails */
  async frameSource(seg: Segment): Promise<HydrateSource> {
    const store = this.#credentials === null ? this.#storeConfig : ({ ...this.#storeConfig, credentials: await this.#credentials.get() } as Tier2StoreConfig);
    return { kind: 'object', store, key: seg.key };
  }

  touched(_stream: string, _seg: Segment): void {
    // No recache: it would write a file into the writer's root.
  }

  dropCorruptLocal(seg: Segment): Promise<void> {
    if (seg.tier === SegmentTier.TIER1) seg.apply({ type: SegmentEventType.NEEDS_RECOVERY, error: null });
    return Promise.resolve();
  }
}
