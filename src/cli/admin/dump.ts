/**
 * `aof2-admin dump <root>`: the residency map per stream (OBS3 of the seed plan): every segment
 * with its tier, state, ids, record count, raw and compressed bytes. Offline: reads the manifest
 * and the files, never opens the engine, changes nothing. A stream whose manifest and files
 * disagree, or whose unsealed segment is damaged (stream-check.ts), is reported on stderr (in
 * `problems` with --json) and the exit code is 1.
 */
import type { Io } from './output.js';
import { printJson, table } from './output.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { readManifest, type ManifestReading } from './manifest-reader.js';
import { formatProblem } from './problem.js';
import { readResidency, type SegmentRow, type StreamResidency } from './residency.js';
import { checkRoot } from './check-root.js';
import { checkStreams } from './stream-check.js';

export interface DumpOptions {
  json?: boolean;
}

/** Per-stream totals shown above its segments. */
export interface StreamSummary {
  segments: number;
  records: number;
  firstId: number | null;
  lastId: number | null;
  rawBytes: number;
  compressedBytes: number;
  /** Segments per tier: "0", "1", "2" and "none". */
  byTier: Record<'0' | '1' | '2' | 'none', number>;
}

export function summarize(segments: readonly SegmentRow[]): StreamSummary {
  const byTier = { '0': 0, '1': 0, '2': 0, none: 0 };
  let records = 0;
  let raw = 0;
  let compressed = 0;
  let firstId: number | null = null;
  let lastId: number | null = null;
  for (const s of segments) {
    byTier[s.tier === null ? 'none' : (String(s.tier) as '0' | '1' | '2')]++;
    if (s.state === 'deleted') continue; // the retention tombstone: its records are gone
    records += s.records;
    raw += s.rawBytes;
    compressed += s.compressedBytes;
    if (s.records > 0) {
      firstId ??= s.firstId;
      lastId = s.lastId;
    }
  }
  return { segments: segments.length, records, firstId, lastId, rawBytes: raw, compressedBytes: compressed, byTier };
}

/** Manifest summary line shared by dump and segments list. */
export function manifestLine(m: ManifestReading): string {
  const from = m.replay.snapshotSeq === null ? 'no snapshot' : `snapshot ${m.replay.snapshotSeq}`;
  return (
    `manifest: ${m.chunks.length} chunk(s), ${m.snapshots.length} snapshot(s); replayed from ${from}: ` +
    `${m.replay.chunks} chunk(s), ${m.replay.records} record(s); ${m.problems.length} problem(s)\n`
  );
}

/** Problems go to stderr in text mode: the dump still shows what could be read. */
export function warnProblems(io: Io, m: ManifestReading): void {
  for (const p of m.problems) io.err.write(`warning: ${formatProblem(p)}\n`);
}

function segmentTable(rows: readonly SegmentRow[]): string {
  return table(
    ['tier', 'state', 'first', 'last', 'records', 'raw bytes', 'compressed', 'uploaded', 'files'],
    rows.map((s) => [
      s.tier === null ? '-' : String(s.tier),
      s.state,
      String(s.firstId),
      s.lastId === null ? '-' : String(s.lastId),
      String(s.records),
      String(s.rawBytes),
      String(s.compressedBytes),
      s.uploaded ? 'yes' : 'no',
      s.files.length === 0 ? '-' : s.files.map((f) => f.slice(f.lastIndexOf('.'))).join(','),
    ]),
    ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'left', 'left'],
    '  ',
  );
}

function streamText(s: StreamResidency): string {
  const sum = summarize(s.segments);
  const ids = sum.firstId === null ? 'no records' : `ids ${sum.firstId}..${sum.lastId}`;
  return (
    `stream ${s.name}: ${sum.segments} segment(s), ${sum.records} record(s) (${ids}), raw ${sum.rawBytes} bytes, compressed ${sum.compressedBytes} bytes\n` +
    `  by tier: 0 (raw) ${sum.byTier['0']}, 1 (local .t1) ${sum.byTier['1']}, 2 (remote) ${sum.byTier['2']}, none ${sum.byTier.none}\n` +
    (s.segments.length === 0 ? '' : segmentTable(s.segments))
  );
}

/**
 * Prints the residency map; resolves to the exit code (0, or 1 when stream-check finds a problem).
 * @throws AdminExit (exit 4) when `root` is not a root; fs errors (exit 4)
 */
export async function runDump(root: string, options: DumpOptions, io: Io): Promise<ExitCodeValue> {
  await checkRoot(root);
  const manifest = await readManifest(root);
  const streams = await readResidency(root, manifest.catalog);
  // A map of a root whose manifest and files disagree, or whose active segment is damaged, must
  // not pass for a healthy one: reported, and exit 1 (the engine would refuse or has lost ids).
  const check = await checkStreams(root, streams, manifest.catalog);
  const code = check.problems.length > 0 ? ExitCode.CORRUPT : ExitCode.OK;
  if (options.json === true) {
    printJson(io, {
      manifest: {
        chunks: manifest.chunks.length,
        snapshots: manifest.snapshots.length,
        replay: manifest.replay,
        problems: manifest.problems,
      },
      problems: check.problems,
      notes: check.notes,
      streams: streams.map((s) => ({ name: s.name, summary: summarize(s.segments), segments: s.segments })),
    });
    return code;
  }
  warnProblems(io, manifest);
  for (const p of check.problems) io.err.write(`CORRUPT: ${formatProblem(p)}\n`);
  for (const n of check.notes) io.err.write(`note: ${n}\n`);
  io.out.write(manifestLine(manifest));
  if (streams.length === 0) io.out.write('no streams\n');
  for (const s of streams) io.out.write(`\n${streamText(s)}`);
  return code;
}
