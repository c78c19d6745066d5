/**
 * `npm run bench` writes generated blocks into docs/performance.md, and `npm run lint:md` (in
 * `npm test`) lints that file: a block the generator writes must pass the lint as written, or the
 * next benchmark run breaks the test suite. Linted in process with markdownlint (the engine
 * markdownlint-cli2 runs) and the repository's .markdownlint-cli2.jsonc.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Configuration } from 'markdownlint';
import { lint } from 'markdownlint/promise';
import ts from 'typescript';
import { renderMarkdown, spliceBlock, toolName, type BenchDocument } from '../../../native-free-bench/report.js';
import { PACKAGE_ROOT } from '../../../support/paths.js';

/** The `config` of .markdownlint-cli2.jsonc (JSON with comments: TypeScript's parser reads it). */
function repositoryConfig(): Configuration {
  const path = join(PACKAGE_ROOT, '.markdownlint-cli2.jsonc');
  const parsed = ts.parseConfigFileTextToJson(path, readFileSync(path, 'utf8'));
  assert.equal(parsed.error, undefined, 'the lint configuration parses');
  const config = (parsed.config as { config?: Configuration }).config;
  assert.ok(config !== undefined, '.markdownlint-cli2.jsonc has a config');
  return config;
}

async function lintErrors(name: string, markdown: string): Promise<string[]> {
  const results = await lint({ strings: { [name]: markdown }, config: repositoryConfig() });
  return (results[name] ?? []).map((e) => `${name}:${e.lineNumber} ${e.ruleNames.join('/')} ${e.ruleDescription} ${e.errorContext ?? ''}`);
}

function benchDocument(tool: string): BenchDocument {
  return JSON.parse(readFileSync(join(PACKAGE_ROOT, 'docs', 'perf', `${tool}.json`), 'utf8')) as BenchDocument;
}

test('docs/performance.md with every block regenerated from docs/perf passes the Markdown lint', async () => {
  let markdown = readFileSync(join(PACKAGE_ROOT, 'docs', 'performance.md'), 'utf8');
  for (const tool of ['native-free-bench', 'native-codec-bench', 'peer-bench']) {
    const doc = benchDocument(tool);
    assert.ok(doc.results.length > 0, `${tool}.json holds results`);
    markdown = spliceBlock(markdown, toolName(doc), renderMarkdown(doc));
    assert.ok(markdown.includes(`<!-- bench:${tool}:begin -->`), `${tool}'s block is in the document`);
  }
  assert.deepEqual(await lintErrors('performance.md', markdown), []);
});

test('a failed suite, a skipped one and a cost-of-the-tiers table in a new block pass the lint; a message cannot open an HTML tag', async () => {
  const doc = benchDocument('native-codec-bench');
  assert.ok(
    doc.results.some((r) => r.costOfTiers !== undefined),
    'the run has defaults twins, so the block has its second table',
  );
  doc.errors = [{ suite: 'tier2-cold-read', message: 'ENOENT: no such file <root>/streams/a\n    at open (node:fs)' }];
  doc.skipped = [{ suite: 'redis-streams', reason: 'redis-server is not installed; install it with: apt-get install -y redis-server <as root>' }];
  const block = renderMarkdown(doc);
  assert.match(block, /Suite tier2-cold-read failed: ENOENT: no such file &lt;root>\/streams\/a$/m);
  assert.match(block, /^Suite redis-streams skipped: redis-server is not installed; install it with: apt-get install -y redis-server &lt;as root>$/m);
  // A document that does not have the block yet gets it appended, after its prose.
  const markdown = spliceBlock('# Performance\n\nProse written by people.\n', toolName(doc), block);
  assert.deepEqual(await lintErrors('new.md', markdown), []);
});
