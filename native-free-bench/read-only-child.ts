/**
 * The writer process of the read-only suite's follow-lag case (native-free-bench/read-only.ts; not
 * a suite itself):
 *
 *   node read-only-child.js <root> <stream> <records per second> <records>
 *
 * Opens a writer on <root> (Tier 1 off: native-free; fsync 'interval'), opens <stream>, prints
 * `ready`, and on the line `go` appends <records> 100-byte records at the given rate, each holding
 * in its first 8 bytes the time of its append, `process.hrtime` in ns as a float64 (CLOCK_MONOTONIC
 * on Linux: the follower's clock too, docs/decisions.md). Records are paced by the shared pacer
 * (pacing.ts: `setImmediate` turns, as live-tail.ts and peer-bench's redis-streams), appendSync,
 * `await append()` for the rest of a turn when the arena pushes back. Prints `done <nextId>` after
 * the last append, flushes, closes, exits.
 */
import { createInterface } from 'node:readline';
import { AofManager, WouldBlockError } from '../src/index.js';
import { pacedWrites } from './pacing.js';
import { FOLLOW_PAYLOAD_BYTES, FOLLOW_TIER0 } from './read-only-options.js';
import { nowNs } from './shared.js';

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
/** The WouldBlock path: `n` records through `await append()`, the first stamped already. */
async function waitingAppends(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (i > 0) stamp[0] = nowNs();
    await log.append(payload.slice());
  }
}
await pacedWrites((records * 1000) / rate, rate, (due) => {
  for (let i = 0; i < due; i++) {
    stamp[0] = nowNs();
    try {
      log.appendSync(payload);
    } catch (err) {
      if (!(err instanceof WouldBlockError)) throw err;
      return waitingAppends(due - i);
    }
  }
  return undefined;
});
process.stdout.write(`done ${log.nextId}\n`);
await manager.close();
process.exit(0);
