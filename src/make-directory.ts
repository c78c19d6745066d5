/**
 * `mkdir -p` that reports why it failed.
 *
 * Node's `mkdir(path, { recursive: true })` (Node 20) turns a failure it does not list (EROFS,
 * EIO, ELOOP...) into a `stat` of the path, and reports that stat's error instead: on a read-only
 * file system, creating `root/streams` fails with ENOENT, "no such file or directory", which sends
 * an operator looking for a missing path rather than at the mount. So on ENOENT this walks up to
 * the deepest ancestor that exists and creates each missing level with a plain, non-recursive
 * mkdir, whose error is the kernel's own (EROFS, EACCES, ENOSPC...).
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Creates `path` and any missing parents. Resolves when the directory exists.
 * @throws the Node fs error of the level that could not be created (its `code` is the real errno)
 */
export async function makeDirectory(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await createLevelByLevel(path);
  }
}

async function createLevelByLevel(path: string): Promise<void> {
  const missing: string[] = [];
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      await stat(dir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    missing.push(dir);
    if (dirname(dir) === dir) break; // the file-system root itself is missing: let mkdir say why
  }
  for (const dir of missing.reverse()) {
    try {
      await mkdir(dir);
    } catch (err) {
      // Another process or thread created it between the stat and here: that is success.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
