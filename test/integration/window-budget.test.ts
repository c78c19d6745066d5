/**
 * The arena's window budget and reader reserve (docs/tier0-windows.md, stage 4), with real
 * managers, threads and files, in an arena of 64 pages (8 segments of 64 KiB): the default
 * reserve is 8 pages, the window budget 56.
 *
 * - 150 streams write in turn (three times more than the budget holds at a page each): sampled
 *   after every append, the pages held by write windows never exceed the budget, the budget is
 *   reached (writers are cut or refused), and every record reads back;
 * - meanwhile a reader of a cold stream (sealed raw segments, nothing in the arena) loads its
 *   chunks from the reserve and reads every record byte for byte: writers that fill their whole
 *   share never starve it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofManager, type AofLog, type AofManagerOptions, type ManagerStats } from '../../src/index.js';
import { TaskGroup, checkRecord, segmentBaseIds, verifyLog } from '../../support/engine.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';

const SEGMENT = 64 * 1024;
const PAGES = (8 * SEGMENT) / 8192;

/** Checks the budget figures of one stats() sample; returns whether the window budget was full. */
function checkBudget(stats: ManagerStats): boolean {
  const b = stats.tier0;
  assert.equal(b.readerReservePages, PAGES / 8);
  assert.equal(b.windowPagesBudget, PAGES - PAGES / 8);
  assert.ok(b.windowPages <= b.windowPagesBudget, `${b.windowPages} window pages, budget ${b.windowPagesBudget}`);
  // Each window run is at least a page. Only ACTIVE runs are compared: the flush worker moves
  // RETIRING and SEALING runs to CLEAN between the two reads of one stats() call.
  assert.ok(stats.arena.active <= b.windowPages, `every window run counted: ${JSON.stringify(stats.arena)} ${JSON.stringify(b)}`);
  // Windows, read ranges and free pages are disjoint.
  assert.ok(b.windowPages + b.readRangePages + stats.arena.free <= PAGES, 'no page counted twice');
  return b.windowPages === b.windowPagesBudget;
}

test('many streams write past the window budget while a cold reader loads its chunks from the reserve: windows stay within the budget, every record reads back', async (t) => {
  const { root, cleanup } = tempRoot('aof2-window-budget-');
  t.after(cleanup);
  const options: AofManagerOptions = { root, tier0: { arenaBytes: 8 * SEGMENT, segmentBytes: SEGMENT }, tier1: { enabled: false }, tier2: { kind: 'none' }, fsync: 'never' };
  const COLD = 1200; // 200-byte payloads: ~4 sealed segments of 64 KiB
  {
    const manager = await AofManager.open(options);
    const cold = await manager.openStream('cold');
    for (let id = 0; id < COLD; id++) await cold.append(payloadFor(id, 200));
    await manager.close();
  }
  assert.ok(segmentBaseIds(root, 'cold').length >= 3, 'several sealed raw segments');

  const manager = await AofManager.open(options);
  t.after(() => manager.close());
  const STREAMS = 150;
  const ROUNDS = 20;
  const expected = (s: number, r: number): Uint8Array => payloadFor(s * 1000 + r, 300);
  const writers: AofLog[] = [];
  for (let s = 0; s < STREAMS; s++) writers.push(await manager.openStream(`w${String(s).padStart(3, '0')}`));
  const cold = await manager.openStream('cold');
  assert.equal(checkBudget(manager.stats()), false);

  let samples = 0;
  let full = 0;
  const sample = (): void => {
    samples++;
    if (checkBudget(manager.stats())) full++;
  };
  // Both sides at once; a hang (a reader starved, a writer never admitted) fails join()'s deadline.
  const group = new TaskGroup();
  // Writers: one `await append()` at a time per stream, all streams at once, in turns.
  void group.spawn('writers', async (signal) => {
    for (let r = 0; r < ROUNDS && !signal.aborted; r++) {
      await Promise.all(
        writers.map(async (log, s) => {
          assert.equal(await log.append(expected(s, r)), r);
          sample();
        }),
      );
    }
  });
  // The cold reader: every chunk it needs is loaded while the writers fill their share.
  void group.spawn('cold reader', async (signal) => {
    const reader = cold.openReader({ from: 0 });
    try {
      for (let id = 0; id < COLD && !signal.aborted; id++) {
        checkRecord(await reader.next(), id, payloadFor(id, 200));
        sample();
      }
      assert.equal(reader.nextSync(), null, 'caught up with the cold stream');
    } finally {
      reader.close();
    }
  });
  await group.join(300_000);

  const stats = manager.stats();
  checkBudget(stats);
  t.diagnostic(`${samples} samples, ${full} with the window budget full; ${stats.tier0.windowsCut} windows cut, ${stats.tier0.windowRefusals} refused`);
  assert.ok(full > 0 || stats.tier0.windowRefusals > 0, 'the writers reached their budget');
  for (let s = 0; s < STREAMS; s += 7) await verifyLog(writers[s]!, (r) => expected(s, r), ROUNDS);
  await manager.close();

  const reopened = await AofManager.open(options);
  t.after(() => reopened.close());
  for (let s = 0; s < STREAMS; s += 11) await verifyLog(await reopened.openStream(`w${String(s).padStart(3, '0')}`), (r) => expected(s, r), ROUNDS);
  await verifyLog(await reopened.openStream('cold'), (id) => payloadFor(id, 200), COLD);
});
