/**
 * The flush worker's entry (src/tier0/flusher.ts) as the npm package ships it: the CommonJS build
 * in dist/cjs/ (tsconfig.flush-worker.json, marked CommonJS by dist/cjs/package.json), the kill
 * switch back to the ESM build (AOF2_FLUSH_WORKER_ESM=1), and a worker that cannot start at all.
 * Each case runs aof2 in a child process from an unpacked copy of the files `npm pack` would
 * publish (support/packed-child.ts), so a file package.json#files leaves out fails here rather
 * than in a user's install.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../../support/paths.js';
import { tempRoot } from '../../support/tmp.js';

const CHILD = fileURLToPath(new URL('../../support/packed-child.js', import.meta.url));
const CHILD_TIMEOUT_MS = 60_000;
const CJS_ENTRY = 'dist/cjs/workers/flush.js';

interface ChildReport {
  open?: string;
  openStream?: string;
  durableId?: number;
  flushWorker?: string;
  failed?: boolean;
  closed?: boolean;
}

/** The paths `npm pack` would put in the tarball (a dry run: nothing is built or written). */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: PACKAGE_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [pack] = JSON.parse(out) as { files: { path: string }[] }[];
  assert.ok(pack !== undefined, 'npm pack --dry-run --json listed no package');
  return pack.files.map((f) => f.path);
}

/** A copy of those files under `dir`, with this checkout's node_modules linked in for the dependencies. */
function unpack(files: string[], dir: string): string {
  for (const path of files) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    cpSync(join(PACKAGE_ROOT, path), join(dir, path));
  }
  symlinkSync(join(PACKAGE_ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function runChild(pkg: string, root: string, prefault: 'background' | 'open', esm = false): Promise<ChildReport> {
  const env = { ...process.env };
  if (esm) env['AOF2_FLUSH_WORKER_ESM'] = '1';
  else delete env['AOF2_FLUSH_WORKER_ESM'];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CHILD, pkg, root, prefault], { env, timeout: CHILD_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`packed-child failed: ${err.message}\nstderr: ${stderr}`));
      else resolve(JSON.parse(stdout.trim()) as ChildReport);
    });
  });
}

describe('the flush worker started from the packed package', () => {
  const { root: dir, cleanup } = tempRoot('aof2-packed-');
  let files: string[] = [];
  let intact = '';
  /** A second copy without the CommonJS entry: its flush worker cannot start. */
  let broken = '';
  let roots = 0;
  const freshRoot = (): string => join(dir, `root-${roots++}`);

  before(() => {
    files = packedFiles();
    intact = unpack(files, join(dir, 'intact'));
    broken = unpack(files, join(dir, 'broken'));
    rmSync(join(broken, CJS_ENTRY));
  });
  after(cleanup);

  test('ships the CommonJS build, marked as such, and starts the worker from it', async () => {
    assert.ok(files.includes('dist/cjs/package.json'), 'dist/cjs/package.json (the CommonJS marker) is not packed');
    assert.ok(files.includes(CJS_ENTRY), `${CJS_ENTRY} is not packed`);
    assert.ok(files.includes('dist/workers/flush.js'), 'the ESM build (the kill switch) is not packed');
    const report = await runChild(intact, freshRoot(), 'background');
    assert.deepEqual(report, { open: 'ok', openStream: 'ok', durableId: 0, flushWorker: 'running', failed: false, closed: true });
  });

  test('AOF2_FLUSH_WORKER_ESM=1 starts the ESM build instead (the CommonJS one may be missing)', async () => {
    const report = await runChild(broken, freshRoot(), 'background', true);
    assert.deepEqual(report, { open: 'ok', openStream: 'ok', durableId: 0, flushWorker: 'running', failed: false, closed: true });
  });

  test('a worker that cannot start: open() resolves, openStream() rejects AOF_ERR_WORKER_FAILED, close() works', async () => {
    const report = await runChild(broken, freshRoot(), 'background');
    // The worker never ran its loop, so its state word still says 'starting'; the manager failed.
    assert.deepEqual(report, { open: 'ok', openStream: 'AOF_ERR_WORKER_FAILED', flushWorker: 'starting', failed: true, closed: true });
  });

  test("under prefault 'open' open() itself rejects AOF_ERR_WORKER_FAILED", async () => {
    const report = await runChild(broken, freshRoot(), 'open');
    assert.deepEqual(report, { open: 'AOF_ERR_WORKER_FAILED' });
  });
});
