/**
 * Regression (found by `npm run chaos -- --only disk-full`): with Tier 1 on, a flush that failed
 * with ENOSPC left one slot SEALING for good (the flush worker never finishes it), and Tier 1's
 * sealing watcher waited for it forever, so `manager.close()` never returned. Now close() settles
 * and every acknowledged record reads back after a reopen once space is freed.
 *
 * Needs a small filesystem: a tmpfs mounted here (root or CAP_SYS_ADMIN); skipped with the reason
 * when mount is refused.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AofError, AofManager, ErrorCode, type AofManagerOptions } from '../../src/index.js';
import { Deadline } from '../../support/engine.js';
import { withTimeout } from '../../support/tier1-engine.js';
import { payloadFor, sameBytes } from '../../support/tmp.js';
import { mountTmpfs } from '../../support/tmpfs.js';

const SEGMENT_BYTES = 256 * 1024;
const size = (id: number): number => 100 + ((id * 7919) % 15_000);

function options(root: string): AofManagerOptions {
  return { root, tier0: { arenaBytes: 8 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES }, tier1: { frameBytes: 16 * 1024, compressionLevel: 1 }, tier2: { kind: 'none' }, fsync: 'always' };
}

test('ENOSPC with Tier 1 on: close() returns, nothing acknowledged is lost, appends resume once space is freed', { timeout: 120_000 }, async (t) => {
  const mnt = mountTmpfs(t, 'size=12m');
  if (mnt === null) return;
  const root = join(mnt, 'root');
  const ballast = join(mnt, 'ballast');
  writeFileSync(ballast, new Uint8Array(3 * 1024 * 1024));
  const manager = await AofManager.open(options(root));
  let acked = 0;
  let failure: unknown = null;
  const done = new Set<number>();
  const log = await manager.openStream('full');
  let next = 0;
  // 12 MiB minus the ballast fill in seconds; a disk that never fills fails the test instead of looping.
  const filling = new Deadline('the tmpfs to fill (ENOSPC)', 60_000);
  const writer = async (): Promise<void> => {
    while (failure === null) {
      filling.check();
      const id = next++;
      try {
        assert.equal(await withTimeout(log.append(payloadFor(id, size(id))), 20_000, `append ${id}`), id);
        done.add(id);
        while (done.has(acked)) done.delete(acked++);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all([writer(), writer(), writer(), writer()]);
  assert.ok(failure instanceof AofError && failure.code === ErrorCode.IO, `expected AOF_ERR_IO, got ${String(failure)}`);
  assert.equal(failure.details?.['errno'], 'ENOSPC');
  await withTimeout(manager.close(), 20_000, 'close after ENOSPC');

  rmSync(ballast);
  const again = await AofManager.open(options(root));
  try {
    const reopened = await again.openStream('full');
    assert.ok(reopened.nextId >= acked, `nextId ${reopened.nextId} < ${acked} acknowledged`);
    let id = 0;
    for await (const rec of reopened.read({ from: 0 })) {
      assert.equal(rec.id, id);
      assert.ok(sameBytes(rec.payload, payloadFor(id, size(id))), `record ${id} differs`);
      id++;
    }
    assert.equal(id, reopened.nextId);
    assert.equal(await reopened.append(payloadFor(id, size(id))), id);
  } finally {
    await withTimeout(again.close(), 20_000, 'close after refill');
  }
});
