/**
 * Child process of test/integration/flush-worker-entry.test.ts (not a test file itself): loads aof2
 * from an unpacked copy of the npm package (`<package>/dist/src/index.js`), not from this build, so
 * the flush worker starts from the files the package ships. Opens a manager on `<root>`, opens a
 * stream, makes one record durable (fsync 'always'), closes, and prints one JSON line: `open` and
 * `openStream` ('ok' or the error's code), `durableId`, `flushWorker` and `failed` (from stats()
 * before close), `closed`.
 *
 *   node packed-child.js <package dir> <root> <background|open>
 *
 * The last argument is `tier0.prefault`: under 'open', `open()` itself waits for the flush worker.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Aof from '../src/index.js';

const [pkg, root, prefault] = process.argv.slice(2);
if (pkg === undefined || root === undefined || (prefault !== 'background' && prefault !== 'open')) {
  process.stderr.write('usage: packed-child.js <package dir> <root> <background|open>\n');
  process.exit(2);
}
const aof = (await import(pathToFileURL(join(pkg, 'dist', 'src', 'index.js')).href)) as typeof Aof;
const codeOf = (err: unknown): string => (err instanceof aof.AofError ? err.code : `not an AofError: ${String(err)}`);
const report: Record<string, unknown> = {};
let manager: Aof.AofManager | null = null;
try {
  manager = await aof.AofManager.open({
    root,
    fsync: 'always',
    tier0: { arenaBytes: 8 * 64 * 1024, segmentBytes: 64 * 1024, prefault },
    tier1: { enabled: false },
    tier2: { kind: 'none' },
  });
  report['open'] = 'ok';
} catch (err) {
  report['open'] = codeOf(err);
}
if (manager !== null) {
  try {
    const log = await manager.openStream('s');
    report['openStream'] = 'ok';
    await log.append(new TextEncoder().encode('first record'));
    report['durableId'] = log.durableId;
  } catch (err) {
    report['openStream'] = codeOf(err);
  }
  const stats = manager.stats();
  report['flushWorker'] = stats.flushWorker;
  report['failed'] = stats.failure !== null;
  await manager.close();
  report['closed'] = true;
}
process.stdout.write(`${JSON.stringify(report)}\n`);
