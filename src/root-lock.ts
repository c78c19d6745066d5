/**
 * One manager per root. The lock is a file created with O_EXCL holding the owner's pid. A lock
 * left by a dead process (kill -9) is taken over; a live owner — another process, or another
 * manager in this process — gets AOF_ERR_LOCKED.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AofError, ErrorCode } from './errors.js';

export const LOCK_FILE = 'LOCK';

/** Roots locked by this process (a pid check alone cannot tell two managers of one process apart). */
const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class RootLock {
  readonly #path: string;
  readonly #key: string;
  #released = false;

  private constructor(path: string, key: string) {
    this.#path = path;
    this.#key = key;
  }

  /** @throws AOF_ERR_LOCKED when held by a live owner, AOF_ERR_IO on file-system failure */
  static acquire(root: string): RootLock {
    const key = resolve(root);
    const path = join(root, LOCK_FILE);
    if (heldHere.has(key)) throw lockedError(root, process.pid);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        heldHere.add(key);
        return new RootLock(path, key);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw AofError.io('create lock file', path, err);
      }
      const owner = readOwner(path);
      if (owner !== null && owner !== process.pid && isAlive(owner)) throw lockedError(root, owner);
      // Stale (owner dead, or a half-written lock): remove and retry once.
      try {
        unlinkSync(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw AofError.io('remove stale lock', path, err);
      }
    }
    throw lockedError(root, readOwner(path));
  }

  /** Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    heldHere.delete(this.#key);
    try {
      unlinkSync(this.#path);
    } catch {
      // already gone: nothing to release
    }
  }
}

function readOwner(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function lockedError(root: string, owner: number | null): AofError {
  return new AofError(ErrorCode.LOCKED, `root ${root} is locked by ${owner === null ? 'another manager' : `process ${owner}`}`, {
    details: { root, owner },
  });
}
