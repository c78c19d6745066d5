/**
 * `npm run release` (support/release.ts) on a throwaway git repository shaped like aof2's history:
 * subjects that are not Conventional Commits, merges with and without a description. A dry run
 * changes nothing; a release bumps package.json and package-lock.json, regenerates CHANGELOG.md
 * with the real git-cliff and cliff.toml (linted with the repository's markdownlint
 * configuration), commits and tags; the next release adds its section above the first.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Configuration } from 'markdownlint';
import { lint } from 'markdownlint/promise';
import ts from 'typescript';
import { PACKAGE_ROOT } from '../../support/paths.js';
import { tempRoot } from '../../support/tmp.js';

const RELEASE = join(PACKAGE_ROOT, 'dist', 'support', 'release.js');

// A fixed identity and no user or system git configuration (signing, hooks, default branch).
const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'aof2 test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'aof2 test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
};

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, env: ENV, encoding: 'utf8' });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function commit(cwd: string, file: string, subject: string): void {
  writeFileSync(join(cwd, file), `${subject}\n`, { flag: 'a' });
  git(cwd, 'add', file);
  git(cwd, 'commit', '--quiet', '-m', subject, '-m', 'A body line the changelog leaves out.');
}

function release(cwd: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [RELEASE, ...args], { cwd, env: ENV, encoding: 'utf8' });
}

function readJson(path: string): { version: string; packages?: Record<string, { version?: string }> } {
  return JSON.parse(readFileSync(path, 'utf8')) as { version: string; packages?: Record<string, { version?: string }> };
}

async function lintErrors(markdown: string): Promise<string[]> {
  const path = join(PACKAGE_ROOT, '.markdownlint-cli2.jsonc');
  const config = (ts.parseConfigFileTextToJson(path, readFileSync(path, 'utf8')).config as { config: Configuration }).config;
  const results = await lint({ strings: { 'CHANGELOG.md': markdown }, config });
  return (results['CHANGELOG.md'] ?? []).map((e) => `${e.lineNumber} ${e.ruleNames.join('/')} ${e.errorContext ?? ''}`);
}

/** The text of one release's section: from its heading to the next release heading. */
function section(changelog: string, version: string): string {
  const from = changelog.indexOf(`\n## ${version} (`);
  assert.ok(from >= 0, `CHANGELOG.md has a section for ${version}:\n${changelog}`);
  const to = changelog.indexOf('\n## ', from + 1);
  return changelog.slice(from, to < 0 ? undefined : to);
}

