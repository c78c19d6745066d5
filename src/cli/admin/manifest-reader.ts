/**
 * Reads a root's manifest without opening it for writing: every chunk and snapshot is read and
 * handed to src/manifest/replay.ts `replayManifest`, the same pure replay the engine runs at open,
 * so the catalog, the problems and the repairs printed here are exactly what the next open would
 * see and do. Nothing is trimmed, repaired or removed: that is what lets the offline commands
 * (dump, segments list, manifest inspect, verify) run beside a live engine, and on a damaged root
 * without changing the evidence.
 */
import { join } from 'node:path';
import { MANIFEST_DIR } from '../../format/root-layout.js';
import type { Catalog } from '../../manifest/catalog.js';
import { listManifestNames, readManifestFiles } from '../../manifest/manifest-files.js';
import { replayManifest, type ChunkReport, type SnapshotReport } from '../../manifest/replay.js';
import { isRealDirectory } from '../../safe-fs.js';
import { AofError, ErrorCode } from '../../errors.js';
import type { Problem } from './problem.js';

export { RECORD_TYPE_NAMES, type ChunkReport, type SnapshotReport } from '../../manifest/replay.js';

/** A change the next open would make to a manifest file (printed, never made by aof2-admin). */
export interface PendingRepair {
  kind: 'truncate' | 'rebuild-header' | 'remove';
  /** Path relative to the root. */
  file: string;
  /** New length of the file (truncate, rebuild-header), or null. */
  truncateTo: number | null;
  reason: string;
}

export interface ManifestReading {
  chunks: ChunkReport[];
  snapshots: SnapshotReport[];
  /** Leftover `*.tmp` files (a crash while creating a chunk or snapshot), relative paths. */
  tempFiles: string[];
  catalog: Catalog;
  replay: {
    /** Snapshot replay started from, or null. */
    snapshotSeq: number | null;
    /** Chunks replayed (at or after the snapshot's watermark). */
    chunks: number;
    /** Records applied after the watermark (SNAPSHOT markers and orphans included). */
    records: number;
    /** Records about segments the catalog did not hold. */
    orphans: number;
  };
  /** Every corruption found (snapshots, then chunks in sequence order), as the engine counts it. */
  problems: Problem[];
  /** What the next open would change (torn tails cut, damaged headers rebuilt, temp files removed). */
  repairs: PendingRepair[];
}

/** The manifest's file names; none on a root that never sealed a segment (no manifest directory). */
async function listManifest(root: string): Promise<string[]> {
  try {
    if (!(await isRealDirectory(join(root, MANIFEST_DIR)))) return [];
    // Regular files only: the engine refuses a link in its manifest directory (safe-fs.ts), so do we.
    return await listManifestNames(join(root, MANIFEST_DIR));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Reads every manifest file of `root` and replays it (read-only; see the file comment).
 * @throws AOF_ERR_INCOMPATIBLE (a file written by a newer aof2); AOF_ERR_UNSAFE_PATH (a link);
 *   fs errors when a file cannot be read (the caller maps them to exit 4)
 */
export async function readManifest(root: string): Promise<ManifestReading> {
  const names = await listManifest(root);
  const files = await readManifestFiles(join(root, MANIFEST_DIR), names, (name) => `${MANIFEST_DIR}/${name}`);
  const { chunks, snapshots, tempFiles } = files;
  let result;
  try {
    result = replayManifest({ chunks, snapshots, tempFiles }, { now: 0 });
  } catch (err) {
    // The replay already names the file; say which tool to upgrade (exit 4, not "corrupt").
    if (err instanceof AofError && err.code === ErrorCode.INCOMPATIBLE) {
      throw new AofError(err.code, `${err.message}; use a newer aof2-admin`, { cause: err, details: { ...err.details } });
    }
    throw err;
  }
  return {
    chunks: result.chunks,
    snapshots: result.snapshots,
    tempFiles: [...tempFiles],
    catalog: result.catalog,
    replay: { snapshotSeq: result.counts.snapshotSeq, chunks: result.counts.chunkCount, records: result.counts.recordsReplayed, orphans: result.counts.orphanRecords },
    problems: result.problems,
    repairs: result.repairs.map((r) =>
      r.kind === 'remove'
        ? { kind: 'remove', file: r.file, truncateTo: null, reason: r.reason }
        : { kind: r.header === null ? 'truncate' : 'rebuild-header', file: r.file, truncateTo: r.truncateTo, reason: r.reason },
    ),
  };
}
