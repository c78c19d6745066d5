#!/usr/bin/env node
/**
 * `aof2-admin <command> <root> [options]`: inspect, verify and maintain an aof2 root.
 * Commands and exit codes: docs/admin-cli.md. Offline commands (dump, segments list, manifest
 * inspect, verify, snapshot list, repair without --accept-loss) only read; repair --accept-loss,
 * snapshot create/prune and serve-metrics take the root lock and refuse (exit 3) while another
 * process holds it.
 *
 * Built on commander: every command gets `--json`, and parse errors become exit code 2 through
 * `exitOverride` (commander would otherwise call process.exit itself, with its own code).
 * Results go to stdout, warnings and progress to stderr; the process ends by setting
 * `process.exitCode` so buffered output is never cut off.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { runDump } from './admin/dump.js';
import { ExitCode, exitCodeOf, messageOf, type ExitCodeValue } from './admin/exit-codes.js';
import { runManifestInspect } from './admin/manifest-inspect.js';
import { endQuietlyOnClosedStdout, processIo, untilDone, type Io } from './admin/output.js';
import { runSegmentsList } from './admin/segments.js';
import { runRepair } from './admin/repair.js';
import { runServeMetrics } from './admin/serve-metrics.js';
import { runSnapshotCreate, runSnapshotList, runSnapshotPrune } from './admin/snapshot.js';
import { runVerify } from './admin/verify.js';

const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  corruption found (verify, manifest inspect, dump), damage to repair (repair dry run)
  2  usage error
  3  root locked by another process (repair --accept-loss, snapshot create/prune, serve-metrics)
  4  root unavailable: missing, not an aof2 root, unreadable, newer format, I/O error`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Builds the program; `done` receives each command's exit code. */
export function buildProgram(io: Io, done: (code: ExitCodeValue) => void): Command {
  const program = new Command('aof2-admin')
    .description('Inspect, verify and maintain an aof2 root directory.')
    .version(version())
    .showHelpAfterError('(run aof2-admin --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out.write(s),
      writeErr: (s) => io.err.write(s),
    });
  const run =
    <O>(fn: (root: string, options: O, io: Io) => Promise<ExitCodeValue>) =>
    async (root: string, options: O): Promise<void> =>
      done(await fn(root, options, io));
  /** `run` for commands that change the root or hold it: they finish even if stdout closes (output.ts untilDone). */
  const runToEnd =
    <O>(fn: (root: string, options: O, io: Io) => Promise<ExitCodeValue>) =>
    async (root: string, options: O): Promise<void> =>
      done(await untilDone(() => fn(root, options, io)));

  program
    .command('dump')
    .description('per stream: every segment with its tier (0 raw, 1 local .t1, 2 remote), state, ids, records, raw and compressed bytes (offline)')
    .argument('<root>', 'aof2 root directory')
    .option('--json', 'machine-readable output')
    .action(run(runDump));

  const segments = program.command('segments').description('segment listings');
  segments
    .command('list')
    .description('one row per segment, all streams (offline)')
    .argument('<root>', 'aof2 root directory')
    .option('--stream <name>', 'only this stream')
    .option('--json', 'machine-readable output')
    .action(run(runSegmentsList));

  const manifest = program.command('manifest').description('manifest log tools');
  manifest
    .command('inspect')
    .description('per chunk: sequence, committed length, stored vs recomputed CRC, uncommitted bytes, records by type; snapshots (offline; exit 1 on corruption)')
    .argument('<root>', 'aof2 root directory')
    .option('--json', 'machine-readable output')
    .action(run(runManifestInspect));

  program
    .command('verify')
    .description('check every raw segment, Tier 1 file and frame, and the manifest (offline; exit 1 on corruption)')
    .argument('<root>', 'aof2 root directory')
    .option('--json', 'machine-readable output')
    .option('--no-progress', 'no progress bar even on a terminal')
    .action(run(runVerify));

  program
    .command('repair')
    .description('cut a damaged unsealed segment the engine refuses to open: a dry run that prints what would be dropped, unless --accept-loss (takes the root lock)')
    .argument('<root>', 'aof2 root directory')
    .option('--stream <name>', 'only this stream')
    .option('--accept-loss', 'apply: drop exactly what the dry run prints')
    .option('--json', 'machine-readable output')
    .action(runToEnd(runRepair));

  const snapshot = program.command('snapshot').description('catalog snapshots of the manifest');
  snapshot
    .command('list')
    .description('snapshot files and what they cover (offline)')
    .argument('<root>', 'aof2 root directory')
    .option('--json', 'machine-readable output')
    .action(run(runSnapshotList));
  snapshot
    .command('create')
    .description('write a catalog snapshot now (takes the root lock)')
    .argument('<root>', 'aof2 root directory')
    .option('--json', 'machine-readable output')
    .action(runToEnd(runSnapshotCreate));
  snapshot
    .command('prune')
    .description('remove snapshots older than the newest --keep valid ones and the chunks they alone needed (takes the root lock)')
    .argument('<root>', 'aof2 root directory')
    .option('--keep <n>', 'valid snapshots to keep (default 2)')
    .option('--json', 'machine-readable output')
    .action(runToEnd(runSnapshotPrune));

  program
    .command('serve-metrics')
    .description('open the engine on the root and serve its metrics at /metrics (takes the root lock)')
    .argument('<root>', 'aof2 root directory')
    .option('--port <n>', 'TCP port (0: any free port)', '9464')
    .option('--host <address>', 'address to bind', '127.0.0.1')
    .option('--config <file>', 'JSON file of AofManager options to open the root with (root is ignored)')
    .option('--open-streams', 'open every stream so per-stream figures are included')
    .option('--json', 'print the URL as JSON')
    .action(runToEnd(runServeMetrics));

  return program;
}

/** Runs the CLI on `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<ExitCodeValue> {
  let code: ExitCodeValue = ExitCode.OK;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through exitOverride too, with exit code 0.
      return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    io.err.write(`aof2-admin: ${messageOf(err)}\n`);
    return exitCodeOf(err);
  }
}

// Run when this file is the entry point (directly, or through npm's bin symlink).
const entry = process.argv[1];
if (entry !== undefined && realpathSync(entry) === fileURLToPath(import.meta.url)) {
  endQuietlyOnClosedStdout();
  process.exitCode = await main(process.argv.slice(2));
}
