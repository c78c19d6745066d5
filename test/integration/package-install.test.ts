/**
 * The package as a user gets it. `npm pack` (which builds in `prepack`) makes the tarball; npm
 * installs it into a new app that has no TypeScript and runs no build; the README quick start then
 * runs there as written, importing 'aof2' from node_modules, and type-checks against the shipped
 * declarations. Also checked: the tarball holds the compiled engine, its workers, the docs and the
 * README, and nothing else (no tests, benchmarks, TypeScript sources, build info, or outputs of
 * sources that no longer exist), and the install prints no warning.
 *
 * Where the app's other dependencies come from: `npm install --prefer-offline` takes them from the
 * machine's npm cache, which this project's own `npm ci` filled with the same packages (.ci/run runs
 * it first), and asks the registry only for what the cache lacks. A `file:` install of the
 * unpacked directory, or NODE_PATH pointing at this project's node_modules, would not test what a
 * user gets: the first skips packing, the second would resolve the devDependencies too.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runNpm } from '../../support/npm.js';
import { readmeQuickStart } from '../../support/readme-quickstart.js';
import { tempRoot } from '../../support/tmp.js';

const run = promisify(execFile);
// dist/test/integration/package-install.test.js → the repository root
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
  dependencies: Record<string, string>;
};
/** What the quick start prints: the one record it appended. */
const QUICK_START_OUTPUT = '0 {"order":"ord-1","total":4200}\n';
/** The only top-level places a file of the tarball may come from. */
const SHIPPED = /^(package\.json|README\.md|LICENSE|docs\/.+|dist\/(src|workers|cjs)\/.+)$/;

interface Packed {
  tarball: string;
  files: string[];
}

const work = tempRoot('aof2-package-');
test.after(work.cleanup);

/** One `npm pack` shared by the tests. */
let packed: Promise<Packed> | undefined;
function pack(): Promise<Packed> {
  packed ??= (async () => {
    const result = await runNpm(['pack', '--json', '--pack-destination', work.root], { cwd: REPO, timeoutMs: 240_000 });
    assert.equal(result.code, 0, `npm pack failed:\n${result.stderr}`);
    const [info] = JSON.parse(result.stdout) as { filename: string; files: { path: string }[] }[];
    assert.ok(info !== undefined, 'npm pack --json describes the tarball');
    return { tarball: join(work.root, info.filename), files: info.files.map((f) => f.path).sort() };
  })();
  return packed;
}

/**
 * The non-relative module specifiers of a compiled file or declaration file: `from '...'`,
 * `import('...')`, `require('...')` and bare `import '...'`, each ending its statement or call.
 */
function bareImports(source: string): string[] {
  const specifier = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"])([^'"\n]+)\1(?=\s*(?:;|\)|,|$|with\b|assert\b))/gm;
  return [...source.matchAll(specifier)].map((m) => m[2]!).filter((spec) => !spec.startsWith('.') && !spec.startsWith('/'));
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The README's quick start, as written. */
function quickStart(): string {
  const code = readmeQuickStart(REPO);
  assert.ok(code !== null, 'README.md has a quick start block between the quickstart markers');
  return code;
}

