/**
 * Where everything lives: directory names under a root, file names in them, and the object keys
 * of Tier 2. The one place that spells them; every writer and every reader (the engine, the
 * workers, `aof2-admin`, the tests and the benchmarks) imports this module. It has no dependency
 * inside aof2 (only `node:path`), so the admin CLI and the workers can load it without the engine.
 *
 * Not to be confused with src/arena/layout.ts, which lays out the shared memory.
 *
 * ```
 * <root>/
 *   streams/<stream>/<baseId:20>.seg        raw segment (src/format/segment.ts)
 *   streams/<stream>/<baseId:20>.t1         Tier 1 file (src/format/tier1.ts)
 *   streams/<stream>/<name>.tmp             being written (compress worker), swept at open
 *   manifest/<chunkSeq:20>.mlog             manifest chunk (src/format/manifest.ts)
 *   manifest/<snapshotSeq:20>.snap          catalog snapshot (src/format/snapshot.ts)
 *   manifest/<name>.tmp                     a chunk or snapshot being created, removed at open
 *   manifest.restore/                       staging while the manifest is copied from Tier 2
 *   lock/<generation:20>                    root lock entries (src/root-lock.ts)
 *
 * Tier 2 keys (relative to the store's own prefix, `/`-separated on every backend):
 *   streams/<stream>/<baseId:20>.t1         the Tier 1 file, byte for byte
 *   manifest/<local manifest file name>     the manifest replica (chunks and snapshots)
 * ```
 * `<n:20>` is a non-negative safe integer zero-padded to 20 digits, the width of 2^64, so lexical
 * order is numeric order (a directory listing sorted as strings is sorted by id). Names are derived
 * from stream names and ids only, never from a process-local counter, so a restart, a retry or a
 * second machine computes the same name.
 */
import { join, sep } from 'node:path';

/** Directory of the stream directories, under the root; also the key prefix of segment objects. */
export const STREAMS_DIR = 'streams';
/** Directory of the manifest chunks and snapshots, under the root. */
export const MANIFEST_DIR = 'manifest';
/** Directory of the root lock's generation entries, under the root. */
export const LOCK_DIR = 'lock';
/** Suffix of the staging directory next to `manifest/` while it is restored from Tier 2. */
export const RESTORE_SUFFIX = '.restore';

/** Digits of every numbered file name: the width of 2^64 (ids are below 2^53, the width is kept for sorting). */
export const ID_DIGITS = 20;
export const SEGMENT_FILE_SUFFIX = '.seg';
export const TIER1_FILE_SUFFIX = '.t1';
export const CHUNK_FILE_SUFFIX = '.mlog';
export const SNAPSHOT_FILE_SUFFIX = '.snap';
/** Suffix of a file being written before its atomic rename (or a crash's orphan of one). */
export const TEMP_SUFFIX = '.tmp';

/** `n` zero-padded to {@link ID_DIGITS} digits: `00000000000000001234` for 1234. */
export function idName(n: number): string {
  return String(n).padStart(ID_DIGITS, '0');
}

/**
 * The number of a `<n:20><suffix>` name, or null for any other name (wrong width or suffix, a
 * non-digit, a temp file, or a number past 2^53 that no writer produces).
 */
export function parseIdName(name: string, suffix: string): number | null {
  if (name.length !== ID_DIGITS + suffix.length || !name.endsWith(suffix)) return null;
  const digits = name.slice(0, ID_DIGITS);
  if (!/^[0-9]+$/.test(digits)) return null;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : null;
}

/** `00000000000000001234.seg` for base id 1234. */
export function segmentFileName(baseId: number): string {
  return idName(baseId) + SEGMENT_FILE_SUFFIX;
}

/** Base id encoded in a segment file name, or null if the name is not a segment file. */
export function parseSegmentFileName(name: string): number | null {
  return parseIdName(name, SEGMENT_FILE_SUFFIX);
}

/** `00000000000000001234.t1` for base id 1234 (same width as segment files, so names sort by id). */
export function tier1FileName(baseId: number): string {
  return idName(baseId) + TIER1_FILE_SUFFIX;
}

/** Base id encoded in a Tier 1 file name, or null if the name is not one (temp files included). */
export function parseTier1FileName(name: string): number | null {
  return parseIdName(name, TIER1_FILE_SUFFIX);
}

