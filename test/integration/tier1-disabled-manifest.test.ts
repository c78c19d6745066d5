/**
 * With `tier1: { enabled: false }` sealed segments stay raw and SEALED: nothing is queued for
 * compression (a regression found by the aof2-admin fixture: every seal used to be retried against
 * a missing pool until it was recorded COMPRESSION_FAILED, a final state).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofManager } from '../../src/index.js';
import { ManifestLog } from '../../src/manifest/manifest-log.js';
import { SegmentState } from '../../src/format/snapshot.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';
import { manifestDir } from '../../src/format/root-layout.js';

test('with Tier 1 disabled, sealed segments stay SEALED and no compression is attempted', async (t) => {
  const { root, cleanup } = tempRoot('aof2-t1off-');
  t.after(cleanup);
  const manager = await AofManager.open({ root, fsync: 'always', tier0: { segmentBytes: 4096, arenaBytes: 8 * 4096 }, tier1: { enabled: false } });
  let stats;
  try {
    const log = await manager.openStream('s');
    for (let i = 0; i < 20; i++) await log.append(payloadFor(i, 500));
    await manager.settle();
    stats = manager.stats().tier1;
  } finally {
    await manager.close();
  }
  assert.equal(stats.compressFailures, 0);
  assert.ok(stats.rawPendingBytes >= 0, `rawPendingBytes ${stats.rawPendingBytes}`);
  const { manifest, catalog } = await ManifestLog.open({ dir: manifestDir(root) });
  await manifest.close();
  const states = catalog.entries('s').map((e) => e.state);
  assert.ok(states.length >= 2);
  assert.deepEqual(states, states.map(() => SegmentState.SEALED));
});