test('npm pack ships the compiled engine, its workers, the docs and the README, and nothing else', { timeout: 300_000 }, async () => {
  const { files } = await pack();
  const stray = files.filter((f) => !SHIPPED.test(f));
  assert.deepEqual(stray, [], 'files outside dist/src, dist/workers, dist/cjs, docs/ and the README');
  assert.deepEqual(
    files.filter((f) => f.endsWith('.tsbuildinfo') || (f.endsWith('.ts') && !f.endsWith('.d.ts'))),
    [],
    'no TypeScript sources or build info',
  );
  // The entry points package.json names, and the workers the engine starts by URL.
  const entries = [
    PACKAGE.main,
    PACKAGE.types,
    ...Object.values(PACKAGE.bin),
    ...Object.values(PACKAGE.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e))),
    'dist/cjs/package.json',
    'dist/cjs/workers/flush.js',
    'dist/workers/flush.js',
    'dist/workers/compress.js',
    'dist/workers/hydrate.js',
    'dist/workers/upload.js',
  ].map((p) => p.replace(/^\.\//, ''));
  for (const entry of entries) assert.ok(files.includes(entry), `${entry} is in the tarball`);
  // Every compiled file has its source: an incremental build leaves the outputs of deleted sources
  // behind, and they must not ship (build from a clean dist/ if this fails).
  const orphans = files
    .map((f) => /^dist\/(?:cjs\/)?((?:src|workers)\/.+?)\.(?:js|d\.ts|js\.map)$/.exec(f)?.[1])
    .filter((stem): stem is string => stem !== undefined && !existsSync(join(REPO, `${stem}.ts`)));
  assert.deepEqual(orphans, [], 'compiled files whose source is gone');
  // Whatever the shipped code and declarations import is a Node builtin or a dependency: a
  // devDependency (or a peer-bench library) imported here would be missing from a user's install.
  const undeclared = files
    .filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'))
    .flatMap((f) => bareImports(readFileSync(join(REPO, f), 'utf8')).map((spec) => ({ file: f, spec })))
    .filter(({ spec }) => !isBuiltin(spec) && !(packageName(spec) in PACKAGE.dependencies))
    .map(({ file, spec }) => `${file}: '${spec}'`);
  assert.deepEqual(undeclared, [], 'imports of packages that are not dependencies');
});

test('the tarball installs in a new app with no TypeScript and no build, and runs the README quick start', { timeout: 600_000 }, async () => {
  const { tarball } = await pack();
  const app = join(work.root, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'aof2-user-app', version: '1.0.0', private: true, type: 'module', dependencies: { aof2: `file:${tarball}` } }, null, 2)}\n`,
  );

  const install = await runNpm(['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, timeoutMs: 480_000 });
  const output = `${install.stdout}${install.stderr}`;
  assert.equal(install.code, 0, `npm install failed:\n${output}`);
  assert.doesNotMatch(output, /npm warn/i, `npm install printed warnings:\n${output}`);
  const installed = join(app, 'node_modules', PACKAGE.name);
  assert.equal((JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { version: string }).version, PACKAGE.version);
  // No compiler came along, so nothing could have been built; nor the test and benchmark tools, nor
  // the libraries only peer-bench uses. (Some devDependencies, e.g. an @aws-sdk credential
  // provider, are also installed as dependencies of dependencies: not listed here.)
  for (const tool of ['typescript', 'dependency-cruiser', 'fast-check', 'tinybench', 'autocannon', 'lmdb', 'hypercore', 'sonic-boom']) {
    assert.ok(!existsSync(join(app, 'node_modules', tool)), `${tool} is not installed`);
  }

  // The quick start, as written, in the app's directory (its ./data lands in the app).
  const code = quickStart();
  writeFileSync(join(app, 'quickstart.mjs'), code);
  const started = await run(process.execPath, ['quickstart.mjs'], { cwd: app, timeout: 60_000 });
  assert.equal(started.stdout, QUICK_START_OUTPUT);
  assert.equal(started.stderr, '', 'the quick start prints no warning');

  // The same code type-checks against the declarations the tarball ships (exports → types),
  // with this project's compiler and Node types (a TypeScript user brings their own).
  // skipLibCheck, as most apps set it: checking all of @types/node costs ~10 s of CPU, and what it
  // would catch in aof2's declarations (an import of a package a user does not get) is checked
  // above, on the tarball's files.
  writeFileSync(join(app, 'quickstart.ts'), code);
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        typeRoots: [join(REPO, 'node_modules', '@types')],
        types: ['node'],
      },
      files: ['quickstart.ts'],
    }),
  );
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '-p', app], { cwd: app, timeout: 120_000 }).catch((err: Error & { stdout?: string }) => {
    assert.fail(`the quick start does not type-check against the installed package:\n${err.stdout ?? err.message}`);
  });

  // The admin CLI, through the bin link npm made.
  const admin = await run(process.execPath, [join(app, 'node_modules', '.bin', Object.keys(PACKAGE.bin)[0]!), '--version'], { cwd: app, timeout: 60_000 });
  assert.equal(admin.stdout.trim(), PACKAGE.version);
});
