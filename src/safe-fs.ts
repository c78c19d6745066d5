/**
 * The one rule for touching files under the root: never through a symbolic link, and never a
 * file of the wrong type. An engine that truncates, rewrites and deletes files must only modify
 * files that are really inside its root; a segment, Tier 1 file, manifest chunk or snapshot that
 * is a link (planted, or left by a careless copy) would otherwise let recovery rewrite a file
 * anywhere the process can write.
 *
 * - Files are opened with O_NOFOLLOW (a link as the last component fails with ELOOP) and checked
 *   with fstat on the open descriptor: anything but a regular file is refused. O_NONBLOCK keeps a
 *   planted FIFO from blocking the open forever (it has no effect on regular files).
 * - New files that must not exist yet (a segment the flush worker creates) add O_CREAT|O_EXCL:
 *   an existing entry of any kind, a dangling link included, is refused instead of truncated.
 *   Temp files add O_CREAT|O_TRUNC instead, so a retry replaces its own leftover, but never
 *   through a link.
 * - Directories (the streams and manifest directories, each stream's directory) are lstat-ed
 *   when they are first used: O_NOFOLLOW protects only the last component of a path.
 * - Listings refuse an entry named like one of aof2's files that is not a regular file.
 *
 * Every refusal is AOF_ERR_UNSAFE_PATH with `details: { path, found, expected }`, never
 * AOF_ERR_CORRUPT: the engine acts on corruption (trims a torn tail, removes a headerless file,
 * refetches from Tier 2), and it must not act on a link.
 *
 * Out of scope (docs/formats.md): the root itself may be a link (the manager resolves it once at
 * open); a directory swapped for a link after it was checked, by someone with write access to
 * the root, is not detected (that needs openat/O_BENEATH, which Node does not offer); hard links
 * are regular files and cannot be told from the original.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, type FileHandle } from 'node:fs/promises';
import { makeDirectory } from './make-directory.js';
import { join } from 'node:path';
import { OpenMode, kindOf, refusalOf, unsafePath, type OpenModeValue } from './safe-fs-sync.js';

// The open modes, the refusal and the synchronous open are in src/safe-fs-sync.ts (so a worker
// thread can have them without node:fs/promises); every caller on the main thread finds them here.
export { OpenMode, kindOf, openFileSync, unsafePath, type FoundKind, type OpenModeValue } from './safe-fs-sync.js';

const { O_NOFOLLOW, O_NONBLOCK } = constants;

/**
 * Opens a file under the root without following a link (see the module comment).
 * @throws AOF_ERR_UNSAFE_PATH if `path` is a link or not a regular file, or (CREATE) exists
 * @throws the fs error as is for any other failure (ENOENT, EACCES, ENOSPC): callers map it
 */
export async function openFile(path: string, mode: OpenModeValue): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, mode | O_NOFOLLOW | O_NONBLOCK, 0o666);
  } catch (err) {
    throw refusalOf(err, path, mode) ?? err;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw unsafePath(path, kindOf(st), 'regular file');
    return handle;
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The whole content of a regular file, read without following a link (a fresh buffer).
 * @throws as {@link openFile}
 */
export async function readRegularFile(path: string): Promise<Uint8Array> {
  const handle = await openFile(path, OpenMode.READ);
  try {
    // One size, then reads until EOF: a file that grows meanwhile is read up to the size seen.
    const size = (await handle.stat()).size;
    const out = new Uint8Array(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await handle.read(out, got, size - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === size ? out : out.subarray(0, got);
  } finally {
    await handle.close();
  }
}

/**
 * Size of a regular file, looked at without following a link; null if there is none.
 * @throws AOF_ERR_UNSAFE_PATH if `path` is a link or not a regular file; other fs errors as is
 */
export async function regularFileSize(path: string): Promise<number | null> {
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (!st.isFile()) throw unsafePath(path, kindOf(st), 'regular file');
  return st.size;
}

/**
 * Whether a real directory is at `path` (false: nothing is there). For readers that must not list
 * through a link either (the admin CLI).
 * @throws AOF_ERR_UNSAFE_PATH if `path` is a link (even to a directory) or not a directory
 * @throws the fs error as is for any other failure
 */
export async function isRealDirectory(path: string): Promise<boolean> {
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (!st.isDirectory()) throw unsafePath(path, kindOf(st), 'directory');
  return true;
}

/**
 * Makes sure `path` is a real directory, creating it (and missing parents) if absent. Called when
 * a directory is first used, not per operation: see the module comment for the race it leaves.
 * @throws AOF_ERR_UNSAFE_PATH if `path` is a link (even to a directory) or not a directory
 * @throws the fs error as is for any other failure
 */
export async function ensureDirectory(path: string): Promise<void> {
  if (await isRealDirectory(path)) return;
  await makeDirectory(path);
  // Re-checked: something else may have won the race to create it.
  await isRealDirectory(path);
}

/**
 * Names of the entries of `dir` (in readdir order). An entry for which `isOurs(name)` holds, a
 * name aof2 reads, rewrites or removes, must be a regular file; entries aof2 ignores are not checked.
 * @throws AOF_ERR_UNSAFE_PATH for the first such entry that is a link or not a regular file
 * @throws the fs error as is if `dir` cannot be listed
 */
export async function listFiles(dir: string, isOurs: (name: string) => boolean): Promise<string[]> {
  const names: string[] = [];
  // withFileTypes reports what the entry itself is (d_type, or an lstat where the file system
  // gives none): a link to a regular file is a link here.
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (isOurs(entry.name) && !entry.isFile()) throw unsafePath(join(dir, entry.name), kindOf(entry), 'regular file');
    names.push(entry.name);
  }
  return names;
}