/** `00000000000000000007.mlog` for chunk 7. */
export function chunkFileName(seq: number): string {
  return idName(seq) + CHUNK_FILE_SUFFIX;
}

/** The chunk sequence number a file name stands for, or null for any other name. */
export function parseChunkFileName(name: string): number | null {
  return parseIdName(name, CHUNK_FILE_SUFFIX);
}

/** `00000000000000000003.snap` for snapshot 3. */
export function snapshotFileName(seq: number): string {
  return idName(seq) + SNAPSHOT_FILE_SUFFIX;
}

/** The snapshot sequence number a file name stands for, or null for any other name. */
export function parseSnapshotFileName(name: string): number | null {
  return parseIdName(name, SNAPSHOT_FILE_SUFFIX);
}

/** Name of lock generation `n` (no suffix: the directory holds nothing else but temp entries). */
export function lockEntryName(n: number): string {
  return idName(n);
}

/** Whether `name` is a lock generation entry (20 digits, nothing else). */
export function isLockEntryName(name: string): boolean {
  return name.length === ID_DIGITS && /^[0-9]+$/.test(name);
}

/** Whether `name` is a file being written (or the orphan of one a crash left). */
export function isTempName(name: string): boolean {
  return name.endsWith(TEMP_SUFFIX);
}

/** The temp path a file is written to before its atomic rename onto `path`. */
export function tempPath(path: string): string {
  return path + TEMP_SUFFIX;
}

/** `<root>/streams/<stream>`. */
export function streamDir(root: string, stream: string): string {
  return join(root, STREAMS_DIR, stream);
}

/** `<root>/manifest`. */
export function manifestDir(root: string): string {
  return join(root, MANIFEST_DIR);
}

/** The last directory {@link fileIn} was asked about, and what `join` puts before a name in it. */
let lastDir: string | null = null;
let lastPrefix = '';

/**
 * `join(dir, name)` for a plain file name (no separator, not `.` or `..`): the directory is
 * normalized once per distinct `dir`, not once per name. Recovery builds two paths per segment,
 * and `join` normalizes its whole input each time (1-4 µs here): with 4,096 segments (16 GiB of
 * history) that was the largest cost of an open left once no segment file is read.
 */
function fileIn(dir: string, name: string): string {
  if (dir !== lastDir) {
    const normalized = join(dir, '.');
    lastPrefix = normalized === '.' ? '' : normalized.endsWith(sep) ? normalized : normalized + sep;
    lastDir = dir;
  }
  return lastPrefix + name;
}

/** Path of the raw segment file starting at `baseId` in stream directory `dir`. */
export function segmentPath(dir: string, baseId: number): string {
  return fileIn(dir, segmentFileName(baseId));
}

/** Path of the Tier 1 file of the segment starting at `baseId` in stream directory `dir`. */
export function tier1Path(dir: string, baseId: number): string {
  return fileIn(dir, tier1FileName(baseId));
}

/** Key prefix of the replicated manifest (chunks and snapshots keep their local file names). */
export const MANIFEST_PREFIX = `${MANIFEST_DIR}/`;

/** Key prefix of every segment object of `stream`. */
export function streamPrefix(stream: string): string {
  return `${STREAMS_DIR}/${stream}/`;
}

/** Key of the Tier 1 object of segment `baseId` of `stream`. */
export function segmentKey(stream: string, baseId: number): string {
  return streamPrefix(stream) + tier1FileName(baseId);
}

/**
 * A stream name as src/stream-name.ts admits it (checked there, with its own error); repeated here
 * only as the key parser's character class, so a key with any other name is not ours.
 */
const KEY_PATTERN = new RegExp(`^${STREAMS_DIR}/([A-Za-z0-9._-]{1,128})/([^/]+)$`);

/** Parses a segment key back into stream and base id; null for any other key. */
export function parseSegmentKey(key: string): { stream: string; baseId: number } | null {
  const m = KEY_PATTERN.exec(key);
  if (m === null) return null;
  const baseId = parseTier1FileName(m[2]!);
  return baseId === null ? null : { stream: m[1]!, baseId };
}

/** Whether a manifest object's name (the key less {@link MANIFEST_PREFIX}) is a chunk or a snapshot to replicate. */
export function isManifestObjectName(name: string): boolean {
  return name.endsWith(CHUNK_FILE_SUFFIX) || name.endsWith(SNAPSHOT_FILE_SUFFIX);
}
