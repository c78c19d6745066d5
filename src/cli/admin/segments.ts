/**
 * `aof2-admin segments list <root> [--stream NAME]`: every segment as one flat row (stream first),
 * for grep, sort and spreadsheets. Offline, like dump.
 */
import { warnProblems } from './dump.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { readManifest } from './manifest-reader.js';
import { printJson, table, type Io } from './output.js';
import { readResidency } from './residency.js';
import { checkRoot } from './check-root.js';

export interface SegmentsListOptions {
  json?: boolean;
  stream?: string;
}

/**
 * Prints the flat segment table; resolves to 0.
 * @throws AdminExit (exit 4) when `root` is not a root
 */
export async function runSegmentsList(root: string, options: SegmentsListOptions, io: Io): Promise<ExitCodeValue> {
  await checkRoot(root);
  const manifest = await readManifest(root);
  const streams = await readResidency(root, manifest.catalog, options.stream ?? null);
  const rows = streams.flatMap((s) => s.segments);
  if (options.json === true) {
    printJson(io, { segments: rows });
    return ExitCode.OK;
  }
  warnProblems(io, manifest);
  if (rows.length === 0) {
    io.out.write(options.stream === undefined ? 'no segments\n' : `no segments in stream ${options.stream}\n`);
    return ExitCode.OK;
  }
  io.out.write(
    table(
      ['stream', 'base id', 'tier', 'state', 'first', 'last', 'records', 'raw bytes', 'compressed', 'uploaded', 'evicted', 'files'],
      rows.map((s) => [
        s.stream,
        String(s.baseId),
        s.tier === null ? '-' : String(s.tier),
        s.state,
        String(s.firstId),
        s.lastId === null ? '-' : String(s.lastId),
        String(s.records),
        String(s.rawBytes),
        String(s.compressedBytes),
        s.uploaded ? 'yes' : 'no',
        s.evicted ? 'yes' : 'no',
        s.files.length === 0 ? '-' : s.files.join(' '),
      ]),
      ['left', 'right', 'right', 'left', 'right', 'right', 'right', 'right', 'right', 'left', 'left', 'left'],
    ),
  );
  return ExitCode.OK;
}
