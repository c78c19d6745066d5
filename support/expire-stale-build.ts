/**
 * Build step (`npm run build`): deletes a TypeScript build info file when a source file it lists
 * changed after it was written, so the next `tsc --build` rebuilds that project.
 *
 *   node dist/support/expire-stale-build.js dist/tsconfig.flush-worker.tsbuildinfo
 *
 * Why: `tsc --build` decides a project is up to date by comparing only its root files (what
 * `include` matches) with the build info. tsconfig.flush-worker.json's only root is
 * workers/flush.ts; the ~30 files it imports (src/format/, src/arena/...) are compiled into
 * dist/cjs/ too but never compared, so an edit to one of them would leave the CommonJS flush
 * worker stale. The build info lists every file the last build read (`fileNames`, relative to the
 * build info's directory); if one of them, outside node_modules, is newer than the build info or
 * gone, the build info goes and tsc rebuilds the project. tsconfig.json needs no such step: its
 * `include` covers every source file it compiles.
 *
 * An unreadable build info (a TypeScript version that writes another shape) is deleted too:
 * rebuilding is always safe, only slower.
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';

const buildInfo = process.argv[2];
if (buildInfo === undefined) {
  process.stderr.write('usage: node dist/support/expire-stale-build.js <tsbuildinfo>\n');
  process.exit(2);
}

/** True when a source file the build info lists is newer than it or gone, or it cannot be read. */
function isStale(path: string): boolean {
  let builtAt: number;
  try {
    builtAt = statSync(path).mtimeMs;
  } catch {
    return false; // no build info yet: tsc builds the project anyway
  }
  let fileNames: unknown;
  try {
    fileNames = (JSON.parse(readFileSync(path, 'utf8')) as { fileNames?: unknown }).fileNames;
  } catch {
    return true;
  }
  if (!Array.isArray(fileNames)) return true;
  for (const name of fileNames) {
    if (typeof name !== 'string') return true;
    const source = resolve(dirname(path), name);
    if (source.split(sep).includes('node_modules')) continue;
    try {
      if (statSync(source).mtimeMs > builtAt) return true;
    } catch {
      return true;
    }
  }
  return false;
}

if (isStale(buildInfo)) rmSync(buildInfo, { force: true });
