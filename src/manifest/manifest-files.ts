/**
 * Reading a manifest directory's files for {@link replayManifest} without changing anything: the
 * chunks and snapshots read whole (never through a link: safe-fs.ts), the temp files only named.
 * Shared by `aof2-admin` (which prints what the next open would do) and the read-only manager
 * (which follows a manifest another process writes); the writer's `ManifestLog.open` reads the
 * same files and then repairs them.
 */
import { join } from 'node:path';
import { isTempName, parseChunkFileName, parseSnapshotFileName } from '../format/root-layout.js';
import { listFiles, readRegularFile } from '../safe-fs.js';
import type { ManifestFile, ManifestFiles } from './replay.js';

/** A name the manifest reads, repairs or removes: a chunk, a snapshot or a temp file. */
export function isManifestName(name: string): boolean {
  return isTempName(name) || parseChunkFileName(name) !== null || parseSnapshotFileName(name) !== null;
}

/**
 * The manifest's file names in `dir`, sorted (regular files only: a link named like a manifest
 * file is refused).
 * @throws AOF_ERR_UNSAFE_PATH; the fs error as is (ENOENT when there is no such directory)
 */
export async function listManifestNames(dir: string): Promise<string[]> {
  return (await listFiles(dir, isManifestName)).filter(isManifestName).sort();
}

/**
 * Reads the chunks and snapshots among `names` (files of `dir`), labelling each with `label(name)`
 * (what replay's problems and repairs call it). Temp files are listed, not read.
 * @throws AOF_ERR_UNSAFE_PATH; the fs error as is (ENOENT for a file removed since it was listed)
 */
export async function readManifestFiles(dir: string, names: readonly string[], label: (name: string) => string): Promise<ManifestFiles> {
  const chunks: ManifestFile[] = [];
  const snapshots: ManifestFile[] = [];
  const tempFiles: string[] = [];
  for (const name of names) {
    if (isTempName(name)) {
      tempFiles.push(label(name));
      continue;
    }
    const c = parseChunkFileName(name);
    const seq = c ?? parseSnapshotFileName(name);
    if (seq === null) continue;
    const bytes = await readRegularFile(join(dir, name));
    (c !== null ? chunks : snapshots).push({ seq, file: label(name), bytes });
  }
  return { chunks, snapshots, tempFiles };
}
