/**
 * Issue 12, items 3, 4 and 5, through the engine: what `openStream()` waits for (the flush worker,
 * started by `open()`, which does not wait for it), what comes up in the background (a hydrate
 * thread when there is stored data), the arena faulted in ahead of the writer
 * (`tier0.prefault`), and the write delay (`tier0.writeDelayMs`): a record appended at a low rate
 * reaches its file by itself, and durable appends and `flush()` do not wait for it.
 *
 * No timings are asserted (they belong to the benchmarks): each test checks the mechanism, with a
 * deadline on every wait.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import { AofManager, type AofManagerOptions } from '../../src/index.js';
import { SEGMENT_HEADER_BYTES } from '../../src/format/segment.js';
import { frameLength } from '../../src/format/record.js';
import { segmentFile, waitFor } from '../../support/engine.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';

const KiB = 1024;
const TIER0 = { arenaBytes: 8 * 64 * KiB, segmentBytes: 64 * KiB };

/** Opens a manager on a fresh root; closed, then the root removed, after the test. */
async function open(t: TestContext, options: Omit<AofManagerOptions, 'root'> = {}): Promise<{ manager: AofManager; root: string }> {
  const { root, cleanup } = tempRoot('aof2-warm-');
  const manager = await AofManager.open({ root, tier0: TIER0, tier1: { enabled: false }, ...options });
  t.after(async () => {
    await manager.close();
    cleanup();
  });
  return { manager, root };
}

describe('warm start', () => {
  for (const fsync of ['always', 'interval'] as const) {
    test(`fsync '${fsync}': openStream() resolves with the flush worker running`, async (t) => {
      const { manager } = await open(t, { fsync });
      const log = await manager.openStream('s');
      assert.equal(manager.stats().flushWorker, 'running');
      if (fsync === 'always') {
        assert.equal(await log.append(payloadFor(0, 100)), 0);
      } else {
        log.appendSync(payloadFor(0, 100));
        await log.flush();
      }
      assert.equal(log.durableId, 0);
    });
  }

  test("prefault 'open': open() itself resolves with the flush worker running", async (t) => {
    const { manager } = await open(t, { tier0: { ...TIER0, prefault: 'open' } });
    assert.equal(manager.stats().flushWorker, 'running');
  });

  test('close() right after open(), with the flush worker still starting, stops it and frees the root', async (t) => {
    const { root, cleanup } = tempRoot('aof2-warm-');
    t.after(cleanup);
    const options: AofManagerOptions = { root, tier0: TIER0, tier1: { enabled: false } };
    // open() starts the worker and does not wait for it: a close() at once meets it starting
    // (or, on a slow turn of the event loop, just started: either way it must end cleanly).
    const first = await AofManager.open(options);
    await first.close();
    assert.equal(first.stats().flushWorker, 'stopped');
    assert.equal(first.stats().failure, null);
    const second = await AofManager.open(options); // the lock was released
    try {
      const log = await second.openStream('s');
      await log.append(payloadFor(0, 100));
      await log.flush();
      assert.equal(log.durableId, 0);
    } finally {
      await second.close();
    }
  });

  test('a root with stored data warms a hydrate thread that loads the codec; an empty root does not', async (t) => {
    const { root, cleanup } = tempRoot('aof2-warm-');
    t.after(cleanup);
    const options: AofManagerOptions = { root, tier0: TIER0, tier2: { kind: 'none' } };
    const first = await AofManager.open(options);
    try {
      const log = await first.openStream('s');
      assert.equal(first.stats().tier1.hydrateThreads, 0, 'nothing to read: no thread started');
      for (let id = 0; id < 10; id++) log.appendSync(payloadFor(id, 200));
    } finally {
      await first.close(); // no Tier 2: the segment stays open, with a footer; the next open continues it
    }
    const second = await AofManager.open(options);
    try {
      const log = await second.openStream('s');
      // Before any read: the thread can only be the warm-up's.
      await waitFor(() => second.stats().tier1.hydrateThreads >= 1, 'a hydrate thread started in the background once the flush worker runs', {
        timeoutMs: 20_000,
      });
      const reader = log.openReader({ from: 0 });
      try {
        const rec = await reader.next();
        assert.equal(rec?.id, 0);
      } finally {
        reader.close();
      }
    } finally {
      await second.close(); // waits for the warm-up task
    }
    assert.equal(second.stats().tier1.lastError, null, 'the warm-up task (codec load) succeeded');
  });
});

