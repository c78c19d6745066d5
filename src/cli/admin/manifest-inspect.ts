/**
 * `aof2-admin manifest inspect <root>`: per chunk its sequence, committed length, stored vs
 * recomputed chunk CRC, uncommitted (torn) bytes and record counts by type; the snapshot files;
 * where replay would start and what the next open would repair. Offline and read-only. Exits 1 when it finds corruption.
 */
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { readManifest } from './manifest-reader.js';
import { hex32, printJson, table, type Io } from './output.js';
import { formatProblem } from './problem.js';
import { checkRoot } from './check-root.js';

export interface ManifestInspectOptions {
  json?: boolean;
}

function byType(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join(' ');
}

/**
 * Prints the manifest report; resolves to 0, or 1 when it found corruption.
 * @throws AdminExit (exit 4) when `root` is not a root; AOF_ERR_INCOMPATIBLE (exit 4)
 */
export async function runManifestInspect(root: string, options: ManifestInspectOptions, io: Io): Promise<ExitCodeValue> {
  await checkRoot(root);
  const m = await readManifest(root);
  const code = m.problems.length > 0 ? ExitCode.CORRUPT : ExitCode.OK;
  if (options.json === true) {
    printJson(io, { chunks: m.chunks, snapshots: m.snapshots, tempFiles: m.tempFiles, replay: m.replay, problems: m.problems, repairs: m.repairs });
    return code;
  }
  io.out.write(`chunks: ${m.chunks.length}\n`);
  if (m.chunks.length > 0) {
    io.out.write(
      table(
        ['file', 'seq', 'bytes', 'committed', 'records', 'crc', 'uncommitted', 'by type'],
        m.chunks.map((c) => [
          c.file,
          String(c.seq),
          String(c.fileBytes),
          String(c.committedBytes),
          String(c.records),
          // Both CRCs on a mismatch; one word when they agree (the values follow the records' order).
          c.storedCrc === null ? `no header (records hash to ${hex32(c.recomputedCrc)})` : c.storedCrc === c.recomputedCrc ? 'ok' : `stored ${hex32(c.storedCrc)} recomputed ${hex32(c.recomputedCrc)}`,
          String(c.uncommittedBytes),
          byType(c.recordsByType),
        ]),
        ['left', 'right', 'right', 'right', 'right', 'left', 'right', 'left'],
        '  ',
      ),
    );
  }
  io.out.write(`snapshots: ${m.snapshots.length}\n`);
  if (m.snapshots.length > 0) {
    io.out.write(
      table(
        ['file', 'seq', 'bytes', 'status', 'watermark', 'streams', 'segments'],
        m.snapshots.map((s) => [
          s.file,
          String(s.seq),
          String(s.fileBytes),
          s.ok ? 'ok' : 'CORRUPT',
          s.watermarkChunk === null ? '-' : `chunk ${s.watermarkChunk} +${s.watermarkOffset}`,
          s.streams === null ? '-' : String(s.streams),
          s.segments === null ? '-' : String(s.segments),
        ]),
        ['left', 'right', 'right', 'left', 'left', 'right', 'right'],
        '  ',
      ),
    );
  }
  if (m.tempFiles.length > 0) io.out.write(`leftover temp files (removed at the next open): ${m.tempFiles.join(' ')}\n`);
  // What the engine's next open would change (the same replay decides it; aof2-admin never does).
  const changes = m.repairs.filter((r) => r.kind !== 'remove');
  if (changes.length > 0) {
    io.out.write(`the next open would repair ${changes.length} chunk(s):\n`);
    for (const r of changes) io.out.write(`  ${r.file}: ${r.reason} (cut to ${r.truncateTo} bytes)\n`);
  }
  const from = m.replay.snapshotSeq === null ? 'the first chunk' : `snapshot ${m.replay.snapshotSeq}`;
  io.out.write(
    `replay: from ${from}, ${m.replay.chunks} chunk(s), ${m.replay.records} record(s), ${m.replay.orphans} orphan(s); ` +
      `catalog: ${m.catalog.streams().length} stream(s), ${m.catalog.segmentCount} segment(s)\n`,
  );
  io.out.write(`problems: ${m.problems.length}\n`);
  for (const p of m.problems) io.out.write(`  ${formatProblem(p)}\n`);
  return code;
}
