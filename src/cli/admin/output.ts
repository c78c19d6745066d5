/**
 * Text and JSON output shared by the admin commands. Text tables are plain aligned columns (no
 * colour, no terminal width games) so they diff cleanly and golden tests can compare them.
 */

/** Where a command writes: stdout for results, stderr for warnings and progress. */
export interface Io {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream & { isTTY?: boolean };
}

export const processIo: Io = { out: process.stdout, err: process.stderr };

/** Commands that change the root (or hold it open) now running: a closed stdout must not cut them short. */
let changing = 0;

/**
 * Runs `fn`, a command that changes the root or holds it open (repair --accept-loss, snapshot
 * create and prune, serve-metrics): if stdout is closed meanwhile, it still runs to the end,
 * its further output discarded, so a file is never left half repaired and the lock is released.
 */
export async function untilDone<T>(fn: () => Promise<T>): Promise<T> {
  changing++;
  try {
    return await fn();
  } finally {
    changing--;
  }
}

/**
 * `aof2-admin dump | head -1`: the reader closing the pipe is a normal end, not a failure. Node
 * ignores SIGPIPE and reports EPIPE as an 'error' event on stdout, which unhandled would end the
 * process with exit code 1, the "corruption found" code. A read-only command stops at once with
 * exit code 0; a command inside {@link untilDone} finishes first and keeps its own exit code.
 */
export function endQuietlyOnClosedStdout(stdout: NodeJS.WriteStream = process.stdout): void {
  stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    if (changing === 0) process.exit(0);
  });
}

/** One JSON document on stdout, two-space indented, ending with a newline. */
export function printJson(io: Io, value: unknown): void {
  io.out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Column alignment: numbers right, text left. */
export type Align = 'left' | 'right';

/**
 * Renders rows as aligned columns under a header. `align` gives each column's alignment
 * (default left). Trailing spaces are trimmed so output is stable under editors and diffs.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[] = [], indent = ''): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    indent +
    cells
      .map((c, i) => (align[i] === 'right' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** 0x-prefixed 8-digit hex, for CRCs. */
export function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}
