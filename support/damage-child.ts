/**
 * Child process of test/integration/recovery-damage.test.ts (not a test file itself): the writer
 * of issue 10's repro, killed with SIGKILL by the parent.
 *
 *   node damage-child.js <root> <count>
 *
 * Opens <root> with fsync 'always' (DAMAGE_OPTIONS), appends `count` records to stream DAMAGE_STREAM
 * one at a time (each `await append` resolves once the record is durable), prints `acked <last id>`
 * and `ready`, then idles until killed: the segment stays unsealed, its records all acknowledged.
 */
import { AofManager } from '../src/index.js';
import { DAMAGE_OPTIONS, DAMAGE_STREAM, damagePayload } from './damage-workload.js';

const [root, countArg] = process.argv.slice(2);
if (root === undefined || countArg === undefined) {
  process.stderr.write('usage: damage-child.js <root> <count>\n');
  process.exit(2);
}
const manager = await AofManager.open({ root, ...DAMAGE_OPTIONS });
const log = await manager.openStream(DAMAGE_STREAM);
let last = -1;
for (let i = 0; i < Number(countArg); i++) last = await log.append(damagePayload(log.nextId));
process.stdout.write(`acked ${last}\nready\n`);
setInterval(() => undefined, 60_000);
