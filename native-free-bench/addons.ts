/**
 * Which native addons the benchmark process has loaded, from any thread.
 *
 * Why two checks: the runner wraps `process.dlopen`, but a worker thread has its own `process`
 * object, so an addon loaded inside a piscina worker (the zstd binding in a Tier 1 compress
 * task) never passes through the main thread's wrapper. A shared library, though, is mapped into
 * the one address space every thread shares, so on Linux `/proc/self/maps` lists it whichever
 * thread loaded it. Where that file does not exist (macOS, Windows) only the wrapper's list is
 * available, and the report says so.
 */
import { readFileSync } from 'node:fs';

/** What the addon check could see: every thread, or the main thread only. */
export type AddonCheckScope = 'process (dlopen wrapper + /proc/self/maps)' | 'main thread only (dlopen wrapper; no /proc/self/maps)';

/**
 * Paths of the `.node` files mapped into this process (sorted, deduplicated), or null when
 * `/proc/self/maps` cannot be read on this platform.
 */
export function mappedAddons(): string[] | null {
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return null;
  }
  const out = new Set<string>();
  for (const line of maps.split('\n')) {
    // Fields: address perms offset dev inode pathname; the pathname is the rest of the line and
    // may contain spaces, so take everything from the first '/'.
    const slash = line.indexOf('/');
    if (slash < 0) continue;
    const path = line.slice(slash).trim();
    if (path.endsWith('.node')) out.add(path);
  }
  return [...out].sort();
}

/** Merges the wrapper's list with the mapped files; reports which scope the answer covers. */
export function loadedAddons(viaDlopen: readonly string[]): { addons: string[]; scope: AddonCheckScope } {
  const mapped = mappedAddons();
  if (mapped === null) return { addons: [...new Set(viaDlopen)].sort(), scope: 'main thread only (dlopen wrapper; no /proc/self/maps)' };
  return { addons: [...new Set([...viaDlopen, ...mapped])].sort(), scope: 'process (dlopen wrapper + /proc/self/maps)' };
}
