/**
 * Child process of test/integration/tier1-codec.test.ts (not a test file itself): in a fresh
 * process, so nothing loaded before counts, opens a manager with `tier1.codec` = `<codec>`, appends
 * enough records to seal and compress several segments, reads them all back through the hydrate
 * threads (an arena of 4 slots), closes, and prints one JSON line: the codec stats() reported,
 * the frames the hydrate threads decompressed, and the native addons mapped into the process
 * (every thread's: /proc/self/maps), so the parent can tell which zstd the worker threads loaded.
 *
 *   node codec-child.js <root> <auto|zstd-addon|zstd-zlib>
 */
import { AofManager } from '../src/index.js';
import type { CodecChoice } from '../src/codec/zstd.js';
import { mappedAddons } from '../native-free-bench/addons.js';
import { compressionSettled } from './tier1-engine.js';

const [root, codec] = process.argv.slice(2);
if (root === undefined || codec === undefined) {
  process.stderr.write('usage: codec-child.js <root> <auto|zstd-addon|zstd-zlib>\n');
  process.exit(2);
}
const SEGMENT_BYTES = 64 * 1024;
const RECORDS = 600;
const manager = await AofManager.open({
  root,
  tier0: { arenaBytes: 4 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES },
  tier1: { codec: codec as CodecChoice },
  tier2: { kind: 'none' },
});
const log = await manager.openStream('s');
const payload = (id: number): Uint8Array => new TextEncoder().encode(`{"id":${id},"pad":"${'x'.repeat(900)}"}`);
for (let id = 0; id < RECORDS; id++) await log.append(payload(id));
await log.flush();
await compressionSettled(manager, log, 60_000);
let ok = 0;
for await (const rec of log.read({ from: 0 })) if (new TextDecoder().decode(rec.payload) === new TextDecoder().decode(payload(rec.id))) ok++;
const stats = manager.stats().tier1;
await manager.close();
process.stdout.write(
  `${JSON.stringify({ codec: stats.codec, compressed: stats.segmentsCompressed, framesDecompressed: stats.framesDecompressed, recordsOk: ok, addons: mappedAddons() })}\n`,
);
