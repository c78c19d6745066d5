/**
 * How a read-only manager reads what the writer added to its files at each refresh: synchronous
 * reads on the main thread, or reads through the libuv pool.
 *
 * A refresh at the tail reads a 64-byte header and the bytes the writer added since the last one
 * (about a KiB at 10,000 records/s of 100 B): from the page cache, a few microseconds. The pool's
 * round trip for the same two reads cost ~40 µs here, most of a refresh and the largest part of
 * what a follower in another process waited after the writer's write (docs/performance.md, "A
 * read-only follower at the tail"). So on a local file system these reads are synchronous, the
 * first piece capped at {@link SYNC_READ_BYTES} (a larger backlog, as at open, reads its rest
 * through the pool), and so is the `fstat` a refresh sometimes needs. On a network or FUSE file
 * system a read may wait for a server, or hang with it: there they stay asynchronous, so the event
 * loop never waits on a network. `readOnly.syncTailReads` overrides the choice.
 */
import { statfs } from 'node:fs/promises';

/** The most a synchronous read of a refresh brings: a longer backlog reads its rest through the pool. */
export const SYNC_READ_BYTES = 256 * 1024;

/**
 * Linux `statfs` f_type magic numbers of file systems whose reads may wait on a network or on
 * another process (linux/magic.h and the file systems' own headers).
 */
const REMOTE_FILE_SYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x6969, 'nfs'],
  [0x517b, 'smb'],
  [0xff534d42, 'cifs'],
  [0xfe534d42, 'smb2'],
  [0x65735546, 'fuse'],
  [0x01021997, '9p'],
  [0x00c36400, 'ceph'],
  [0x5346414f, 'afs'],
  [0x6b414653, 'afs'],
  [0x73757245, 'coda'],
  [0x0bd00bd0, 'lustre'],
  [0x01161970, 'gfs2'],
  [0x7461636f, 'ocfs2'],
  [0x564c, 'ncp'],
]);

/** The name of a remote file system of this `statfs` type, or null for any other (a local one). */
export function remoteFileSystemName(type: number): string | null {
  return REMOTE_FILE_SYSTEMS.get(type >>> 0) ?? null;
}

/**
 * Whether a read-only manager of `root` reads its tail synchronously: `option` when given,
 * else true on Linux when `root` is on a local file system. Anything that cannot be told (another
 * platform, whose `statfs` types differ; a failed `statfs`) keeps the reads asynchronous.
 */
export async function syncTailReads(root: string, option: boolean | null): Promise<boolean> {
  if (option !== null) return option;
  if (process.platform !== 'linux') return false;
  try {
    return remoteFileSystemName((await statfs(root)).type) === null;
  } catch {
    return false;
  }
}
