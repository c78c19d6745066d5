/**
 * Regression: a compression attempt that failed while the manager was closing was recorded
 * COMPRESSION_FAILED after a single attempt. That state is final (recovery never queues it again),
 * so one worker crash during close() left the segment raw forever. Now an attempt cut short by
 * close() leaves the segment SEALED and the next open compresses it; only MAX_COMPRESS_ATTEMPTS
 * failures (or corruption) give up.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofManager } from '../../src/index.js';
import { SegmentState } from '../../src/format/snapshot.js';
import { MAX_COMPRESS_ATTEMPTS } from '../../src/tier1/tier1.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';
import { verifyLog } from '../../support/engine.js';
import { checkCatalogAgainstFiles, withTimeout } from '../../support/tier1-engine.js';

test('a compression that crashes during close() is retried at the next open, not given up', async (t) => {
  const { root, cleanup } = tempRoot('aof2-closeint-');
  t.after(cleanup);
  // A Tier 2, so that close() seals the tail (without one it leaves it open, uncompressed).
  const options = { root, tier0: { arenaBytes: 4 * 65536, segmentBytes: 65536 }, tier2: { kind: 'fs', root: `${root}-tier2` } } as const;
  const expected = (id: number): Uint8Array => payloadFor(id, 300);
  const n = 100; // one segment, sealed by close() itself
  const saved = process.env['AOF2_FAILPOINTS'];
  // Every compress task kills its worker thread: each attempt costs a thread start, so close()
  // sees the first failure long before MAX_COMPRESS_ATTEMPTS could be reached.
  process.env['AOF2_FAILPOINTS'] = 'compress.crash=1';
  try {
    const manager = await AofManager.open(options);
    const log = await manager.openStream('s');
    for (let id = 0; id < n; id++) log.appendSync(expected(id));
    await withTimeout(manager.close(), 10_000, 'close');
    const stats = manager.stats().tier1;
    assert.equal(stats.segmentsSealed, 1);
    assert.equal(stats.segmentsCompressed, 0);
    assert.match(stats.lastError ?? '', /AOF_ERR_WORKER_FAILED/, 'the attempt crashed');
  } finally {
    if (saved === undefined) delete process.env['AOF2_FAILPOINTS'];
    else process.env['AOF2_FAILPOINTS'] = saved;
  }
  // The crashed attempt's .t1.tmp is left for the startup sweep.
  const before = await checkCatalogAgainstFiles(root, 's', 'after close', { allowTmp: true });
  assert.equal(before.raw, 1);
  const entry = before.entries[0]!;
  assert.equal(entry.state, SegmentState.SEALED, `an interrupted compression must stay SEALED, got state ${entry.state} after ${entry.attempts} attempt(s) of ${MAX_COMPRESS_ATTEMPTS}`);

  const manager = await AofManager.open(options);
  const log = await manager.openStream('s');
  assert.equal(manager.stats().recovery.removedFiles, before.files.tmp.length, 'the orphan is swept at open');
  await verifyLog(log, expected, n);
  await withTimeout(manager.close(), 10_000, 'close');
  assert.equal(manager.stats().tier1.segmentsCompressed, 1, 'the next open compressed it');
  const after = await checkCatalogAgainstFiles(root, 's');
  assert.equal(after.tier1, 1);
  assert.equal(after.raw, 0);
});
