/**
 * Regression: the flush worker used to initialise its "last seen sync request" from shared memory
 * when it started, so a flush() issued while the worker was still loading (right after open) was
 * taken as already served. Under fsync 'never' nothing else syncs, and that flush() never resolved.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofManager } from '../../src/index.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';

/** Rejects if `promise` has not settled within `ms`, instead of hanging the suite. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not resolve within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test("flush() right after open resolves under fsync 'never'", async (t) => {
  const { root, cleanup } = tempRoot();
  const manager = await AofManager.open({ root, tier0: { arenaBytes: 8 * 4096, segmentBytes: 4096 }, fsync: 'never' });
  // Closing syncs everything, which also settles a flush() that is stuck: the test fails instead of
  // hanging. Close before removing the root: close still writes (seals, manifest records).
  t.after(async () => {
    await manager.close();
    cleanup();
  });
  const log = await manager.openStream('s');
  assert.equal(log.appendSync(payloadFor(0, 100)), 0);
  await within(log.flush(), 5000, 'flush()');
  assert.equal(log.durableId, 0);
});
