/**
 * `.c8rc.json` leaves out of the coverage figure exactly the modules that compile to no code (a
 * type-only module emits `export {};`, nothing imports it at run time, and c8's `all` would count
 * its interfaces as uncovered lines). A new type-only module must be added there; a listed module
 * that gains code must come off the list, or its code would go uncounted (docs/decisions.md,
 * "Coverage").
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { test } from 'node:test';
import { PACKAGE_ROOT } from '../../support/paths.js';

const DIST = join(PACKAGE_ROOT, 'dist');
/** How `.c8rc.json` names a module in every build (dist/ and the flush worker's dist/cjs/). */
const EXCLUDE_PREFIX = 'dist/**/';

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return jsFiles(path);
    return e.name.endsWith('.js') ? [path] : [];
  });
}

/** True when the compiled module holds nothing but comments and `export {};`. */
function emitsNoCode(path: string): boolean {
  const code = readFileSync(path, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .replace(/\s/g, '');
  return code === 'export{};';
}

test('the coverage excludes exactly the shipped modules that compile to no code', () => {
  const config = JSON.parse(readFileSync(join(PACKAGE_ROOT, '.c8rc.json'), 'utf8')) as { exclude: string[] };
  for (const pattern of config.exclude) assert.ok(pattern.startsWith(EXCLUDE_PREFIX), `${pattern} names a module as ${EXCLUDE_PREFIX}<path>`);
  const excluded = config.exclude.map((p) => p.slice(EXCLUDE_PREFIX.length)).sort();
  const codeless = [...jsFiles(join(DIST, 'src')), ...jsFiles(join(DIST, 'workers'))]
    .filter(emitsNoCode)
    .map((p) => relative(DIST, p).split(sep).join('/'))
    .sort();
  assert.ok(codeless.length > 0, 'the build has type-only modules (src/read/ports.ts at least)');
  assert.deepEqual(excluded, codeless);
});
