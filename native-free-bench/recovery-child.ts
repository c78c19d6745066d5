/**
 * Child process of the recovery suite (recovery.ts), not a benchmark itself:
 *
 *   node recovery-child.js <root> <segmentBytes> <bytes>
 *
 * Opens the root with the suite's options, appends `bytes` of 1 KiB records to the stream, makes
 * them durable (`flush()`), prints `ready <nextId>` and idles until the parent SIGKILLs it: the
 * records it wrote after the last sealed segment are left in an unsealed tail that the next open
 * must scan.
 */
import { AofManager } from '../src/index.js';
import { patternPayload, TIER1_OFF } from './fixtures.js';

const [root, segmentArg, bytesArg] = process.argv.slice(2);
const SIZE = 1024;
const manager = await AofManager.open({ root: root!, tier0: { segmentBytes: Number(segmentArg) }, tier1: TIER1_OFF, fsync: 'never' });
const log = await manager.openStream('recovery');
const payload = patternPayload(SIZE);
const records = Math.ceil(Number(bytesArg) / SIZE);
for (let i = 0; i < records; i++) {
  try {
    log.appendSync(payload);
  } catch {
    await log.append(payload);
  }
}
await log.flush();
process.stdout.write(`ready ${log.nextId}\n`);
setInterval(() => undefined, 60_000);
