/**
 * Regression: flush() called before the flush worker finished booting used to hang forever under
 * fsync 'never' (and wait a full interval under 'interval'). The worker initialised its "last sync
 * request seen" from the shared word at boot, so a request made earlier was taken as already served.
 * Appending and flushing right after open reliably beats the worker's boot (it loads its modules
 * in a fresh isolate), which is the window this test exercises.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AofManager, type FsyncPolicy } from '../../src/index.js';
import { payloadFor, tempRoot } from '../helpers/tmp.js';

/** Resolves with `work`, or rejects when it takes longer than `ms` (the old bug hung forever). */
async function within<T>(ms: number, work: Promise<T>, what: string): Promise<T> {
  const ac = new AbortController();
  try {
    return await Promise.race([
      work,
      sleep(ms, undefined, { signal: ac.signal }).then(() => Promise.reject(new Error(`${what} did not finish within ${ms} ms`))),
    ]);
  } finally {
    ac.abort();
  }
}

for (const fsync of ['never', 'interval'] satisfies FsyncPolicy[]) {
  test(`flush() right after open completes promptly (fsync '${fsync}')`, async (t) => {
    const { root, cleanup } = tempRoot();
    const manager = await AofManager.open({ root, tier0: { arenaBytes: 4 * 4096, segmentBytes: 4096 }, fsync, fsyncIntervalMs: 60_000 });
    t.after(async () => {
      await manager.close();
      cleanup();
    });
    const log = await manager.openStream('early');
    for (let i = 0; i < 3; i++) assert.equal(log.appendSync(payloadFor(i, 10)), i);
    await within(5_000, log.flush(), 'flush()');
    assert.equal(log.durableId, 2);
  });
}
