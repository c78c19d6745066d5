/**
 * Manifest replication: the manifest directory (chunks and catalog snapshots) mirrored into Tier 2
 * under `manifest/<file name>`, so a new machine with an empty root and the same bucket can rebuild
 * every stream (brief §4: Tier 2 holds everything needed).
 *
 * - `sync()` uploads every local chunk or snapshot whose content (CRC) differs from what was last
 *   uploaded (sealed chunks and snapshots once; the chunk being appended to each time it changed:
 *   a copy read between a commit's record write and its header rewrite has the final size but
 *   the old header, and must be sent again), then deletes
 *   remote files the local manifest pruned. Files are uploaded whole: chunks are at most
 *   `chunkBytes` (1 MiB by default) and snapshots are written whole anyway. A chunk read while it
 *   is being appended to is still a valid chunk: records are made durable before the header names
 *   them, so a copy holds at worst a torn tail past its committed length, which replay trims.
 * - Syncs are debounced (`request()`): one sync per burst of transitions, and never two at once.
 *   Every sync passes through the Tier 2 circuit breaker's verdict: while it is open, nothing is
 *   tried and the next successful upload requests another sync.
 * - The loss window of a rebuild is therefore: records not yet in an uploaded segment (the active
 *   segment and segments still compressing or uploading), plus uploads recorded after the last
 *   manifest sync, which the rebuild recovers by listing the segment objects themselves
 *   (src/tier2/rebuild.ts). Shrink it with smaller segments and `flush()`+`close()`.
 *
 * Remote deletes only follow local pruning, and local pruning keeps every file replay needs, so the
 * remote copy is always replayable on its own.
 */
import { readdir } from 'node:fs/promises';
import { readRegularFile } from '../safe-fs.js';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { AofError, ErrorCode } from '../errors.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { type ObjectStore } from './object-store.js';
import { MANIFEST_PREFIX, isManifestObjectName } from '../format/root-layout.js';

const DEBOUNCE_MS = 100;

export class ManifestReplica {
  readonly #dir: string;
  readonly #store: ObjectStore;
  readonly #breaker: CircuitBreaker;
  /**
   * Remote manifest files and the CRC of what was uploaded (null: listed, content unknown); null
   * until the first sync lists the store. Content, not size, decides: a chunk read between its
   * record write and its header rewrite already has its final size but a stale header.
   */
  #remote: Map<string, number | null> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  syncs = 0;
  uploads = 0;
  lastError: string | null = null;

  constructor(dir: string, store: ObjectStore, breaker: CircuitBreaker) {
    this.#dir = dir;
    this.#store = store;
    this.#breaker = breaker;
  }

  /** Asks for a sync soon (coalesced). */
  request(): void {
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.sync().catch(() => undefined);
    }, DEBOUNCE_MS);
  }

  /**
   * Mirrors the local manifest now; a call while a sync runs makes it run once more after.
   * Resolves only once the mirror matches the local manifest: callers that delete objects next
   * rely on it.
   * @throws AOF_ERR_UNAVAILABLE when the store fails (also recorded in lastError and reported to
   *   the breaker) or the breaker refuses to try
   */
  sync(): Promise<void> {
    if (this.#running !== null) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#loop().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /** Cancels a pending request and waits for a running sync; then one last sync if the store answers. */
  async close(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => undefined);
    await this.sync().catch(() => undefined);
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      if (!this.#breaker.canAttempt()) {
        throw new AofError(ErrorCode.UNAVAILABLE, 'tier 2 is unavailable (circuit breaker open): the manifest mirror was not updated', {
          details: { storeCode: 'BREAKER_OPEN' },
        });
      }
      try {
        await this.#syncOnce();
        this.#breaker.onSuccess();
        this.lastError = null;
      } catch (err) {
        this.#breaker.onFailure();
        this.lastError = err instanceof AofError ? `${err.code}: ${err.message}` : String(err);
        throw err;
      }
    } while (this.#again);
  }

  async #syncOnce(): Promise<void> {
    this.syncs++;
    if (this.#remote === null) {
      const listed = await this.#store.list(MANIFEST_PREFIX);
      this.#remote = new Map(listed.map((o) => [o.key.slice(MANIFEST_PREFIX.length), null]));
    }
    const local = (await readdir(this.#dir)).filter(isManifestObjectName).sort();
    for (const name of local) {
      let bytes: Uint8Array;
      try {
        bytes = await readRegularFile(join(this.#dir, name));
      } catch (err) {
        // A link or non-regular file (AOF_ERR_UNSAFE_PATH) is never mirrored: the sync fails loudly.
        if (err instanceof AofError) throw err;
        continue; // pruned while we looked: the delete pass below handles its remote copy
      }
      const crc = crc32(bytes);
      if (this.#remote.get(name) === crc) continue;
      await this.#store.put(MANIFEST_PREFIX + name, bytes);
      this.#remote.set(name, crc);
      this.uploads++;
    }
    const keep = new Set(local);
    for (const name of [...this.#remote.keys()]) {
      if (keep.has(name)) continue;
      await this.#store.delete(MANIFEST_PREFIX + name);
      this.#remote.delete(name);
    }
  }
}
