/**
 * The README's quick start: the code block between the `quickstart:start` and `quickstart:end`
 * markers, which test/integration/readme.test.ts (inside the repository) and
 * package-install.test.ts (in an app that installed the packed tarball) run as written.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The quick start's TypeScript source, or null when README.md has no marked block. */
export function readmeQuickStart(repo: string): string | null {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const block = /<!-- quickstart:start[^>]*-->\s*```ts\n([\s\S]*?)```\s*<!-- quickstart:end -->/.exec(readme);
  return block === null ? null : block[1]!;
}
