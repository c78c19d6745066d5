/**
 * The README's quick start and streams example are code users paste: run them exactly as written
 * (only `./data` is pointed at a temp root), importing the package by its name the way the README
 * says, so the examples cannot rot.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readmeBlock } from '../../support/readme-quickstart.js';
import { tempRoot } from '../../support/tmp.js';

// dist/test/integration/readme.test.js → the repository root
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** The ```ts block of README.md between `<!-- NAME:start ... -->` and `<!-- NAME:end -->`. */
function readmeCode(name: string): string {
  const code = readmeBlock(REPO, name);
  assert.ok(code !== null, `README.md has a block between the ${name} markers`);
  return code;
}

/** Runs `code` as an ES module inside the package directory (so `import 'aof2'` resolves), with `./data` pointed at `root`. */
async function runAsWritten(t: TestContext, code: string, root: string): Promise<string> {
  // Inside the package directory, so `import 'aof2'` resolves through package.json#exports
  // (a package may import itself by name), exactly as for code in a clone.
  const dir = mkdtempSync(join(REPO, 'dist', '.readme-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'example.mjs');
  writeFileSync(file, code.replace("'./data'", JSON.stringify(join(root, 'data'))));
  return new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [file], { timeout: 30_000 }, (err, out, errOut) => {
      if (err !== null) reject(new Error(`the README example failed: ${err.message}\n${errOut}`));
      else resolve(out);
    });
  });
}

test('the README quick start runs as written and prints the record it appended', async (t) => {
  const code = readmeCode('quickstart');
  assert.match(code, /from 'aof2'/);
  assert.ok(code.split('\n').length <= 20, 'the quick start stays short');
  const { root, cleanup } = tempRoot('aof2-readme-');
  t.after(cleanup);
  const stdout = await runAsWritten(t, code, root);
  assert.equal(stdout, '0 {"order":"ord-1","total":4200}\n');
});

test('the README streams example runs as written: a pipeline in, a read stream out', async (t) => {
  const code = readmeCode('streams-example');
  assert.match(code, /createWriteStream\(\)/);
  assert.match(code, /createReadStream\(/);
  const { root, cleanup } = tempRoot('aof2-readme-streams-');
  t.after(cleanup);
  const stdout = await runAsWritten(t, code, root);
  assert.equal(stdout, '0 {"e":"signup"}\n1 {"e":"login"}\n');
});
