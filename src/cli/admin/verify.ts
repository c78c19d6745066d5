/**
 * `aof2-admin verify <root>`: checks every byte aof2 can check without the engine: every raw
 * segment (header, footer, each record's CRC, data CRC), every Tier 1 file (header, footer, frame
 * index, every frame decompressed and checked, each record), the manifest (chunk headers, record
 * CRCs, chunk CRCs, snapshots), that each segment the manifest records has its local file holding
 * the records it recorded, that each stream's ids are dense across its files (stream-check.ts),
 * and that an unsealed segment is a torn tail, not damage (the engine's own rule).
 * Read-only. Exit 1 with one line per damaged range (file and byte offset) when anything fails.
 * Tier 2 objects are not fetched: a segment only Tier 2 holds is listed as remote.
 */
import { join } from 'node:path';
import { loadZstd, type Codec } from '../../codec/zstd.js';
import { SegmentState } from '../../format/snapshot.js';
import { readRegularFile, regularFileSize } from '../../safe-fs.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { readManifest } from './manifest-reader.js';
import { printJson, type Io } from './output.js';
import { formatProblem, type Problem } from './problem.js';
import { createByteProgress } from './progress-bar.js';
import { readResidency } from './residency.js';
import { checkRoot } from './check-root.js';
import { checkStreams } from './stream-check.js';
import { verifySegment, verifyTier1, type FileCheck } from './verify-files.js';
import { parseSegmentFileName, parseTier1FileName, TIER1_FILE_SUFFIX } from '../../format/root-layout.js';

export interface VerifyOptions {
  json?: boolean;
  /** false with --no-progress. */
  progress?: boolean;
}

/**
 * Checks the whole root; resolves to 0, or 1 when anything is damaged.
 * @throws AdminExit (exit 4) when `root` is not a root; AOF_ERR_INCOMPATIBLE (exit 4)
 */
export async function runVerify(root: string, options: VerifyOptions, io: Io): Promise<ExitCodeValue> {
  await checkRoot(root);
  const manifest = await readManifest(root);
  const streams = await readResidency(root, manifest.catalog);
  const problems: Problem[] = [...manifest.problems];
  const notes: string[] = [];

  // Every local segment file, and what the catalog expects of it.
  const files: { file: string; stream: string; baseId: number; kind: 'segment' | 'tier1'; bytes: number }[] = [];
  let remoteOnly = 0;
  for (const s of streams) {
    for (const row of s.segments) {
      for (const file of row.files) {
        const name = file.slice(file.lastIndexOf('/') + 1);
        const kind = parseSegmentFileName(name) !== null ? 'segment' : parseTier1FileName(name) !== null ? 'tier1' : null;
        if (kind === null) continue;
        files.push({ file, stream: s.name, baseId: row.baseId, kind, bytes: (await regularFileSize(join(root, file))) ?? 0 });
      }
      const has = (suffix: string): boolean => row.files.some((f) => f.endsWith(suffix));
      // Missing files and counts that disagree with the manifest: stream-check.ts, shared with dump.
      if (row.state === 'needs-recovery' && row.uploaded) notes.push(`${s.name} segment ${row.baseId} needs recovery: the next read or open restores it from Tier 2`);
      if (row.tier === 2 && !has(TIER1_FILE_SUFFIX)) remoteOnly++;
    }
  }

  // Catalog against files, per stream (the frames of every file are checked below).
  const streamCheck = await checkStreams(root, streams, manifest.catalog, false);
  problems.push(...streamCheck.problems);
  notes.push(...streamCheck.notes);

  const total = files.reduce((n, f) => n + f.bytes, 0);
  const progress = createByteProgress('verify', total, io.err, options.progress !== false && options.json !== true);
  const checks: FileCheck[] = [];
  let codec: Codec | null = null;
  try {
    for (const f of files) {
      // Never through a link: a symlinked file is refused (AOF_ERR_UNSAFE_PATH, exit 1), not verified.
      const bytes = await readRegularFile(join(root, f.file));
      const entry = manifest.catalog.get(f.stream, f.baseId);
      if (f.kind === 'segment') {
        // A raw file beside a Tier 1 file the catalog trusts is a leftover the next open removes.
        if (entry?.state === SegmentState.TIER1) notes.push(`${f.file}: leftover raw file beside its Tier 1 copy (a crash before its removal); the next open removes it`);
        checks.push(verifySegment(f.file, bytes, f.baseId, entry !== undefined && (entry.state === SegmentState.SEALED || entry.state === SegmentState.COMPRESSION_FAILED) ? entry : undefined));
      } else {
        codec ??= loadZstd();
        checks.push(await verifyTier1(f.file, bytes, f.baseId, entry !== undefined && entry.state === SegmentState.TIER1 ? entry : undefined, codec));
      }
      progress.advance(f.bytes, f.file);
    }
  } finally {
    progress.stop();
  }
  for (const c of checks) {
    problems.push(...c.problems);
    for (const n of c.notes) notes.push(`${c.file}: ${n}`);
  }
  const summary = {
    segmentFiles: checks.filter((c) => c.kind === 'segment').length,
    tier1Files: checks.filter((c) => c.kind === 'tier1').length,
    bytes: total,
    records: checks.reduce((n, c) => n + c.records, 0),
    frames: checks.reduce((n, c) => n + c.frames, 0),
    manifestChunks: manifest.chunks.length,
    snapshots: manifest.snapshots.length,
    remoteOnlySegments: remoteOnly,
  };
  const code = problems.length > 0 ? ExitCode.CORRUPT : ExitCode.OK;
  if (options.json === true) {
    printJson(io, { ok: code === ExitCode.OK, summary, problems, notes, files: checks.map(({ file, kind, bytes, records, frames, problems: p }) => ({ file, kind, bytes, records, frames, ok: p.length === 0 })) });
    return code;
  }
  io.out.write(
    `checked ${summary.segmentFiles} raw segment file(s), ${summary.tier1Files} tier 1 file(s) (${summary.frames} frame(s)), ` +
      `${summary.records} record(s), ${summary.bytes} bytes; ${summary.manifestChunks} manifest chunk(s), ${summary.snapshots} snapshot(s)\n`,
  );
  if (remoteOnly > 0) io.out.write(`${remoteOnly} segment(s) only in Tier 2: not fetched, not checked\n`);
  for (const n of notes) io.out.write(`note: ${n}\n`);
  if (problems.length === 0) {
    io.out.write('OK: no corruption found\n');
  } else {
    io.out.write(`CORRUPT: ${problems.length} problem(s)\n`);
    for (const p of problems) io.out.write(`  ${formatProblem(p)}\n`);
  }
  return code;
}
