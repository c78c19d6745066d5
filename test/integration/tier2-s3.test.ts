/**
 * The Tier 2 suite (support/tier2-suite.ts) against a real S3-compatible server over HTTP on
 * loopback (moto, started here; `AOF2_TEST_S3_ENDPOINT` points it at any other S3), plus the
 * outage test, which needs a server it can freeze: the server is stopped (SIGSTOP) in the middle of
 * ingest for several seconds and started again (SIGCONT). The circuit breaker opens and closes,
 * writers see WouldBlock kind `tier2` (or wait, async) only once the local Tier 1 budget is full
 * of segments not uploaded yet, and afterwards every record is in S3 and reads back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AofManager, WouldBlockError } from '../../src/index.js';
import { openObjectStore, type Tier2StoreConfig } from '../../src/tier2/object-store.js';
import { startS3Server, type S3TestServer } from '../../support/s3-server.js';
import { until, withTimeout } from '../../support/tier1-engine.js';
import { objectIds, readBack, smallEngine, tier2Suite } from '../../support/tier2-suite.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';
import { logCore } from '../../src/log.js';

let server: S3TestServer;
let n = 0;
before(async () => {
  server = await startS3Server();
});
after(() => server.close());

/** Short socket timeout: a frozen server is noticed in about a second, not ten. */
const fresh = (label: string): Tier2StoreConfig => ({ ...server.config(`${label}-${n++}`), requestTimeoutMs: 1000 });

tier2Suite({ name: 'S3 (moto over HTTP)', fresh });

describe('Tier 2 outage', () => {
  test('S3 stopped mid-ingest: the breaker opens and closes, writers wait only past the budget, nothing is lost', async (t) => {
    if (!server.controllable) return t.skip(server.skipReason ?? 'external S3 endpoint');
    const { root, cleanup } = tempRoot();
    t.after(cleanup);
    // 400 ms of silence fails a request: even one upload in flight fails five times (two SDK
    // attempts each) well within the outage, so the breaker must open.
    const cfg = { ...fresh('outage'), requestTimeoutMs: 400 };
    const budget = 6 * 64 * 1024;
    const manager = await AofManager.open(smallEngine(root, cfg, budget));
    const store = await openObjectStore(cfg);
    const total = 2400; // ~2.4 MB: six times the budget
    let tier2Blocks = 0;
    let pendingAtFirstBlock = -1;
    let resumeTimer: NodeJS.Timeout | undefined;
    try {
      const log = await manager.openStream('outage');
      for (let id = 0; id < total; id++) {
        if (id === 400) {
          server.pause();
          resumeTimer = setTimeout(() => server.resume(), 6000);
        }
        const payload = payloadFor(id, 1000);
        try {
          assert.equal(log.appendSync(payload), id);
          continue;
        } catch (err) {
          if (!(err instanceof WouldBlockError)) throw err;
          if (err.kind === 'tier2') {
            if (tier2Blocks++ === 0) pendingAtFirstBlock = manager.stats().tier2!.pendingBytes + manager.stats().tier1.rawPendingBytes;
          }
        }
        assert.equal(await withTimeout(log.append(payload), 60_000, `append ${id}`), id);
      }
      await withTimeout(manager.settle(), 60_000, 'settle after the outage');
      const stats = manager.stats().tier2!;
      t.diagnostic(`tier2 WouldBlocks ${tier2Blocks}, pending at first ${pendingAtFirstBlock}, breaker opened ${stats.breakerOpened} closed ${stats.breakerClosed}, retries ${stats.uploadRetries}`);
      assert.ok(tier2Blocks > 0, 'writers felt the outage once the budget was full');
      assert.ok(pendingAtFirstBlock >= budget, `first tier2 WouldBlock only past the budget (pending ${pendingAtFirstBlock} of ${budget})`);
      assert.ok(stats.breakerOpened >= 1, 'the breaker opened');
      assert.ok(stats.breakerClosed >= 1, 'and closed again');
      assert.equal(stats.breakerState, 0, 'closed at the end');
      assert.equal(stats.pendingBytes, 0, 'everything uploaded');
      // The breaker's state and history are on the manager's registry too.
      const scraped = await manager.registry.metrics();
      assert.match(scraped, /^aof_tier2_breaker_state 0$/m);
      assert.match(scraped, new RegExp(`^aof_tier2_breaker_transitions_total\\{to="open"\\} ${stats.breakerOpened}$`, 'm'));
      assert.match(scraped, new RegExp(`^aof_tier2_uploads_total ${stats.segmentsUploaded}$`, 'm'));
      const sealed = logCore(log).segments.filter((s) => s.sealed).map((s) => s.baseId);
      assert.deepEqual(await objectIds(store, 'outage'), sealed, 'every sealed segment is in S3, once');
      await readBack(log, 0, total);
    } finally {
      clearTimeout(resumeTimer);
      server.resume();
      await manager.close();
      await store.close();
    }
  });

  test('close while S3 is down and writers wait on Tier 2: close returns, nothing is lost, the next open uploads it', async (t) => {
    if (!server.controllable) return t.skip(server.skipReason ?? 'external S3 endpoint');
    const { root, cleanup } = tempRoot();
    t.after(cleanup);
    const cfg = fresh('close-outage');
    const budget = 4 * 64 * 1024;
    const total = 1200;
    // Opened first: an empty root must ask the store whether it holds a manifest to rebuild from.
    const first = await AofManager.open(smallEngine(root, cfg, budget));
    server.pause();
    try {
      const manager = first;
      const log = await manager.openStream('stuck');
      // Every append is queued at once: the later ones wait on Tier 2 (the store is frozen).
      const appends = Array.from({ length: total }, (_, id) => log.append(payloadFor(id, 1000)));
      await until(() => manager.stats().tier2!.breakerOpened >= 1, 'the breaker to open', 20_000);
      assert.ok(log.nextId < total, `writers are held back (${log.nextId} of ${total} admitted)`);
      await withTimeout(manager.close(), 30_000, 'close with a frozen store');
      const ids = await Promise.all(appends);
      assert.deepEqual(ids, Array.from({ length: total }, (_, id) => id), 'every queued append completed, in order');
    } finally {
      server.resume();
    }
    const manager = await AofManager.open(smallEngine(root, cfg, budget));
    const store = await openObjectStore(cfg);
    try {
      const log = await manager.openStream('stuck');
      assert.equal(log.nextId, total);
      await withTimeout(manager.settle(), 60_000, 'settle after the store came back');
      assert.deepEqual(await objectIds(store, 'stuck'), logCore(log).segments.map((s) => s.baseId), 'every segment uploaded after the reopen');
      await readBack(log, 0, total);
    } finally {
      await manager.close();
      await store.close();
    }
  });
});
