/**
 * The test tiers hold (docs/decisions.md, "Tests in tiers"): checked on the source tree, so a
 * helper that breaks a rule fails here rather than making the inner loop slow or flaky.
 * - A unit test runs in its own thread: no child process, no worker thread or pool, no engine, no
 *   real-time wait. Checked on what each file under test/unit imports and calls.
 * - Nothing outside test/ imports from test/ (support/ is the shared folder), and no file imports
 *   another test file.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { PACKAGE_ROOT } from '../../support/paths.js';

/** Every .ts file under `dir` (relative to the package root), recursively. */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string): void => {
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const path = join(abs, entry.name);
      // peer-bench/ has its own node_modules (peer-bench/package.json): other people's code.
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(path);
      } else if (entry.name.endsWith('.ts')) out.push(relative(PACKAGE_ROOT, path));
    }
  };
  walk(join(PACKAGE_ROOT, dir));
  return out.sort();
}

/** Module specifiers of every static import/export-from and dynamic import() of a file. */
function specifiers(source: string): string[] {
  return [...source.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
}

/** What a unit test must not touch, and why (the rule it breaks). */
const UNIT_FORBIDDEN: readonly [RegExp, string][] = [
  [/^node:child_process$/, 'spawns a process'],
  [/^node:worker_threads$/, 'starts a worker thread'],
  [/^piscina$/, 'starts a worker pool'],
  [/(^|\/)src\/(index|manager)\.js$/, 'opens a whole engine (workers, timers)'],
  [/(^|\/)support\/(engine|tier1-engine|crash-run|s3-server|tier2-suite|follower|admin-fixture|tmpfs)\.js$/, 'uses an engine or process helper'],
];

test('test/unit imports no process, thread, pool or engine', () => {
  const offences: string[] = [];
  for (const file of tsFiles('test/unit')) {
    for (const spec of specifiers(readFileSync(join(PACKAGE_ROOT, file), 'utf8'))) {
      for (const [pattern, why] of UNIT_FORBIDDEN) if (pattern.test(spec)) offences.push(`${file}: '${spec}' ${why}`);
    }
  }
  assert.deepEqual(offences, [], 'move these to test/integration (or make them pure)');
});

test('test/unit does not sleep or schedule real timers', () => {
  const offences: string[] = [];
  for (const file of tsFiles('test/unit')) {
    const source = readFileSync(join(PACKAGE_ROOT, file), 'utf8');
    for (const [i, line] of source.split('\n').entries()) {
      if (/\b(setTimeout|setInterval|sleep)\s*\(|timers\/promises'.*\bsetTimeout\b/.test(line)) offences.push(`${file}:${i + 1}: ${line.trim()}`);
    }
  }
  assert.deepEqual(offences, [], 'use an injected clock or t.mock.timers');
});

test('nothing outside test/ imports test/, and no file imports a test file', () => {
  const offences: string[] = [];
  for (const dir of ['src', 'workers', 'support', 'chaos', 'native-free-bench', 'native-codec-bench', 'peer-bench', 'test']) {
    for (const file of tsFiles(dir)) {
      const source = readFileSync(join(PACKAGE_ROOT, file), 'utf8');
      for (const spec of specifiers(source)) {
        if (spec.endsWith('.test.js')) offences.push(`${file}: imports the test file '${spec}'`);
        if (!file.startsWith('test/') && /(^|\/)test\//.test(spec)) offences.push(`${file}: imports '${spec}' from test/ (shared helpers belong in support/)`);
      }
      // Entry files started by URL (child processes, workers) count as imports too.
      for (const m of source.matchAll(/new URL\('([^']+)'/g)) {
        if (!file.startsWith('test/') && /(^|\/)test\//.test(m[1]!)) offences.push(`${file}: starts '${m[1]}' from test/`);
      }
    }
  }
  assert.deepEqual(offences, []);
});
