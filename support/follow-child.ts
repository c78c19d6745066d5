/**
 * Child process of test/integration/follow.test.ts (not a test file itself): what a follow leaves
 * behind, seen from the process's lifetime. It opens a manager on `<root>`, appends, and never
 * calls close():
 *
 *   node follow-child.js <root>
 *
 * 1. a follow with a signal reads the records, waits at the tail, and is aborted there: it must
 *    leave no listener on the signal (printed) and nothing that keeps the process alive;
 * 2. a second follow is left waiting at the quiet tail: a wait at the tail holds no timer or
 *    handle, so it does not keep the process alive either (nothing could append any more).
 *
 * Then the script returns. The parent fails when the process does not exit by itself (a ref'd
 * timer or handle left pending), or when a line below is missing.
 */
import { getEventListeners } from 'node:events';
import { AofManager } from '../src/index.js';

const [root] = process.argv.slice(2);
if (root === undefined) {
  process.stderr.write('usage: follow-child.js <root>\n');
  process.exit(2);
}

const manager = await AofManager.open({ root, tier1: { enabled: false } });
const log = await manager.openStream('child');
for (let i = 0; i < 10; i++) log.appendSync(new Uint8Array([i]));

const controller = new AbortController();
const follow = log.follow({ from: 0, signal: controller.signal });
let read = 0;
for (let i = 0; i < 10; i++) if ((await follow.next()).done !== true) read++;
const pending = follow.next(); // waits at the tail
controller.abort(new Error('enough'));
try {
  await pending;
  process.stdout.write('not aborted\n');
} catch (err) {
  process.stdout.write(`read ${read} then ${(err as Error).name}, listeners left ${getEventListeners(controller.signal, 'abort').length}\n`);
}

// Left waiting at the tail, not awaited here: the process must still exit once the script returns.
const idle = log.follow({ from: log.nextId });
void idle.next().then(
  () => process.stdout.write('the idle follow got a record\n'),
  (err: unknown) => process.stdout.write(`the idle follow failed: ${String(err)}\n`),
);
process.on('exit', (code) => process.stdout.write(`exit ${code}\n`));
process.stdout.write('returning\n');
