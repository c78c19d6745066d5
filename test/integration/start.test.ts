/**
 * `npm start` as a user runs it: the compiled CLI in a child process on a temp root, twice in a
 * row (the second run appends after the first), plus its refusals. Small record counts keep each
 * run well under a second or two.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempRoot } from '../../support/tmp.js';

// dist/test/integration/start.test.js → dist/src/cli/start.js
const START = fileURLToPath(new URL('../../src/cli/start.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runStart(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    // stdout is a pipe here, as in CI: the CLI must print plain lines.
    execFile(process.execPath, [START, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The value in `column` (0-based, after the name) of the summary table row for `stream`. */
function tableValue(stdout: string, stream: string, column: number): number {
  const row = stdout.split('\n').find((l) => l.startsWith(`${stream} `) || l.startsWith(`${stream}\t`));
  assert.ok(row !== undefined, `no summary row for ${stream}`);
  const cells = row.trim().split(/\s+/);
  return Number(cells[column + 1]!.replaceAll(',', ''));
}

test('npm start ingests, verifies, restarts with recovery, and a second run appends', async (t) => {
  const { root: dir, cleanup } = tempRoot('aof2-start-');
  t.after(cleanup);
  const root = join(dir, 'data');

  const first = await runStart(['--root', root, '--records', '20000']);
  assert.equal(first.code, 0, `exit code; stderr: ${first.stderr}`);
  assert.doesNotMatch(first.stdout, /\x1b\[/, 'no ANSI escapes when stdout is not a TTY');
  assert.match(first.stdout, /^ingest +20,000 records/m);
  assert.match(first.stdout, /^restart .*nextId continued on every stream/m);
  assert.match(first.stdout, /^recovery +\d+ segments trusted \(sealed\), 0 scanned/m);
  assert.match(first.stdout, /^summary +ingest 20,000 records/m);
  assert.match(first.stdout, /^all checks passed/m);
  // The tour names its Tier 2 (inside the demo root by default) and prints it; nothing else is
  // written beside the root.
  assert.match(first.stdout, new RegExp(`^tier 2 +a local directory, ${join(root, 'tier2').replaceAll('/', '\\/')}: configured by the tour`, 'm'));
  assert.match(first.stdout, /^tier 2 +\d+ segment objects/m);
  assert.ok(readdirSync(join(root, 'tier2', 'streams')).length > 0, 'segment objects in <root>/tier2');
  assert.deepEqual(readdirSync(dir), ['data'], 'nothing outside the demo root');
  const streams = ['orders', 'payments', 'clicks', 'audit'];
  // Every record went to one of the four streams, and each got 3 more after the restart.
  const totals = streams.map((s) => tableValue(first.stdout, s, 0));
  assert.equal(totals.reduce((a, b) => a + b, 0), 20000 + 3 * streams.length);
  for (const [i, s] of streams.entries()) assert.equal(tableValue(first.stdout, s, 2), totals[i]! - 1, `durable id of ${s}`);

  const second = await runStart(['--root', root, '--records', '1000']);
  assert.equal(second.code, 0, `exit code; stderr: ${second.stderr}`);
  assert.match(second.stdout, /^open +20,012 existing records/m);
  const after = streams.map((s) => tableValue(second.stdout, s, 0));
  assert.equal(after.reduce((a, b) => a + b, 0), 20012 + 1000 + 3 * streams.length);
  for (const [i, s] of streams.entries()) assert.ok(after[i]! >= totals[i]! + 3, `${s} kept its records and grew`);

  const fresh = await runStart(['--root', root, '--records', '500', '--streams', '2', '--fresh']);
  assert.equal(fresh.code, 0, `exit code; stderr: ${fresh.stderr}`);
  assert.match(fresh.stdout, /^open +empty/m);
  assert.equal(tableValue(fresh.stdout, 'orders', 0) + tableValue(fresh.stdout, 'payments', 0), 500 + 3 * 2);

  // --tier2 names another directory: used, printed, and wiped by --fresh with the root.
  const elsewhere = join(dir, 'objects');
  const named = await runStart(['--root', root, '--tier2', elsewhere, '--records', '300', '--streams', '1', '--fresh']);
  assert.equal(named.code, 0, `exit code; stderr: ${named.stderr}`);
  assert.match(named.stdout, new RegExp(`^tier 2 +a local directory, ${elsewhere.replaceAll('/', '\\/')}:`, 'm'));
  assert.ok(readdirSync(join(elsewhere, 'streams')).includes('orders'), 'objects in the named Tier 2');
  assert.ok(!existsSync(join(root, 'tier2')), 'the default Tier 2 was wiped by --fresh and not used');
});

test('npm start refuses bad flags and --fresh on a directory that is not an aof2 root', async (t) => {
  const { root: dir, cleanup } = tempRoot('aof2-start-');
  t.after(cleanup);

  const bad = await runStart(['--records', 'many']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--records must be an integer/);

  const unknown = await runStart(['--recrods', '5']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--recrods/);

  const precious = join(dir, 'precious');
  mkdirSync(precious);
  writeFileSync(join(precious, 'thesis.txt'), 'do not delete');
  const refused = await runStart(['--root', precious, '--fresh', '--records', '10']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--fresh refuses to delete/);
  assert.equal(readFileSync(join(precious, 'thesis.txt'), 'utf8'), 'do not delete');

  const help = await runStart(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--fresh/);
  assert.match(help.stdout, /appends to the streams/);
});
