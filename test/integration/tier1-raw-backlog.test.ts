/**
 * The raw backlog budget (`tier1.rawBacklogBytes`) against a real compressor made slow by the
 * `compress.delay` failpoint (every compression task waits that long first):
 * - while the budget has room, a writer far faster than compression never waits for it (no
 *   WouldBlock `compression`), and the held slots still give the compressor the oldest segments
 *   from the arena;
 * - once the budget is spent, `appendSync` throws WouldBlock `compression`, `append()` waits and
 *   then succeeds, and local raw bytes never exceed the bound stated in docs/architecture.md: for
 *   one writing stream, sealed raw data within the budget, plus the active segment's file;
 * - the zstd level drops to 1 while the backlog is above high water, and returns to the configured
 *   level within (level - 1) x 4 calm tasks once compression keeps up again.
 *
 * The workers read AOF2_FAILPOINTS when they start, so it is set before the manager opens. The
 * level test pins the idle-core reading to 0 (`compress.idlecores=0`): the pool then keeps one
 * thread whatever the machine's load, and the level is the only loop at work (the width's own
 * test is tier1-width.test.ts).
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AofManager, WouldBlockKind, type WouldBlockError } from '../../src/index.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES } from '../../src/format/segment.js';
import { parseSegmentFileName, streamDir } from '../../src/format/root-layout.js';
import { withFailpoints } from '../../support/failpoints-env.js';
import { compressionSettled, readBackInOrder, sealedCount, until, writeInOrder } from '../../support/tier1-engine.js';
import { tempRoot } from '../../support/tmp.js';

const SEGMENT_BYTES = 64 * 1024;
/** 1000-byte payloads: 1016-byte frames, 64 per segment. */
const PAYLOAD = 1000;
const PER_SEGMENT = Math.floor(SEGMENT_BYTES / 1016);

/** Raw record bytes of the stream's segment files on disk now (headers and footers left out). */
function localRawBytes(root: string, stream: string): number {
  const dir = streamDir(root, stream);
  let bytes = 0;
  for (const name of readdirSync(dir)) {
    if (parseSegmentFileName(name) === null) continue;
    try {
      bytes += Math.max(0, statSync(join(dir, name)).size - SEGMENT_HEADER_BYTES - SEGMENT_FOOTER_BYTES);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // compressed and unlinked meanwhile
    }
  }
  return bytes;
}

/** A writeInOrder sample that also counts the WouldBlocks by kind. */
function counting(kinds: Map<string, number>, sample: () => void): (wouldBlock?: WouldBlockError) => void {
  return (wouldBlock) => {
    if (wouldBlock !== undefined) kinds.set(wouldBlock.kind, (kinds.get(wouldBlock.kind) ?? 0) + 1);
    sample();
  };
}

test('while the raw backlog budget has room, a writer faster than compression never waits for it', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  await withFailpoints('compress.delay=100', '1', async () => {
    const slots = 8;
    const manager = await AofManager.open({
      root,
      tier0: { arenaBytes: slots * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES },
      // The default budget: 4 arenas, 32 segments.
      tier1: { frameBytes: 16 * 1024 },
      tier2: { kind: 'none' },
      fsync: 'never',
    });
    try {
      const log = await manager.openStream('fast');
      const kinds = new Map<string, number>();
      const segments = 20; // 20 x 100 ms of compression; appendSync writes them in milliseconds
      await writeInOrder(log, 0, segments * PER_SEGMENT, PAYLOAD, counting(kinds, () => undefined));
      const atEnd = manager.stats().tier1;
      t.diagnostic(`WouldBlock ${JSON.stringify(Object.fromEntries(kinds))}; at the end of the writes: ${atEnd.segmentsCompressed} compressed, backlog ${atEnd.rawBacklogBytes} of ${atEnd.rawBacklogBudget}`);
      assert.equal(atEnd.rawBacklogBudget, 4 * slots * SEGMENT_BYTES);
      assert.equal(kinds.get(WouldBlockKind.COMPRESSION) ?? 0, 0, 'no wait for the compressor');
      assert.equal(manager.stats().wouldBlock.compression, 0);
      assert.ok(atEnd.segmentsCompressed < segments - 4, 'the writer ran ahead of the compressor');
      assert.ok(atEnd.rawBacklogBytes > 4 * SEGMENT_BYTES, `backlog ${atEnd.rawBacklogBytes}`);
      await log.flush();
      await compressionSettled(manager, log, 60_000);
      const t1 = manager.stats().tier1;
      t.diagnostic(`compressed ${t1.segmentsCompressed}, from the raw file ${t1.compressedFromFile}`);
      // Held slots go last, newest first: the oldest segments are compressed from the arena.
      assert.ok(t1.compressedFromFile <= t1.segmentsCompressed - 4, `${t1.compressedFromFile} of ${t1.segmentsCompressed} read from the raw file`);
      assert.equal(manager.stats().arena.held, 0, 'every hold ended with its compression');
      await readBackInOrder(log, segments * PER_SEGMENT, PAYLOAD);
    } finally {
      await manager.close();
    }
  });
});

