/**
 * Child process of test/integration/reopen-cycles.test.ts (not a test file itself): a script run
 * over and over, in one process. Each cycle opens a manager on `<root>` with default options (no
 * Tier 2) under `fsync: 'always'`, opens stream `s`, appends one record (`payloadFor(id)` of its
 * id), prints `<id>` once `append()` resolved (the record is durable), and closes the manager; it
 * loops until killed, or `<cycles>` cycles are done (then it exits 0).
 *
 *   node reopen-cycles-child.js <root> <cycles>
 *
 * The parent SIGKILLs it at some point of a cycle (opening, recovering, appending, closing), so a
 * kill lands wherever it lands, and checks what the next open makes of the root.
 */
import { AofManager } from '../src/index.js';
import { REOPEN_PAYLOAD_BYTES, REOPEN_STREAM } from './reopen-cycles.js';
import { payloadFor } from './tmp.js';

const [root, cyclesArg] = process.argv.slice(2);
const cycles = Number(cyclesArg);
if (root === undefined || !Number.isSafeInteger(cycles) || cycles <= 0) {
  process.stderr.write('usage: reopen-cycles-child.js <root> <cycles>\n');
  process.exit(2);
}

for (let i = 0; i < cycles; i++) {
  const manager = await AofManager.open({ root, fsync: 'always' });
  const log = await manager.openStream(REOPEN_STREAM);
  const id = await log.append(payloadFor(log.nextId, REOPEN_PAYLOAD_BYTES));
  process.stdout.write(`${id}\n`);
  await manager.close();
}
