/** Where the source tree is, seen from compiled code under dist/: the package root and the fixtures. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root (the directory holding package.json), found by walking up from this module.
 * Tests run compiled from dist/test/..., while fixtures and docs live in the source tree, so
 * paths are resolved from here rather than from the working directory.
 */
export const PACKAGE_ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package root not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
})();

/** Directory of the checked-in golden fixture files (test/fixtures in the source tree). */
export const FIXTURES_DIR = join(PACKAGE_ROOT, 'test', 'fixtures');
