/**
 * The synchronous half of the rule of src/safe-fs.ts (read its module comment first): the open
 * modes, the coded refusal (AOF_ERR_UNSAFE_PATH) and `openFileSync` for the worker threads.
 *
 * A module of its own so that a worker thread loads neither `node:fs/promises` nor the directory
 * helpers: the flush worker's modules are loaded on the path to the first append after `open()`,
 * and those two cost it ~6 ms of its start on the project's VMs (docs/decisions.md, "The flush
 * worker starts sooner"). src/safe-fs.ts builds its asynchronous opens on this and re-exports it.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, type Dirent, type Stats } from 'node:fs';
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
export function refusalOf(err: unknown, path: string, mode: OpenModeValue): AofError | null {
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  if (errno !== 'ELOOP' && errno !== 'ENXIO' && errno !== 'EISDIR' && errno !== 'EEXIST') return null;
  const found = lookSync(path) ?? (errno === 'ELOOP' ? 'symlink' : 'unknown');
  return unsafePath(path, found, mode === OpenMode.CREATE ? 'new file' : 'regular file');
}

/**
 * Synchronous twin of `openFile` (src/safe-fs.ts), for the worker threads; returns a file descriptor.
 * @throws AOF_ERR_UNSAFE_PATH if `path` is a link or not a regular file, or (CREATE) exists
 * @throws the fs error as is for any other failure (ENOENT, EACCES, ENOSPC): callers map it
 */
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
