/**
 * The writer's manifest as last replayed by a process that only reads it: the catalog, what the
 * replay found, how many replays ran, and the signature of the files replayed. The read-only
 * manager's `ManifestView` (files of a root) and the follower's `ManifestObjects` (objects in
 * Tier 2) each hold one and differ only in how they list and read the files; the replay and its
 * bookkeeping live here, once, so the two cannot drift apart.
 *
 * Replay is the writer's own rule (src/manifest/replay.ts `replayManifest`, as on its open and in
 * `aof2-admin`), with none of the repairs it lists carried out: nothing is written. Bytes past a
 * chunk's committed length (a commit under way) are not applied; while a chunk has such bytes, or a
 * header that does not check, the signature is not kept, so the next look replays again even if the
 * listing looks the same (a header rewrite may keep the size and land in the same mtime tick).
 */
import { performance } from 'node:perf_hooks';
import { Catalog } from '../manifest/catalog.js';
import type { ReplayReport } from '../manifest/manifest-log.js';
import { replayManifest, type ManifestFiles } from '../manifest/replay.js';

const NO_REPLAY: ReplayReport = {
  snapshotSeq: null,
  chunkCount: 0,
  recordsReplayed: 0,
  journalLagBytes: 0,
  chunkLagSeconds: 0,
  corruptionEvents: 0,
  unknownRecords: 0,
  orphanRecords: 0,
  trimmedChunks: 0,
  tempFilesRemoved: 0,
};

export class ReplayedManifest {
  #catalog = new Catalog();
  #report: ReplayReport = NO_REPLAY;
  /** The listing at the last replay ('' forces the next look to replay). */
  #signature = '';
  #replays = 0;

  /** The catalog as of the last replay (a new object per replay: never changed in place). */
  get catalog(): Catalog {
    return this.#catalog;
  }

  /** What the last replay found (its repairs are not carried out: `tempFilesRemoved` stays 0). */
  get report(): ReplayReport {
    return this.#report;
  }

  /** Replays done (looks that found the listing changed). */
  get replays(): number {
    return this.#replays;
  }

  /** True when `signature` (a listing of the manifest's files) is the one the last replay settled on. */
  isCurrent(signature: string): boolean {
    return signature === this.#signature;
  }

  /**
   * Replays `files`, listed as `signature`, and keeps the result.
   * @param started `performance.now()` when the look began: the report's `chunkLagSeconds` counts from it
   * @throws AOF_ERR_INCOMPATIBLE (a manifest written by a newer aof2); nothing is kept then
   */
  replay(files: ManifestFiles, signature: string, started: number): void {
    const result = replayManifest(files, { now: Date.now() });
    this.#catalog = result.catalog;
    this.#report = { ...result.counts, unknownRecords: 0, tempFilesRemoved: 0, chunkLagSeconds: (performance.now() - started) / 1000 };
    this.#replays++;
    const settled = result.chunks.every((c) => c.headerOk && c.uncommittedBytes === 0);
    this.#signature = settled ? signature : '';
  }
}
