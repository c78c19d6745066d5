/**
 * The default of `tier0.maxOpenFiles` (the flush worker's open-file budget), derived from the
 * process's file-descriptor limit rather than fixed, so a tight limit does not meet EMFILE at the
 * default and a generous one does not reopen files for nothing (docs/decisions.md, "The open-file
 * budget follows the fd limit").
 *
 * Node raises the soft RLIMIT_NOFILE to the hard one when it starts, so the soft limit read here is
 * the limit the process really has. On Linux it is read from /proc/self/limits (Node has no
 * getrlimit); elsewhere, or when that file cannot be read or parsed, the fixed fallback applies.
 */
import { readFileSync } from 'node:fs';
import { MAX_OPEN_SEGMENTS } from './arena/layout.js';

/** The budget when the limit is unknown (not Linux, /proc unreadable): a quarter of a 4096 limit. */
export const FALLBACK_MAX_OPEN_FILES = 1024;
/**
 * The budget takes this share of the limit. Not a half: two managers in one process (each with
 * the default) and the application's own descriptors must still fit, as in native-codec-bench's
 * many-streams case (two managers of 10,000 streams at `ulimit -n` 20000). A 4096 limit, the
 * lowest in common use, gives the fixed default of before (1024).
 */
const LIMIT_SHARE = 4;
/** Never above the segment table's size (65,536 open segments): a larger budget could never be used. */
const CEILING = MAX_OPEN_SEGMENTS;
/** Never below this, however tight the limit: below it a few streams would reopen files all the time. */
const FLOOR = 16;

/**
 * The soft "Max open files" limit in the text of /proc/<pid>/limits: a number, Infinity for
 * "unlimited", or null when the line is missing or malformed.
 *
 *   Limit                     Soft Limit           Hard Limit           Units
 *   Max open files            1024                 4096                 files
 */
export function parseSoftFdLimit(limits: string): number | null {
  const line = /^Max open files[ \t]+(\S+)[ \t]+\S+[ \t]+files[ \t]*$/m.exec(limits);
  if (line === null) return null;
  const soft = line[1]!;
  if (soft === 'unlimited') return Number.POSITIVE_INFINITY;
  if (!/^\d+$/.test(soft)) return null;
  const value = Number(soft);
  return Number.isSafeInteger(value) && value > 0 ? value : null;
}

/** The process's soft fd limit on Linux; null elsewhere or when it cannot be read. */
export function softFdLimit(): number | null {
  if (process.platform !== 'linux') return null;
  try {
    return parseSoftFdLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return null;
  }
}

/**
 * The default budget for a soft fd limit (null: unknown): a quarter of it, between FLOOR and
 * CEILING. 1024 → 256, 4096 → 1024, 20000 → 5000, 524288 (systemd's default hard limit) → 65536.
 */
export function maxOpenFilesFor(softLimit: number | null): number {
  if (softLimit === null) return FALLBACK_MAX_OPEN_FILES;
  return Math.min(CEILING, Math.max(FLOOR, Math.floor(softLimit / LIMIT_SHARE)));
}
