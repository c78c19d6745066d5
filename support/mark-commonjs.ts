/**
 * Build step (`npm run build`): marks a directory of compiled output as CommonJS, for Node, by
 * writing a package.json there that says so. The package itself is `"type": "module"`, so without
 * it the CommonJS flush worker of dist/cjs/ (tsconfig.flush-worker.json) would be read as ESM.
 *
 *   node dist/support/mark-commonjs.js dist/cjs
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (dir === undefined) {
  process.stderr.write('usage: node dist/support/mark-commonjs.js <directory>\n');
  process.exit(2);
}
writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
