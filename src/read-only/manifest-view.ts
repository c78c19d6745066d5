/**
 * A read-only manager's copy of the writer's catalog: the manifest directory replayed by
 * src/manifest/replay.ts `replayManifest`, the pure function the writer's open and `aof2-admin`
 * run, with none of the repairs it lists carried out (a read-only manager never writes).
 *
 * Replayed whole whenever the directory changed (a file added or removed, a size or mtime that
 * moved): the writer appends a few records per segment (sealed, compressed, uploaded), never per
 * record, and replay reads at most the records since the newest snapshot (`snapshotEvery`), so a
 * whole replay per change costs milliseconds where following the chunk byte by byte would need a
 * second replay rule. Beside a live writer:
 * - bytes past a chunk's committed length (a commit under way: records written, header not yet)
 *   are not applied, as on the writer's own replay; while a chunk has such bytes the next look
 *   replays again even if size and mtime stayed (a header rewrite may land in the same mtime tick);
 * - a file listed and then removed before it is read (the writer prunes chunks and snapshots after
 *   a new snapshot) makes the look start over: the newest snapshot and its chunks are then listed.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { lstat } from 'node:fs/promises';
import { AofError } from '../errors.js';
import { Catalog } from '../manifest/catalog.js';
import { listManifestNames, readManifestFiles } from '../manifest/manifest-files.js';
import type { ReplayReport } from '../manifest/manifest-log.js';
import { replayManifest } from '../manifest/replay.js';

/** Looks that meet a file removed under them before giving up (the writer prunes a few files per snapshot). */
const MAX_ATTEMPTS = 8;

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

export class ManifestView {
  readonly #dir: string;
  #catalog = new Catalog();
  #report: ReplayReport = NO_REPLAY;
  /** Names, sizes and mtimes of the files at the last replay ('' forces the next look to replay). */
  #signature = '';
  #replays = 0;

  /** @param dir the writer's manifest directory (`<root>/manifest`) */
  constructor(dir: string) {
    this.#dir = dir;
  }

  /** The catalog as of the last replay (a new object per replay: never changed in place). */
  get catalog(): Catalog {
    return this.#catalog;
  }

  /** What the last replay found (its repairs are not carried out: `tempFilesRemoved` stays 0). */
  get report(): ReplayReport {
    return this.#report;
  }

  /** Replays done. */
  get replays(): number {
    return this.#replays;
  }

  /**
   * Replays the manifest when its directory changed since the last replay; true when it did.
   * @throws AOF_ERR_IO (`details.errno` 'ENOENT' when the directory is gone), AOF_ERR_UNSAFE_PATH,
   *   AOF_ERR_INCOMPATIBLE (a manifest written by a newer aof2)
   */
  async refresh(): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#look();
      } catch (err) {
        const gone = (err as NodeJS.ErrnoException).code === 'ENOENT';
        // The directory itself gone is final; a file pruned between listing and reading is not.
        if (gone && attempt < MAX_ATTEMPTS && (err as NodeJS.ErrnoException).path !== this.#dir) continue;
        throw err instanceof AofError ? err : AofError.io('read manifest', this.#dir, err);
      }
    }
  }

  async #look(): Promise<boolean> {
    const started = performance.now();
    const names = await listManifestNames(this.#dir);
    const parts: string[] = [];
    for (const name of names) {
      const st = await lstat(join(this.#dir, name));
      parts.push(`${name}:${st.size}:${st.mtimeMs}`);
    }
    const signature = `files:${parts.join('|')}`;
    if (signature === this.#signature) return false;
    const files = await readManifestFiles(this.#dir, names, (name) => join(this.#dir, name));
    const result = replayManifest(files, { now: Date.now() });
    this.#catalog = result.catalog;
    this.#report = { ...result.counts, unknownRecords: 0, tempFilesRemoved: 0, chunkLagSeconds: (performance.now() - started) / 1000 };
    this.#replays++;
    const settled = result.chunks.every((c) => c.headerOk && c.uncommittedBytes === 0);
    this.#signature = settled ? signature : '';
    return true;
  }
}
