/**
 * The writer process of the read-only suite's follow-lag case (native-free-bench/read-only.ts; not
 * a suite itself):
 *
 *   node read-only-child.js <root> <stream> <records per second> <records>
 *
 * Opens a writer on <root> (Tier 1 off: native-free; fsync 'interval'), opens <stream>, prints
 * `ready`, and on the line `go` appends <records> 100-byte records at the given rate, each holding
 * in its first 8 bytes the wall-clock time of its append in ms (`performance.timeOrigin +
 * performance.now()`, comparable across processes of one machine). Records are appended in the
 * batches a 1 ms timer allows (appendSync, `await append()` when the arena pushes back). Prints
 * `done <nextId>` after the last append, flushes, closes, exits.
 */
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { AofManager, WouldBlockError } from '../src/index.js';
import { FOLLOW_PAYLOAD_BYTES, FOLLOW_TIER0 } from './read-only-options.js';

const [root, stream, rateArg, recordsArg] = process.argv.slice(2);
if (root === undefined || stream === undefined || rateArg === undefined || recordsArg === undefined) {
  process.stderr.write('usage: read-only-child.js <root> <stream> <records per second> <records>\n');
  process.exit(2);
}
const rate = Number(rateArg);
const records = Number(recordsArg);
const manager = await AofManager.open({ root, tier0: FOLLOW_TIER0, tier1: { enabled: false }, fsync: 'interval' });
const log = await manager.openStream(stream);
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line === 'go') break;

const payload = new Uint8Array(FOLLOW_PAYLOAD_BYTES);
const stamp = new Float64Array(payload.buffer, 0, 1);
const start = performance.now();
let appended = 0;
while (appended < records) {
  const due = Math.min(records, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
  while (appended < due) {
    stamp[0] = performance.timeOrigin + performance.now();
    try {
      log.appendSync(payload);
    } catch (err) {
      if (!(err instanceof WouldBlockError)) throw err;
      await log.append(payload);
    }
    appended++;
  }
  await sleep(1);
}
process.stdout.write(`done ${log.nextId}\n`);
await manager.close();
process.exit(0);