test('release: dry run, a minor release, then a patch release on a repository with aof2-style history', async () => {
  const { root: repo, cleanup } = tempRoot('aof2-release-');
  try {
    git(repo, 'init', '--quiet', '--initial-branch=main');
    writeFileSync(join(repo, 'package.json'), `${JSON.stringify({ name: 'release-fixture', version: '0.1.0', private: true }, null, 2)}\n`);
    const lock = { name: 'release-fixture', version: '0.1.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'release-fixture', version: '0.1.0' } } };
    writeFileSync(join(repo, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
    copyFileSync(join(PACKAGE_ROOT, 'cliff.toml'), join(repo, 'cliff.toml'));
    git(repo, 'add', '.');
    git(repo, 'commit', '--quiet', '-m', 'Core engine skeleton: Tier 0 SAB arena, flush worker, segments');
    commit(repo, 'engine.txt', 'Fix: a flush() issued before the worker started was lost');
    commit(repo, 'docs.txt', 'docs: architecture, formats, decisions');
    commit(repo, 'bench.txt', 'bench: append-sync against a bare SAB copy loop');
    commit(repo, 'chaos.txt', 'chaos: sigkill scenario with the tiers on');
    // Text that Markdown would otherwise eat: an HTML-looking <root>, an underscore after a space.
    commit(repo, 'engine.txt', 'root lock: refuse a <root>/lock symlink; aof_tier1_hydrate_threads and _max gauges');
    // A merge with a description (kept, under Merged branches) and a bare one (left out).
    git(repo, 'checkout', '--quiet', '-b', 'h-tier1');
    commit(repo, 'tier1.txt', 'Tier 1: compress sealed segments in a piscina pool');
    git(repo, 'checkout', '--quiet', 'main');
    git(repo, 'merge', '--quiet', '--no-ff', '-m', 'merge h-tier1: compression of sealed segments', 'h-tier1');
    git(repo, 'checkout', '--quiet', '-b', 'h-small');
    commit(repo, 'small.txt', 'read path: one owner of hydration');
    git(repo, 'checkout', '--quiet', 'main');
    git(repo, 'merge', '--quiet', '--no-ff', '-m', "Merge branch 'h-small'", 'h-small');
    const head = git(repo, 'rev-parse', 'HEAD');

    // Dry run: says what it would do, changes nothing.
    const dry = release(repo, 'minor', '--dry-run');
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /would release v0\.2\.0 \(from 0\.1\.0\); nothing is changed/);
    assert.match(dry.stdout, /## 0\.2\.0 \(\d{4}-\d{2}-\d{2}\)/);
    assert.match(dry.stdout, /git tag -a v0\.2\.0/);
    assert.equal(git(repo, 'rev-parse', 'HEAD'), head);
    assert.equal(git(repo, 'status', '--porcelain'), '');
    assert.equal(git(repo, 'tag', '--list'), '');

    // A minor release.
    const minor = release(repo, 'minor');
    assert.equal(minor.status, 0, minor.stderr);
    assert.match(minor.stdout, /released v0\.2\.0 \(from 0\.1\.0\).*\npublish with: git push --follow-tags/s);
    assert.equal(readJson(join(repo, 'package.json')).version, '0.2.0');
    const lockAfter = readJson(join(repo, 'package-lock.json'));
    assert.equal(lockAfter.version, '0.2.0');
    assert.equal(lockAfter.packages?.['']?.version, '0.2.0');
    assert.equal(git(repo, 'log', '-1', '--format=%s'), 'Release v0.2.0');
    assert.equal(git(repo, 'describe', '--exact-match', 'HEAD'), 'v0.2.0', 'an annotated tag on the release commit');
    assert.equal(git(repo, 'status', '--porcelain'), '');
    const first = readFileSync(join(repo, 'CHANGELOG.md'), 'utf8');
    assert.match(first, /^# Changelog\n/);
    assert.doesNotMatch(first, /## Unreleased/);
    const v020 = section(first, '0.2.0');
    assert.deepEqual(
      v020.split('\n').filter((l) => l.startsWith('### ')),
      ['### Merged branches', '### Fixes', '### Benchmarks and performance', '### Tests and reliability', '### Documentation', '### Engine and tools'],
      'groups in cliff.toml order',
    );
    assert.match(v020, /### Merged branches\n\n- merge h-tier1: compression of sealed segments \([0-9a-f]{7}\)\n/);
    assert.doesNotMatch(v020, /Merge branch 'h-small'/);
    assert.match(v020, /- read path: one owner of hydration \([0-9a-f]{7}\)/);
    assert.match(v020, /- root lock: refuse a &lt;root>\/lock symlink; aof_tier1_hydrate_threads and \\_max gauges/);
    assert.doesNotMatch(v020, /A body line/, 'subjects only');
    assert.deepEqual(await lintErrors(first), []);

    // A refused release leaves everything as it was.
    writeFileSync(join(repo, 'docs.txt'), 'edited\n', { flag: 'a' });
    const dirty = release(repo, 'patch');
    assert.equal(dirty.status, 1);
    assert.match(dirty.stderr, /release: the work tree has uncommitted changes/);
    git(repo, 'checkout', '--quiet', '--', 'docs.txt');
    const below = release(repo, '0.1.9');
    assert.equal(below.status, 1);
    assert.match(below.stderr, /0\.1\.9, is not above the current version 0\.2\.0/);

    // The next release: its own section above, the first one as it was, the release commit left out.
    commit(repo, 'engine.txt', 'Tail scan: read the unsealed tail in pieces');
    const patch = release(repo, 'patch');
    assert.equal(patch.status, 0, patch.stderr);
    const second = readFileSync(join(repo, 'CHANGELOG.md'), 'utf8');
    const v021 = section(second, '0.2.1');
    assert.ok(second.indexOf('\n## 0.2.1 (') < second.indexOf('\n## 0.2.0 ('), 'newest release first');
    assert.match(v021, /### Engine and tools\n\n- Tail scan: read the unsealed tail in pieces \([0-9a-f]{7}\)\n/);
    assert.doesNotMatch(second, /Release v0\.2\.0/);
    assert.equal(section(second, '0.2.0'), v020);
    assert.equal(git(repo, 'describe', '--exact-match', 'HEAD'), 'v0.2.1');
    assert.deepEqual(await lintErrors(second), []);
  } finally {
    cleanup();
  }
});
