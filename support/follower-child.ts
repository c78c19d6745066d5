/**
 * A follower process whose only work is a `follow` loop (test/integration/follower.test.ts; not a
 * test file itself): nothing else keeps its event loop alive, as in a small consumer service.
 *
 *   node follower-child.js <cacheDir> <options json> <stream> <from> <count>
 *
 * Opens `AofManager.open({ root: cacheDir, ...options, follower })`, prints `following <nextId>`,
 * then follows `stream` from `from` until it has `count` records, checking each against
 * `followPayload(stream, id, size)` (`size` in the options json), prints `got <last id + 1>`,
 * closes and exits 0. Anything unexpected prints `error <message>` and exits 2. If the process
 * ended before `got` (its event loop emptied while it waited), the parent sees no `got` line.
 */
import { AofManager, type AofManagerOptions } from '../src/index.js';
import { followPayload } from './read-only-workload.js';
import { sameBytes } from './tmp.js';

const [cacheDir, json, stream, fromArg, countArg] = process.argv.slice(2);
function die(message: string): never {
  process.stdout.write(`error ${message.replace(/\n/g, ' ')}\n`);
  process.exit(2);
}
if (cacheDir === undefined || json === undefined || stream === undefined || fromArg === undefined || countArg === undefined) {
  die('usage: follower-child.js <cacheDir> <options json> <stream> <from> <count>');
}
const { size, ...options } = JSON.parse(json) as Omit<AofManagerOptions, 'root'> & { size: number };
try {
  const manager = await AofManager.open({ root: cacheDir, ...options });
  const log = await manager.openStream(stream);
  process.stdout.write(`following ${log.nextId}\n`);
  let next = Number(fromArg);
  const end = next + Number(countArg);
  for await (const record of log.follow({ from: next })) {
    if (record.id !== next || !sameBytes(record.payload, followPayload(stream, record.id, size))) die(`record ${record.id} (expected ${next}) is not what the writer appended`);
    next++;
    if (next === end) break;
  }
  process.stdout.write(`got ${next}\n`);
  await manager.close();
} catch (err) {
  die(String(err));
}
