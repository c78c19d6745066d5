/**
 * Compression back-pressure (Tier1#hold): a writer faster than the compression pool must not evict
 * sealed segments the pool has not read yet. Every segment is compressed from its arena slot
 * (`stats().tier1.compressedFromFile` stays 0), no more than half the slots are ever pinned for it,
 * and the writer feels the compressor as WouldBlock `rollover` (sync) or a wait (async), never as a
 * growing raw backlog. Before the hold, the same workload compressed most segments from their raw
 * files after the writer had reused their slots.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofManager, WouldBlockError, WouldBlockKind } from '../../src/index.js';
import { compressionSettled } from '../../support/tier1-engine.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';

const SLOTS = 8;
const SEGMENT_BYTES = 64 * 1024;

test('a writer faster than compression waits for it: every segment is compressed from the arena', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  const manager = await AofManager.open({
    root,
    tier0: { arenaBytes: SLOTS * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES },
    // Level 19 makes the pool far slower than appendSync, so the writer always runs ahead.
    tier1: { frameBytes: 16 * 1024, compressionLevel: 19 },
    tier2: { kind: 'none' },
    fsync: 'never',
  });
  try {
    const log = await manager.openStream('fast');
    const kinds = new Map<string, number>();
    let maxPinned = 0;
    const records = 3000; // ~1,000 B each: about 48 segments through an 8-slot arena
    for (let i = 0; i < records; ) {
      try {
        log.appendSync(payloadFor(i, 900 + (i % 200)));
        i++;
      } catch (err) {
        if (!(err instanceof WouldBlockError)) throw err;
        kinds.set(err.kind, (kinds.get(err.kind) ?? 0) + 1);
        maxPinned = Math.max(maxPinned, manager.stats().arena.pinned);
        await log.append(payloadFor(i, 900 + (i % 200)));
        i++;
      }
    }
    await log.flush();
    await compressionSettled(manager, log, 60_000);
    const t1 = manager.stats().tier1;
    t.diagnostic(`WouldBlock ${JSON.stringify(Object.fromEntries(kinds))}, max pinned ${maxPinned}, compressed ${t1.segmentsCompressed}`);
    assert.ok(t1.segmentsCompressed >= 40, `${t1.segmentsCompressed} segments compressed`);
    assert.equal(t1.compressedFromFile, 0, 'no segment was evicted before the pool read it');
    assert.ok((kinds.get(WouldBlockKind.ROLLOVER) ?? 0) > 0, 'the writer waited for the compressor');
    assert.ok(maxPinned <= SLOTS / 2, `at most half the arena held (${maxPinned})`);
    // Everything reads back.
    let id = 0;
    for await (const rec of log.read()) {
      assert.deepEqual(rec.payload, payloadFor(id, 900 + (id % 200)));
      id++;
    }
    assert.equal(id, records);
  } finally {
    await manager.close();
  }
});
