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
import { closeSync, constants, fstatSync, lstatSync, openSync, type Dirent, type Stats } from 'node:fs';
import { lstat, open, readdir, type FileHandle } from 'node:fs/promises';
import { makeDirectory } from './make-directory.js';
import { join } from 'node:path';
import { AofError, ErrorCode } from './errors.js';

const { O_RDONLY, O_RDWR, O_WRONLY, O_CREAT, O_EXCL, O_TRUNC, O_NOFOLLOW, O_NONBLOCK } = constants;

/** How a file under the root is opened (O_NOFOLLOW and O_NONBLOCK are always added). */
export const OpenMode = {
  /** An existing file, read only. */
  READ: O_RDONLY,
  /**
   * An existing file, read and written in place: recovery's repairs, and the flush worker reopening
   * a segment whose fd its open-file budget closed (never created: a missing file is an error).
   */
  UPDATE: O_RDWR,
  /** A new file that must not exist yet (a segment): anything already there is refused. */
  CREATE: O_WRONLY | O_CREAT | O_EXCL,
  /** A temp file, created or emptied (a retry replaces what an earlier attempt left). */
  REPLACE: O_WRONLY | O_CREAT | O_TRUNC,
  /** As REPLACE, also readable (`'w+'`: the manifest's next chunk under its temp name). */
  REPLACE_READ: O_RDWR | O_CREAT | O_TRUNC,
} as const;

export type OpenModeValue = (typeof OpenMode)[keyof typeof OpenMode];

/** What an entry is, in the words of the error details. */
export type FoundKind = 'symlink' | 'directory' | 'regular file' | 'fifo' | 'socket' | 'character device' | 'block device' | 'unknown';

export function kindOf(s: Stats | Dirent): FoundKind {
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isDirectory()) return 'directory';
  if (s.isFile()) return 'regular file';
  if (s.isFIFO()) return 'fifo';
  if (s.isSocket()) return 'socket';
  if (s.isCharacterDevice()) return 'character device';
  if (s.isBlockDevice()) return 'block device';
  return 'unknown';
}

/**
 * The refusal: `found` says what is at `path`, `expected` what aof2 needs there.
 * AOF_ERR_UNSAFE_PATH, see docs/errors.md.
 */
export function unsafePath(path: string, found: FoundKind, expected: 'regular file' | 'new file' | 'directory'): AofError {
  const what = found === 'symlink' ? 'a symlink' : found === 'regular file' ? 'an existing regular file' : `a ${found}`;
  const rule =
    expected === 'new file'
      ? 'aof2 creates this file itself and never writes into an existing entry'
      : `aof2 expects a ${expected} here and never reads or writes through a link`;
  return new AofError(ErrorCode.UNSAFE_PATH, `${path} is ${what}: ${rule}`, { details: { path, found, expected } });
}

/** What lies at `path` without following a link; null if nothing (or it cannot be looked at). */
function lookSync(path: string): FoundKind | null {
  try {
    return kindOf(lstatSync(path));
  } catch {
    return null;
  }
}

/**
 * The coded refusal for an open that failed because of what is at `path` (a link: ELOOP; a FIFO
 * opened for writing with no reader: ENXIO; a directory opened for writing: EISDIR; an existing
 * entry under CREATE: EEXIST), or null for any other failure (the caller's own error mapping).
 */
function refusalOf(err: unknown, path: string, mode: OpenModeValue): AofError | null {
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  if (errno !== 'ELOOP' && errno !== 'ENXIO' && errno !== 'EISDIR' && errno !== 'EEXIST') return null;
  const found = lookSync(path) ?? (errno === 'ELOOP' ? 'symlink' : 'unknown');
  return unsafePath(path, found, mode === OpenMode.CREATE ? 'new file' : 'regular file');
}

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

/** Synchronous twin of {@link openFile}, for the worker threads; returns a file descriptor. */
export function openFileSync(path: string, mode: OpenModeValue): number {
  let fd: number;
  try {
    fd = openSync(path, mode | O_NOFOLLOW | O_NONBLOCK, 0o666);
  } catch (err) {
    throw refusalOf(err, path, mode) ?? err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw unsafePath(path, kindOf(st), 'regular file');
    return fd;
  } catch (err) {
    closeSync(fd);
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
