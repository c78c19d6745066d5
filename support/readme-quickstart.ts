/**
 * Code blocks of the README that tests run as written: the ```ts block between
 * `<!-- NAME:start ... -->` and `<!-- NAME:end -->`. The quick start (`quickstart`) is run by
 * test/integration/readme.test.ts (inside the repository) and package-install.test.ts (in an app
 * that installed the packed tarball); readme.test.ts runs the other marked examples too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The TypeScript source of the README block named `name`, or null when README.md has no such block. */
export function readmeBlock(repo: string, name: string): string | null {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const block = new RegExp(`<!-- ${name}:start[^>]*-->\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\`\\s*<!-- ${name}:end -->`).exec(readme);
  return block === null ? null : block[1]!;
}

/** The quick start's TypeScript source, or null when README.md has no marked block. */
export function readmeQuickStart(repo: string): string | null {
  return readmeBlock(repo, 'quickstart');
}