describe('prefault', () => {
  for (const prefault of ['open', 'background'] as const) {
    test(`'${prefault}': the whole arena is faulted in after open, with appends going on`, async (t) => {
      const { manager } = await open(t, { tier0: { ...TIER0, prefault } });
      const log = await manager.openStream('s');
      for (let id = 0; id < 200; id++) log.appendSync(payloadFor(id, 500));
      await log.flush();
      await waitFor(() => manager.stats().prefault.doneBytes === manager.stats().prefault.totalBytes, 'the prefault to cover the arena', {
        timeoutMs: 20_000,
        progress: () => JSON.stringify(manager.stats().prefault),
      });
      assert.equal(manager.stats().prefault.totalBytes, TIER0.arenaBytes);
      // Faulting wrote zeros only into FREE slots: every record reads back intact.
      let id = 0;
      for await (const rec of log.read({ from: 0 })) {
        assert.deepEqual(rec.payload, payloadFor(id, 500), `record ${id}`);
        id++;
      }
      assert.equal(id, 200);
    });
  }

  test("'off': nothing is faulted in ahead of the writer", async (t) => {
    const { manager } = await open(t, { tier0: { ...TIER0, prefault: 'off' } });
    const log = await manager.openStream('s');
    for (let id = 0; id < 50; id++) log.appendSync(payloadFor(id, 500));
    await log.flush();
    assert.deepEqual(manager.stats().prefault, { doneBytes: 0, totalBytes: TIER0.arenaBytes });
  });
});

describe('write delay', () => {
  const frame = frameLength(300);

  test('a record appended at a low rate reaches its file by itself, within the delay plus slack', async (t) => {
    // No fsync for a minute: only the write delay can get the records into the file.
    const { manager, root } = await open(t, { fsync: 'interval', fsyncIntervalMs: 60_000, tier0: { ...TIER0, writeDelayMs: 50 } });
    const log = await manager.openStream('s');
    const fileBytes = (): number => statSync(segmentFile(root, 's', 0), { throwIfNoEntry: false })?.size ?? 0;
    for (let id = 0; id < 5; id++) {
      log.appendSync(payloadFor(id, 300));
      await waitFor(() => fileBytes() >= SEGMENT_HEADER_BYTES + (id + 1) * frame, `record ${id} in the segment file`, {
        timeoutMs: 50 + 5_000,
        progress: () => `${fileBytes()} bytes`,
      });
    }
    assert.equal(log.durableId, -1, 'written, not fsynced: durableId does not move without an fsync');
    await log.flush();
    assert.equal(log.durableId, 4);
  });

  test("does not hold back fsync 'always' appends or flush(): both still resolve", async (t) => {
    await t.test("fsync 'always'", async (tt) => {
      const { manager } = await open(tt, { fsync: 'always', tier0: { ...TIER0, writeDelayMs: 100 } });
      assert.equal(manager.config.writeDelayMs, 0, "no write delay under fsync 'always'");
      const log = await manager.openStream('s');
      for (let id = 0; id < 20; id++) assert.equal(await log.append(payloadFor(id, 300)), id);
      assert.equal(log.durableId, 19);
    });
    await t.test("fsync 'interval' with flush()", async (tt) => {
      const { manager } = await open(tt, { fsync: 'interval', fsyncIntervalMs: 60_000, tier0: { ...TIER0, writeDelayMs: 100 } });
      assert.equal(manager.config.writeDelayMs, 100);
      const log = await manager.openStream('s');
      for (let id = 0; id < 20; id++) {
        log.appendSync(payloadFor(id, 300));
        await log.flush();
        assert.equal(log.durableId, id);
      }
    });
  });
});
