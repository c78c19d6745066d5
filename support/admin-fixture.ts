/**
 * The `aof2-admin` test fixture and CLI runner.
 *
 * {@link buildAdminFixture} builds a root in a child process (support/admin-fixture-child.ts,
 * which pins the clock so the bytes are the same on every run); {@link runAdmin} runs the compiled
 * CLI (dist/src/cli/admin.js) as a real child process and captures its output and exit code.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from './paths.js';
import { tempRoot } from './tmp.js';
import { LOCK_DIR } from '../src/format/root-layout.js';

/** 2026-01-01T00:00:00Z: the only time the fixture's records ever see. */
export const ADMIN_FIXTURE_CLOCK = Date.UTC(2026, 0, 1);

/** The compiled CLI, as package.json's `bin` names it. */
export const ADMIN_BIN = join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'admin.js');
const CHILD = fileURLToPath(new URL('./admin-fixture-child.js', import.meta.url));

/** Record `i` of `stream`: printable, varied lengths (40..339 bytes), the same on every run. */
export function fixturePayload(stream: string, i: number): Uint8Array {
  const length = 40 + ((i * 97 + stream.length * 13) % 300);
  let text = `${stream}:${i}:`;
  while (text.length < length) text += `${stream}-${(i * 2654435761) % 1000003}|`;
  return new TextEncoder().encode(text.slice(0, length));
}

/** How a finished child process ended: its exit code (null when killed by a signal) and its whole output. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a node script to completion, capturing its output. */
function run(args: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `aof2-admin <args>`; never throws on a non-zero exit (tests assert the code). */
export function runAdmin(args: readonly string[], timeoutMs = 60_000): Promise<CliRun> {
  return run([ADMIN_BIN, ...args], timeoutMs);
}

/** Spawns `aof2-admin <args>` and hands back the child (serve-metrics, which runs until signalled). */
export function spawnAdmin(args: readonly string[]): ReturnType<typeof spawn> {
  return spawn(process.execPath, [ADMIN_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Builds the fixture root at `root` (an empty directory; the fixture names `<root>-tier2` as the
 * Tier 2 of the streams that have one).
 * @throws when the child fails
 */
export async function buildAdminFixture(root: string): Promise<void> {
  const r = await run([CHILD, root], 120_000);
  if (r.code !== 0 || !r.stdout.includes('built')) throw new Error(`fixture child failed (exit ${r.code}): ${r.stderr}`);
  // The child ended without closing (the active tail): its lock entry names a dead process, which
  // every later command takes over. Remove it anyway, so copies start without one.
  rmSync(join(root, LOCK_DIR), { recursive: true, force: true });
}

/** A copy of a fixture root (and its Tier 2 directory) in a fresh temp directory. */
export function copyRoot(source: string): { root: string; cleanup: () => void } {
  const copy = tempRoot('aof2-admin-copy-');
  cpSync(source, copy.root, { recursive: true });
  if (existsSync(`${source}-tier2`)) cpSync(`${source}-tier2`, `${copy.root}-tier2`, { recursive: true });
  return copy;
}

/** Replaces the root's absolute path with `<root>`, so output can be compared across runs. */
export function normaliseRoot(text: string, root: string): string {
  return text.split(root).join('<root>');
}
