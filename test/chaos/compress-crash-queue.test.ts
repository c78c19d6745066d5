/**
 * Regression (found by `npm run chaos`, crash-storm: close() hung for good): piscina 5 with
 * `minThreads: 0` strands a task queued behind one whose worker exits: the dead worker is removed,
 * no thread is started for the queue (the minimum is 0), and the queued task waits until some later
 * `run()` starts one. Tier 1 ran two compressions at once on a one-thread pool (one queued inside
 * piscina), so a crash of the running one left the other pending until the next seal, and forever
 * once ingest stopped: `manager.close()` never returned. Now no compression waits inside piscina.
 *
 * `compress.crash=1`: every compression attempt kills its worker, so every segment must end
 * COMPRESSION_FAILED after its attempts, and close() must return.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofManager, type AofManagerOptions } from '../../src/index.js';
import { MAX_COMPRESS_ATTEMPTS } from '../../src/tier1/tier1.js';
import { withFailpoints } from '../../support/failpoints-env.js';
import { sealedCount, until, withTimeout } from '../../support/tier1-engine.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';

const SEGMENT_BYTES = 16 * 1024;

function options(root: string): AofManagerOptions {
  return { root, tier0: { arenaBytes: 8 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES }, tier1: { frameBytes: 4096 }, tier2: { kind: 'none' } };
}

test('compress workers that always crash: every segment gives up and close() returns (no task stranded in the pool)', { timeout: 90_000 }, async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  const stats = await withFailpoints('compress.crash=1', '9', async () => {
    const manager = await AofManager.open(options(root));
    try {
      const log = await manager.openStream('s');
      // Ten segments sealed in a burst: compressions queue up behind each other.
      for (let id = 0; id < 160; id++) assert.equal(await log.append(payloadFor(id, 1000)), id);
      const sealed = sealedCount(log);
      assert.ok(sealed >= 8, `${sealed} sealed segments`);
      await until(() => manager.stats().tier1.compressFailures >= sealed && manager.stats().tier1.compressQueue === 0, 'every compression to give up', 60_000);
      await withTimeout(manager.close(), 30_000, 'close with crashing compress workers');
      return manager.stats().tier1;
    } finally {
      await withTimeout(manager.close(), 30_000, 'close');
    }
  });
  assert.equal(stats.segmentsCompressed, 0);
  assert.ok(stats.compressRetries >= stats.compressFailures * (MAX_COMPRESS_ATTEMPTS - 1));
  assert.match(stats.lastError ?? '', /AOF_ERR_WORKER_FAILED/);
});
