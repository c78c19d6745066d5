/**
 * Local-directory object store (`tier2: { kind: 'fs', root }`, a directory the user names). Each
 * key is a file under the store's root (`/` in keys are directories), written atomically: a temp
 * file beside the target, fsync, rename, fsync of the directory. So a crash leaves either the old object or the new one, plus at
 * worst a `*.tmp` orphan that `list` ignores and the next `put` of the same key replaces.
 *
 * The store's root may be a symlink (the user's choice, like the engine's root); objects in it are
 * never read through a link (AOF_ERR_UNSAFE_PATH, see src/safe-fs.ts), and a put replaces a link
 * at the key by renaming over it, never writing through it. `list` skips links.
 *
 * Trade-offs: it is a real second copy on another path (another disk, an NFS mount), not a cache;
 * it has no multipart or range requests to emulate, positional reads give ranges for free. Every
 * failure maps to AOF_ERR_UNAVAILABLE (with the errno in the cause), like a remote store's outage:
 * the engine retries it through the same circuit breaker.
 */
import { randomBytes } from 'node:crypto';
import { readdir, stat, unlink } from 'node:fs/promises';
import { makeDirectory } from '../make-directory.js';
import { writeFileAtomically } from '../durable-file.js';
import { OpenMode, openFile, regularFileSize } from '../safe-fs.js';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AofError, ErrorCode } from '../errors.js';
import { checkObjectKey, type ByteRange, type ObjectInfo, type ObjectStore } from './store-contract.js';
import { TEMP_SUFFIX } from '../format/root-layout.js';


function unavailable(action: string, path: string, cause: unknown): AofError {
  const errno = (cause as NodeJS.ErrnoException | null)?.code;
  return new AofError(ErrorCode.UNAVAILABLE, `tier 2 (fs): ${action} ${path} failed${errno === undefined ? '' : ` (${errno})`}`, {
    cause,
    details: { path, storeCode: errno ?? null },
  });
}


export class FsObjectStore implements ObjectStore {
  readonly location: string;
  readonly #root: string;

  private constructor(root: string) {
    this.#root = root;
    this.location = pathToFileURL(root).href;
  }

  /**
   * Opens the store. The directory is created by the first `put`, not here: opening a manager
   * that never uploads leaves nothing behind.
   */
  static async open(root: string): Promise<FsObjectStore> {
    return new FsObjectStore(resolve(root));
  }

  #path(key: string): string {
    checkObjectKey(key);
    return join(this.#root, ...key.split('/'));
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const path = this.#path(key);
    const tmp = `${path}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
    try {
      await makeDirectory(dirname(path));
      await writeFileAtomically(path, body, tmp);
    } catch (err) {
      throw unavailable('put', path, err);
    }
    await this.#removeStaleTemps(path);
  }

  /**
   * Removes temp files other attempts at the same key left behind (a writer killed between open
   * and rename: a crashed worker thread, kill -9). Run after a successful put (the key's
   * successful retry is what makes them garbage) and after a delete. A concurrent put of the same key loses its temp
   * file, fails its rename and is retried by its caller: harmless, the bytes are the same.
   */
  async #removeStaleTemps(path: string): Promise<void> {
    const dir = dirname(path);
    const prefix = `${basename(path)}.`;
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith(prefix) && name.endsWith(TEMP_SUFFIX)) await unlink(join(dir, name)).catch(() => undefined);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array | null> {
    const path = this.#path(key);
    let fh;
    try {
      fh = await openFile(path, OpenMode.READ);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      if (err instanceof AofError) throw err; // AOF_ERR_UNSAFE_PATH: not an outage, retrying cannot help
      throw unavailable('open', path, err);
    }
    try {
      const size = (await fh.stat()).size;
      const offset = Math.min(range?.offset ?? 0, size);
      const length = Math.min(range?.length ?? size, size - offset);
      const out = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(out, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got === length ? out : out.subarray(0, got);
    } catch (err) {
      throw unavailable('read', path, err);
    } finally {
      await fh.close();
    }
  }

  async size(key: string): Promise<number | null> {
    const path = this.#path(key);
    try {
      return await regularFileSize(path);
    } catch (err) {
      if (err instanceof AofError) throw err;
      throw unavailable('stat', path, err);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    // Walk only the deepest directory the prefix names; filter the rest by string prefix.
    const cut = prefix.lastIndexOf('/');
    const base = cut < 0 ? '' : prefix.slice(0, cut);
    const start = base === '' ? this.#root : this.#path(base);
    const out: ObjectInfo[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw unavailable('list', dir, err);
        // A prefix with no directory yet is an empty listing; a store root that is not a
        // directory is a store that cannot work, and an empty root must not take it for an
        // empty bucket and start a new history (docs/architecture.md).
        await this.#checkRoot();
        return;
      }
      for (const entry of entries) {
        const key = keyPrefix + entry.name;
        if (entry.isDirectory()) {
          if (prefix.startsWith(key + '/') || (key + '/').startsWith(prefix)) await walk(join(dir, entry.name), key + '/');
        } else if (entry.isFile() && !entry.name.endsWith(TEMP_SUFFIX) && key.startsWith(prefix)) {
          const st = await stat(join(dir, entry.name), { bigint: true });
          // A put renames a new file into place: a new inode (and mtime) for every replacement.
          out.push({ key, size: Number(st.size), etag: `${st.ino}-${st.mtimeNs}` });
        }
      }
    };
    await walk(start, base === '' ? '' : base + '/');
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * Resolves when the store root is a directory or does not exist yet (the first put creates it).
   * @throws AOF_ERR_UNAVAILABLE (storeCode ENOTDIR) when it, or a parent, is something else
   */
  async #checkRoot(): Promise<void> {
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(this.#root)).isDirectory();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw unavailable('stat store root', this.#root, err);
    }
    if (!isDirectory) {
      const err: NodeJS.ErrnoException = new Error(`ENOTDIR: not a directory, scandir '${this.#root}'`);
      Object.assign(err, { code: 'ENOTDIR', syscall: 'scandir', path: this.#root });
      throw unavailable('list (store root is not a directory)', this.#root, err);
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    try {
      await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unavailable('delete', path, err);
    }
    await this.#removeStaleTemps(path); // a killed put of this key must not outlive the key
  }

  async close(): Promise<void> {
    // Nothing held between calls.
  }
}

/** For tests and tools: the file that holds `key` in a store rooted at `root`. */
export function fsObjectPath(root: string, key: string): string {
  return resolve(root, ...key.split('/'));
}
