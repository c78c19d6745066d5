/**
 * `npm run release -- <patch|minor|major|x.y.z> [--dry-run]`: cuts a version of the package in the
 * current directory (docs/releasing.md).
 *
 *   1. checks the work tree is clean and the tag `v<next>` is free;
 *   2. `npm version <next> --no-git-tag-version` (package.json and package-lock.json);
 *   3. regenerates CHANGELOG.md with git-cliff (cliff.toml), the unreleased commits under `<next>`;
 *   4. commits the three files as "Release v<next>" and makes the annotated tag `v<next>`.
 *
 * Nothing is pushed: the last line printed is the push command. `--dry-run` changes nothing: it
 * prints the version it would cut, the changelog section it would add and the commands it would
 * run. The changelog is regenerated whole from the history at every release (not prepended), so
 * it is never edited by hand: the words are the commit subjects.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nextVersion } from './release-version.js';

function run(command: string, args: readonly string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

/**
 * git-cliff's command-line entry, resolved from this package's own install (the platform binary
 * is an optional dependency of the `git-cliff` package), so the script works on any checkout
 * given as the working directory.
 */
function gitCliff(args: readonly string[], cwd: string): string {
  const cli = fileURLToPath(import.meta.resolve('git-cliff/cli'));
  return run(process.execPath, [cli, ...args], cwd);
}

/** npm as the one running this script (`npm run release`), else the one on PATH. */
function npm(args: readonly string[], cwd: string): string {
  const npmCli = process.env.npm_execpath;
  return npmCli !== undefined && npmCli.endsWith('.js') ? run(process.execPath, [npmCli, ...args], cwd) : run('npm', args, cwd);
}

function release(argv: readonly string[], cwd: string): void {
  const dryRun = argv.includes('--dry-run');
  const positional = argv.filter((a) => a !== '--dry-run');
  const [kind] = positional;
  if (kind === undefined || positional.length !== 1) {
    throw new Error('usage: npm run release -- <patch|minor|major|x.y.z> [--dry-run]');
  }
  const current = (JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as { version: string }).version;
  const version = nextVersion(current, kind);
  const tag = `v${version}`;

  const dirty = run('git', ['status', '--porcelain', '--untracked-files=no'], cwd).trim();
  if (dirty !== '') throw new Error(`the work tree has uncommitted changes; commit or stash them first:\n${dirty}`);
  if (run('git', ['tag', '--list', tag], cwd).trim() !== '') throw new Error(`the tag ${tag} exists already`);

  const commands = [
    `npm version ${version} --no-git-tag-version`,
    `git-cliff --tag ${tag} --output CHANGELOG.md`,
    'git add package.json package-lock.json CHANGELOG.md',
    `git commit -m "Release ${tag}"`,
    `git tag -a ${tag} -m "aof2 ${tag}"`,
  ];
  if (dryRun) {
    const section = gitCliff(['--unreleased', '--tag', tag, '--strip', 'header'], cwd);
    process.stdout.write(`dry run: would release ${tag} (from ${current}); nothing is changed.\n\n`);
    process.stdout.write(`CHANGELOG.md would gain:\n\n${section.trim()}\n\ncommands:\n${commands.map((c) => `  ${c}\n`).join('')}`);
    return;
  }

  npm(['version', version, '--no-git-tag-version'], cwd);
  gitCliff(['--tag', tag, '--output', 'CHANGELOG.md'], cwd);
  run('git', ['add', 'package.json', 'package-lock.json', 'CHANGELOG.md'], cwd);
  run('git', ['commit', '--quiet', '-m', `Release ${tag}`], cwd);
  run('git', ['tag', '-a', tag, '-m', `aof2 ${tag}`], cwd);
  process.stdout.write(`released ${tag} (from ${current}): commit and tag made, nothing pushed.\npublish with: git push --follow-tags\n`);
}

try {
  release(process.argv.slice(2), process.cwd());
} catch (err) {
  process.stderr.write(`release: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
