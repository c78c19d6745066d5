/**
 * A read-only manager's copy of the writer's catalog: the manifest directory replayed by
 * src/manifest/replay.ts `replayManifest`, the pure function the writer's open and `aof2-admin`
 * run, with none of the repairs it lists carried out (a read-only manager never writes). The replay
 * and what it leaves (catalog, report, signature) are kept by `ReplayedManifest`
 * (src/read-only/replayed-manifest.ts), shared with the follower's `ManifestObjects`; this file lists
 * and reads the directory.
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
import { listManifestNames, readManifestFiles } from '../manifest/manifest-files.js';
import { ReplayedManifest } from './replayed-manifest.js';

/** Looks that meet a file removed under them before giving up (the writer prunes a few files per snapshot). */
const MAX_ATTEMPTS = 8;

export class ManifestView {
  readonly #dir: string;
  /** The catalog, report and replay count; its signature lists names, sizes and mtimes of the files. */
  readonly replayed = new ReplayedManifest();

  /** @param dir the writer's manifest directory (`<root>/manifest`) */
  constructor(dir: string) {
    this.#dir = dir;
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
    if (this.replayed.isCurrent(signature)) return false;
    const files = await readManifestFiles(this.#dir, names, (name) => join(this.#dir, name));
    this.replayed.replay(files, signature, started);
    return true;
  }
}
