/**
 * The check that a path is an aof2 root. The directory names come from src/format/root-layout.ts,
 * which depends on nothing, so the offline commands still do not load the engine (its workers and
 * pools).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_DIR, STREAMS_DIR } from '../../format/root-layout.js';
import { AdminExit, ExitCode } from './exit-codes.js';

/**
 * Fails with exit code 4 unless `root` is a directory holding `streams/` or `manifest/`: a typo
 * must not be reported as an empty, healthy root.
 */
export async function checkRoot(root: string): Promise<void> {
  let isDir = false;
  try {
    isDir = (await stat(root)).isDirectory();
  } catch {
    throw new AdminExit(ExitCode.UNAVAILABLE, `root ${root} does not exist or cannot be read`);
  }
  if (!isDir) throw new AdminExit(ExitCode.UNAVAILABLE, `root ${root} is not a directory`);
  for (const dir of [STREAMS_DIR, MANIFEST_DIR]) {
    try {
      if ((await stat(join(root, dir))).isDirectory()) return;
    } catch {
      // try the other one
    }
  }
  throw new AdminExit(ExitCode.UNAVAILABLE, `${root} is not an aof2 root (no ${STREAMS_DIR}/ or ${MANIFEST_DIR}/ directory)`);
}
