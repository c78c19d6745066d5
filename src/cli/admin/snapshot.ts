/**
 * `aof2-admin snapshot list|create|prune <root>`.
 *
 * - list: the snapshot files and what each covers (offline, read-only).
 * - create: writes a catalog snapshot now, so the next open replays only what follows it (the
 *   fix for a slow replay alert). Takes the root lock and opens the manifest log itself: opening
 *   replays and repairs the manifest exactly as the engine's open would.
 * - prune: keeps the newest `--keep` valid snapshots (default 2, as the engine keeps) and removes
 *   older snapshots and the chunks wholly covered by the oldest kept one. Takes the root lock.
 *
 * create and prune refuse with exit 3 while another process (a running engine) holds the lock.
 */
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from '../../durable-file.js';
import { ManifestLog } from '../../manifest/manifest-log.js';
import { RootLock } from '../../root-lock.js';
import { AdminExit, ExitCode, type ExitCodeValue } from './exit-codes.js';
import { readManifest } from './manifest-reader.js';
import { printJson, table, type Io } from './output.js';
import { checkRoot } from './check-root.js';
import { chunkFileName, MANIFEST_DIR, parseChunkFileName } from '../../format/root-layout.js';

export interface SnapshotOptions {
  json?: boolean;
}

export interface PruneOptions extends SnapshotOptions {
  keep?: string;
}

/** Lists the snapshot files; resolves to 0. @throws AdminExit (exit 4) when `root` is not a root */
export async function runSnapshotList(root: string, options: SnapshotOptions, io: Io): Promise<ExitCodeValue> {
  await checkRoot(root);
  const m = await readManifest(root);
  const newestValid = [...m.snapshots].reverse().find((s) => s.ok)?.seq ?? null;
  if (options.json === true) {
    printJson(io, { snapshots: m.snapshots, replayFrom: newestValid });
    return ExitCode.OK;
  }
  if (m.snapshots.length === 0) {
    io.out.write('no snapshots (replay reads every chunk)\n');
    return ExitCode.OK;
  }
  io.out.write(
    table(
      ['seq', 'file', 'bytes', 'status', 'watermark', 'streams', 'segments'],
      m.snapshots.map((s) => [
        String(s.seq),
        s.file,
        String(s.fileBytes),
        s.ok ? (s.seq === newestValid ? 'ok (replay starts here)' : 'ok') : 'CORRUPT',
        s.watermarkChunk === null ? '-' : `chunk ${s.watermarkChunk} +${s.watermarkOffset}`,
        s.streams === null ? '-' : String(s.streams),
        s.segments === null ? '-' : String(s.segments),
      ]),
      ['right', 'left', 'right', 'left', 'left', 'right', 'right'],
    ),
  );
  return ExitCode.OK;
}

/** Runs `fn` holding the root lock; a held lock ends the command with exit 3 (see exit-codes.ts). */
async function withLock<T>(root: string, fn: () => Promise<T>): Promise<T> {
  const lock = RootLock.acquire(root);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/**
 * Writes a snapshot under the root lock; resolves to 0.
 * @throws AOF_ERR_LOCKED (exit 3) while another process holds the root; AOF_ERR_IO (exit 4)
 */
export async function runSnapshotCreate(root: string, options: SnapshotOptions, io: Io): Promise<ExitCodeValue> {
  await checkRoot(root);
  const result = await withLock(root, async () => {
    const { manifest, catalog } = await ManifestLog.open({ dir: join(root, MANIFEST_DIR), snapshotEvery: Infinity });
    try {
      await manifest.snapshot();
    } finally {
      await manifest.close();
    }
    return { streams: catalog.streams().length, segments: catalog.segmentCount };
  });
  const m = await readManifest(root);
  const created = m.snapshots[m.snapshots.length - 1]!;
  if (options.json === true) {
    printJson(io, { created: { ...created, streams: result.streams, segments: result.segments } });
    return ExitCode.OK;
  }
  io.out.write(
    `snapshot ${created.seq} written: ${created.file}, ${result.streams} stream(s), ${result.segments} segment(s), ` +
      `covers the manifest up to chunk ${created.watermarkChunk} +${created.watermarkOffset}\n`,
  );
  return ExitCode.OK;
}

function parseKeep(keep: string | undefined): number {
  if (keep === undefined) return 2;
  const n = Number(keep);
  if (!Number.isInteger(n) || n < 1) throw new AdminExit(ExitCode.USAGE, `--keep must be a positive integer, got ${keep}`);
  return n;
}

/**
 * Prunes snapshots and chunks under the root lock; resolves to 0.
 * @throws AdminExit (exit 2) for a bad --keep; AOF_ERR_LOCKED (exit 3); fs errors (exit 4)
 */
export async function runSnapshotPrune(root: string, options: PruneOptions, io: Io): Promise<ExitCodeValue> {
  const keep = parseKeep(options.keep);
  await checkRoot(root);
  const outcome = await withLock(root, async () => {
    const m = await readManifest(root);
    const valid = m.snapshots.filter((s) => s.ok).sort((a, b) => b.seq - a.seq);
    const kept = valid.slice(0, keep);
    const oldestKept = kept[kept.length - 1];
    if (oldestKept === undefined) return { removedSnapshots: [] as string[], removedChunks: [] as string[], kept: [] as number[] };
    // Snapshots older than the oldest kept one go (a corrupt one included: replay would skip it);
    // a corrupt one newer than it stays, for inspection.
    const removedSnapshots = m.snapshots.filter((s) => s.seq < oldestKept.seq).map((s) => s.file);
    const bound = oldestKept.watermarkChunk!;
    const dir = join(root, MANIFEST_DIR);
    const removedChunks = (await readdir(dir))
      .map(parseChunkFileName)
      .filter((seq): seq is number => seq !== null && seq < bound)
      .sort((a, b) => a - b)
      .map((seq) => `${MANIFEST_DIR}/${chunkFileName(seq)}`);
    for (const file of [...removedSnapshots, ...removedChunks]) await unlink(join(root, file));
    if (removedSnapshots.length + removedChunks.length > 0) await fsyncDir(dir);
    return { removedSnapshots, removedChunks, kept: kept.map((s) => s.seq) };
  });
  if (options.json === true) {
    printJson(io, outcome);
    return ExitCode.OK;
  }
  if (outcome.kept.length === 0) {
    io.out.write('no valid snapshot: nothing can be pruned (every chunk is needed for replay)\n');
    return ExitCode.OK;
  }
  io.out.write(`kept snapshot(s) ${outcome.kept.join(', ')}; removed ${outcome.removedSnapshots.length} snapshot(s) and ${outcome.removedChunks.length} chunk(s)\n`);
  for (const f of [...outcome.removedSnapshots, ...outcome.removedChunks]) io.out.write(`  removed ${f}\n`);
  return ExitCode.OK;
}