test('a spent raw backlog budget gives WouldBlock compression, append() waits then succeeds, and local raw bytes stay within the budget', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  // 32 segments: low water (1/16) is 2 segments, so a compressor that keeps up sees calm steps.
  const budget = 32 * SEGMENT_BYTES;
  await withFailpoints('compress.delay=25,compress.idlecores=0', '1', async () => {
    const manager = await AofManager.open({
      root,
      tier0: { arenaBytes: 8 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES },
      tier1: { frameBytes: 16 * 1024, rawBacklogBytes: budget, compressionLevel: 3 },
      tier2: { kind: 'none' },
      fsync: 'never',
    });
    try {
      const log = await manager.openStream('slow');
      const realRoot = manager.config.root;
      const kinds = new Map<string, number>();
      let maxDisk = 0;
      let maxBacklog = 0;
      let minLevel = Number.POSITIVE_INFINITY;
      const sample = (): void => {
        const t1 = manager.stats().tier1;
        maxBacklog = Math.max(maxBacklog, t1.rawBacklogBytes);
        minLevel = Math.min(minLevel, t1.compressionLevel);
        maxDisk = Math.max(maxDisk, localRawBytes(realRoot, 'slow'));
      };
      const burst = 64 * PER_SEGMENT; // 64 segments against a budget of 32
      await writeInOrder(log, 0, burst, PAYLOAD, counting(kinds, sample));
      sample();
      const stats = manager.stats();
      t.diagnostic(
        `WouldBlock ${JSON.stringify(Object.fromEntries(kinds))} (counted ${stats.wouldBlock.compression}); max backlog ${maxBacklog}, max raw on disk ${maxDisk}, budget ${budget}; lowest level ${minLevel}`,
      );
      assert.ok((kinds.get(WouldBlockKind.COMPRESSION) ?? 0) > 0, 'the writer met the budget');
      assert.deepEqual([...kinds.keys()].filter((k) => k !== WouldBlockKind.COMPRESSION && k !== WouldBlockKind.ROLLOVER), [], 'no other kind of wait');
      // Each throw is counted once, and so is the append() that then waited.
      assert.ok(stats.wouldBlock.compression >= 2 * kinds.get(WouldBlockKind.COMPRESSION)!, `counted ${stats.wouldBlock.compression}`);
      // The bound for one writing stream: sealed raw data within the budget; on disk, plus the active segment.
      assert.ok(maxBacklog <= budget, `backlog ${maxBacklog} > budget ${budget}`);
      assert.ok(maxBacklog > budget / 2, `the backlog reached ${maxBacklog}: the budget was what held the writer`);
      assert.ok(maxDisk <= budget + SEGMENT_BYTES, `raw bytes on disk ${maxDisk} > budget + one segment ${budget + SEGMENT_BYTES}`);
      assert.equal(stats.tier1.rawBacklogBudget, budget);
      assert.equal(minLevel, 1, 'the level went down to 1 while the backlog was above high water');

      // Compression catches up; then one segment at a time, each compressed before the next is
      // written: every task is calm, and the level climbs back to 3 within (3 - 1) x 4 tasks.
      await log.flush();
      await compressionSettled(manager, log, 60_000);
      let next = burst;
      let tasks = 0;
      while (manager.stats().tier1.compressionLevel < 3) {
        assert.ok(tasks < 8, `level ${manager.stats().tier1.compressionLevel} after ${tasks} calm tasks`);
        const before = sealedCount(log);
        await writeInOrder(log, next, next + PER_SEGMENT + 1, PAYLOAD, counting(kinds, () => undefined)); // +1: seals the full one
        next += PER_SEGMENT + 1;
        await until(() => sealedCount(log) > before, 'the segment to seal', 10_000);
        await compressionSettled(manager, log, 60_000);
        tasks += sealedCount(log) - before;
      }
      t.diagnostic(`level back to ${manager.stats().tier1.compressionLevel} after ${tasks} calm tasks`);
      await readBackInOrder(log, next, PAYLOAD);
    } finally {
      await manager.close();
    }
  });
});
