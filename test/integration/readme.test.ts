/**
 * The README's quick start is code users paste: run it exactly as written (only `./data` is
 * pointed at a temp root), importing the package by its name the way the README says, so the
 * example cannot rot.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readmeQuickStart } from '../../support/readme-quickstart.js';
import { tempRoot } from '../../support/tmp.js';

// dist/test/integration/readme.test.js → the repository root
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

function quickStart(): string {
  const code = readmeQuickStart(REPO);
  assert.ok(code !== null, 'README.md has a quick start block between the quickstart markers');
  return code;
}

test('the README quick start runs as written and prints the record it appended', async (t) => {
  const code = quickStart();
  assert.match(code, /from 'aof2'/);
  assert.ok(code.split('\n').length <= 20, 'the quick start stays short');
  const { root, cleanup } = tempRoot('aof2-readme-');
  t.after(cleanup);
  // Inside the package directory, so `import 'aof2'` resolves through package.json#exports
  // (a package may import itself by name), exactly as for code in a clone.
  const dir = mkdtempSync(join(REPO, 'dist', '.readme-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'quickstart.mjs');
  writeFileSync(file, code.replace("'./data'", JSON.stringify(join(root, 'data'))));

  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [file], { timeout: 30_000 }, (err, out, errOut) => {
      if (err !== null) reject(new Error(`quick start failed: ${err.message}\n${errOut}`));
      else resolve(out);
    });
  });
  assert.equal(stdout, '0 {"order":"ord-1","total":4200}\n');
});
