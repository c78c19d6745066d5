/**
 * A real small or read-only file system for the ENOSPC / EROFS tests: a tmpfs mounted on a fresh
 * temp directory (needs root or CAP_SYS_ADMIN; the test is skipped with the reason otherwise),
 * unmounted and removed when the test ends.
 */
import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { tempRoot } from './tmp.js';

/** Mounts a tmpfs with `options` (e.g. `size=2m`, `ro,size=1m`); null (test skipped) where mount is refused. */
export function mountTmpfs(t: TestContext, options: string): string | null {
  const { root: mnt, cleanup } = tempRoot('aof2-mnt-');
  let mounted = false;
  // One hook, in this order: the mount point can only be removed once unmounted.
  t.after(() => {
    if (mounted) execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
    cleanup();
  });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', mnt], { stdio: 'ignore' });
    mounted = true;
  } catch (err) {
    t.skip(`cannot mount a tmpfs here: ${(err as Error).message}`);
    return null;
  }
  return mnt;
}
