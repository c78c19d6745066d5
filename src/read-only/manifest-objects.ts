/**
 * The writer's manifest as a follower sees it: the `manifest/` objects the writer's replica mirrors
 * into Tier 2 (src/tier2/manifest-replica.ts), replayed with the same `replayManifest` as the
 * writer's own open and the read-only manager's `ManifestView` (the sibling of this file, which
 * reads the files of a root instead); both keep the replay and its result in a `ReplayedManifest`
 * (src/read-only/replayed-manifest.ts). Nothing is repaired and nothing is written anywhere.
 *
 * A look costs one LIST of `manifest/`. Its signature (key, size and change tag of every object)
 * decides whether anything changed; when it did, only the objects whose tag changed are fetched
 * (the others' bytes are kept from the previous look), then the whole set is replayed. The mirror
 * replaces objects whole (`put` is atomic), so every object read is a committed prefix of a chunk
 * or a whole snapshot; bytes past a chunk's committed length are not applied by the replay, as on
 * the writer.
 *
 * The writer prunes chunks and snapshots after writing a newer snapshot, and its mirror deletes
 * their objects after uploading the new ones: an object listed and gone by the time it is fetched
 * makes the look start over (the next listing names the newer snapshot), like `ManifestView`
 * retrying a file removed under it.
 */
import { performance } from 'node:perf_hooks';
import { AofError, ErrorCode } from '../errors.js';
import { MANIFEST_PREFIX, parseChunkFileName, parseSnapshotFileName } from '../format/root-layout.js';
import type { ManifestFile } from '../manifest/replay.js';
import type { ObjectInfo, ObjectStore } from '../tier2/object-store.js';
import { ReplayedManifest } from './replayed-manifest.js';

/** Looks that meet an object deleted under them before giving up (the mirror prunes a few per snapshot). */
const MAX_ATTEMPTS = 8;

/** An object listed and gone before it was fetched: the look starts over. */
class ObjectGone extends Error {}

/** How an object is recognised as unchanged: its change tag when the store gives one, else its size. */
function tagOf(info: ObjectInfo): string {
  return `${info.size}:${info.etag ?? ''}`;
}

export class ManifestObjects {
  readonly #store: ObjectStore;
  /** The catalog, report and replay count; its signature lists keys, sizes and tags of the objects. */
  readonly replayed = new ReplayedManifest();
  /** Bytes of the objects last fetched, by name, with the tag they had. */
  #cache = new Map<string, { tag: string; bytes: Uint8Array }>();
  #gets = 0;
  #lists = 0;

  constructor(store: ObjectStore) {
    this.#store = store;
  }

  /** Manifest objects fetched (GET requests). */
  get gets(): number {
    return this.#gets;
  }

  /** LIST requests of `manifest/`. */
  get lists(): number {
    return this.#lists;
  }

  /**
   * Replays the manifest when its objects changed since the last replay; true when it did.
   * @throws AOF_ERR_UNAVAILABLE (the store), AOF_ERR_INCOMPATIBLE (a manifest written by a newer aof2)
   */
  async refresh(): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#look();
      } catch (err) {
        if (err instanceof ObjectGone && attempt < MAX_ATTEMPTS) continue;
        if (err instanceof ObjectGone) {
          throw new AofError(ErrorCode.UNAVAILABLE, `tier 2: manifest objects kept disappearing between listing and reading (${MAX_ATTEMPTS} looks): ${err.message}`);
        }
        throw err;
      }
    }
  }

  async #look(): Promise<boolean> {
    const started = performance.now();
    this.#lists++;
    const listed = (await this.#store.list(MANIFEST_PREFIX)).filter((o) => {
      const name = o.key.slice(MANIFEST_PREFIX.length);
      return parseChunkFileName(name) !== null || parseSnapshotFileName(name) !== null;
    });
    const signature = listed.map((o) => `${o.key}:${tagOf(o)}`).join('|');
    if (this.replayed.isCurrent(signature)) return false;
    const cache = new Map<string, { tag: string; bytes: Uint8Array }>();
    const chunks: ManifestFile[] = [];
    const snapshots: ManifestFile[] = [];
    for (const info of listed) {
      const name = info.key.slice(MANIFEST_PREFIX.length);
      const tag = tagOf(info);
      let cached = this.#cache.get(name);
      // Without a tag, a size equal to the cached one is not proof enough (a header rewrite keeps
      // the size): such objects are fetched again on every change of the listing.
      if (cached === undefined || cached.tag !== tag || info.etag === undefined) {
        this.#gets++;
        const bytes = await this.#store.get(info.key);
        if (bytes === null) throw new ObjectGone(info.key);
        cached = { tag, bytes };
      }
      cache.set(name, cached);
      const chunkSeq = parseChunkFileName(name);
      if (chunkSeq !== null) chunks.push({ seq: chunkSeq, file: info.key, bytes: cached.bytes });
      else snapshots.push({ seq: parseSnapshotFileName(name)!, file: info.key, bytes: cached.bytes });
    }
    this.replayed.replay({ chunks, snapshots, tempFiles: [] }, signature, started);
    this.#cache = cache;
    return true;
  }
}
