/**
 * The one way aof2 replaces a whole file durably: write a temp file beside it, fdatasync, rename
 * over the target, fsync the directory. A crash leaves the old file or the new one (plus at worst
 * the temp file, which each caller's startup sweep or next write removes), never a prefix.
 * Used for Tier 2 objects in a local directory, restored manifest files and re-cached Tier 1 files;
 * the manifest log and the compress worker use the same steps with their own file handling.
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { OpenMode, openFile } from './safe-fs.js';
import { tempPath } from './format/root-layout.js';

/** Writes all of `bytes` at `position` (POSIX allows short writes; this loops until done). */
export async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** fsync of a directory, so a rename or a new file in it survives a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` with `bytes` atomically and durably through `tmp` (default `<path>.tmp`; pass a
 * unique name when several writers may target one path). The temp file is removed on failure.
 * @throws the fs error as is (callers map it to their own code)
 */
export async function writeFileAtomically(path: string, bytes: Uint8Array, tmp = tempPath(path)): Promise<void> {
  try {
    // Never through a link planted under the temp name (the rename then replaces a link at
    // `path` itself, never its target).
    const handle = await openFile(tmp, OpenMode.REPLACE);
    try {
      await writeFully(handle, bytes, 0);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dirname(path));
}
