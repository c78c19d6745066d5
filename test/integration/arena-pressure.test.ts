/**
 * Tier 0 under memory pressure: a 4-slot arena of 64 KiB slots, so the flush worker's pace (and
 * readers' pins) decide when writers may proceed. Checks that the sync path pushes back with
 * WouldBlock without writing anything, that the async path queues in call order without losing or
 * reordering records, and that a sync append never overtakes queued async ones.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofManager, WouldBlockError, type AofLog, type FsyncPolicy } from '../../src/index.js';
import { logCore } from '../../src/log.js';
import { seededRandom } from '../../src/seeded-random.js';
import { Deadline, expectWouldBlock, sleep, verifyLog, waitFor } from '../../support/engine.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';

const SEGMENT = 64 * 1024;
const tiny = { arenaBytes: 4 * SEGMENT, segmentBytes: SEGMENT };
/** 1000-byte payloads make 1016-byte frames: 64 per 64 KiB segment. */
const FIXED = 1000;
const PER_SEGMENT = Math.floor(SEGMENT / 1016);
const POLICIES: FsyncPolicy[] = ['never', 'always'];
/** 8 KiB pages in the tiny arena: one-page write windows, so PAGES streams fill it. */
const PAGES = (4 * SEGMENT) / 8192;

async function openTiny(t: { after: (fn: () => void) => void }, fsync: FsyncPolicy, readerReserveBytes?: number): Promise<AofManager> {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  // Tier 1 off: these tests count slots exactly, and a compression task pins the slot it reads,
  // which would make "closing the last reader frees a slot" race with the compressor.
  return AofManager.open({ root, tier0: { ...tiny, ...(readerReserveBytes !== undefined && { readerReserveBytes }) }, tier1: { enabled: false }, fsync });
}

for (const fsync of POLICIES) {
  test(`admission: with every page an ACTIVE window a new segment gets WouldBlock 'admission', then fits once a parked window is CLEAN (fsync ${fsync})`, async (t) => {
    // No reader reserve, so that windows can fill every page (the budget's own test is in window-budget.test.ts).
    const manager = await openTiny(t, fsync, 0);
    const logs: AofLog[] = [];
    for (let s = 0; s <= PAGES; s++) logs.push(await manager.openStream(`s${s}`));
    const s0 = logs[0]!;
    const last = logs[PAGES]!;
    // One record each: a one-page write window per stream, and the arena is full.
    for (let s = 0; s < PAGES; s++) assert.equal(logs[s]!.appendSync(payloadFor(s, FIXED)), 0);
    assert.equal(manager.stats().arena.active, PAGES);

    expectWouldBlock(() => last.appendSync(payloadFor(PAGES, FIXED)), ['admission']);
    assert.equal(last.nextId, 0, 'nothing written on WouldBlock');
    // Pressure relief parked the oldest other stream (s0): not sealed, its window written out;
    // once the worker makes the window CLEAN the same record fits in it.
    assert.equal(await last.append(payloadFor(PAGES, FIXED)), 0);
    assert.equal(last.nextId, 1);

    // s0 lost its window to the last stream and every other page is ACTIVE: s0 waits for a page
    // (relief parks another stream), then continues its segment in a new window at byte 1016.
    expectWouldBlock(() => s0.appendSync(payloadFor(100, FIXED)), ['admission']);
    assert.equal(s0.nextId, 1);
    assert.equal(await s0.append(payloadFor(100, FIXED)), 1);
    assert.equal(logCore(s0).describe().segments, 1, 'parked, not sealed: one segment');

    await verifyLog(s0, (id) => payloadFor(id === 0 ? 0 : 100, FIXED), 2);
    for (let s = 1; s <= PAGES; s++) await verifyLog(logs[s]!, () => payloadFor(s, FIXED), 1);
    await manager.close();
  });

  test(`window rollover: a full window with every page ACTIVE or pinned gets WouldBlock 'rollover' until a page frees (fsync ${fsync})`, async (t) => {
    // No reader reserve, so that windows can fill every page (with it, the pinned window would not
    // matter: a page of the reserve stays free, and the writer's budget has room again once w1's
    // window is written out).
    const manager = await openTiny(t, fsync, 0);
    const logs: AofLog[] = [];
    for (let s = 0; s < PAGES; s++) logs.push(await manager.openStream(`w${s}`));
    for (let s = 0; s < PAGES; s++) assert.equal(logs[s]!.appendSync(payloadFor(s, FIXED)), 0);
    const w0 = logs[0]!;
    // 8 frames of 1016 bytes fill w0's one-page window: the 9th needs a window rollover.
    const perPage = Math.floor(8192 / 1016);
    for (let id = 1; id < perPage; id++) assert.equal(w0.appendSync(payloadFor(id, FIXED)), id);
    expectWouldBlock(() => w0.appendSync(payloadFor(perPage, FIXED)), ['rollover']);
    assert.equal(w0.nextId, perPage, 'nothing written on WouldBlock');
    // Relief parked w1 (the oldest other): a reader pins its window, so it cannot be evicted.
    assert.equal(logCore(logs[1]!).describe().parked, true);
    const reader = logs[1]!.openReader({ from: 0 });
    assert.ok(sameBytes(reader.nextSync()!.payload, payloadFor(1, FIXED)));
    await waitFor(() => manager.stats().arena.retiring === 0, 'the flusher to retire the parked window');
    expectWouldBlock(() => w0.appendSync(payloadFor(perPage, FIXED)), ['rollover']);
    assert.equal(w0.nextId, perPage);
    reader.close();
    // w1's window (or w2's, parked by the second relief) frees: the record goes into a new window.
    assert.equal(await w0.append(payloadFor(perPage, FIXED)), perPage);
    for (let id = perPage + 1; id < 3 * PER_SEGMENT; id++) assert.equal(await w0.append(payloadFor(id, FIXED)), id);
    await verifyLog(w0, (id) => payloadFor(id, FIXED), 3 * PER_SEGMENT);
    for (let s = 1; s < PAGES; s++) await verifyLog(logs[s]!, () => payloadFor(s, FIXED), 1);
    await manager.close();
  });

  test(`sync storm: appendSync in a tight loop either succeeds or throws WouldBlock without writing (fsync ${fsync})`, async (t) => {
    const manager = await openTiny(t, fsync);
    const log = await manager.openStream('storm');
    const rand = seededRandom(7);
    const sizes: number[] = [];
    let blocked = 0;
    const total = 2000; // about 4 MB: 16 times the arena
    for (let id = 0; id < total; id++) {
      const size = Math.floor(rand() * 4000);
      sizes.push(size);
      const payload = payloadFor(id, size);
      try {
        assert.equal(log.appendSync(payload), id);
      } catch (err) {
        if (!(err instanceof WouldBlockError)) throw err;
        assert.ok(err.kind === 'admission' || err.kind === 'rollover', `kind ${err.kind}`);
        assert.equal(log.nextId, id, 'nothing written on WouldBlock');
        blocked++;
        // Alternate the two ways a caller recovers: await the async twin, or poll after a short wait.
        if (blocked % 2 === 1) {
          assert.equal(await log.append(payload), id);
        } else {
          const d = new Deadline(`appendSync of record ${id} to be admitted`, 30_000);
          for (;;) {
            d.check();
            await sleep(1);
            try {
              assert.equal(log.appendSync(payload), id);
              break;
            } catch (again) {
              if (!(again instanceof WouldBlockError)) throw again;
              assert.equal(log.nextId, id);
            }
          }
        }
      }
    }
    // How often the writer outran the worker depends on the disk; record it, do not assert it.
    t.diagnostic(`appendSync blocked ${blocked} times in ${total} appends`);
    assert.equal(log.nextId, total);
    await verifyLog(log, (id) => payloadFor(id, sizes[id]!), total);
    await manager.close();
  });

  test(`async: 5,000 un-awaited append() calls on one stream resolve with ids in call order and read back intact (fsync ${fsync})`, async (t) => {
    const manager = await openTiny(t, fsync);
    const log = await manager.openStream('burst');
    const rand = seededRandom(11);
    const sizes = Array.from({ length: 5000 }, () => Math.floor(rand() * 3000));
    const ids = await Promise.all(sizes.map((size, i) => log.append(payloadFor(i, size))));
    ids.forEach((id, i) => assert.equal(id, i));
    assert.equal(log.nextId, 5000);
    await verifyLog(log, (id) => payloadFor(id, sizes[id]!), 5000);
    await manager.close();
  });

  test(`async: 5,000 un-awaited append() calls interleaved over 3 streams keep per-stream call order (fsync ${fsync})`, async (t) => {
    const manager = await openTiny(t, fsync);
    const logs = [await manager.openStream('a'), await manager.openStream('b'), await manager.openStream('c')];
    const rand = seededRandom(23);
    // Per stream: the payloads in call order; record k of stream s is payloadFor(s * 1e6 + k, size).
    const sizes: number[][] = [[], [], []];
    const calls: { stream: number; index: number; promise: Promise<number> }[] = [];
    for (let i = 0; i < 5000; i++) {
      const stream = Math.floor(rand() * 3);
      const index = sizes[stream]!.length;
      const size = Math.floor(rand() * 3000);
      sizes[stream]!.push(size);
      calls.push({ stream, index, promise: logs[stream]!.append(payloadFor(stream * 1e6 + index, size)) });
    }
    const ids = await Promise.all(calls.map((c) => c.promise));
    calls.forEach((c, i) => assert.equal(ids[i], c.index, `call ${i} on stream ${c.stream}`));
    for (let s = 0; s < 3; s++) {
      assert.equal(logs[s]!.nextId, sizes[s]!.length);
      await verifyLog(logs[s]!, (id) => payloadFor(s * 1e6 + id, sizes[s]![id]!), sizes[s]!.length);
    }
    await manager.close();
  });

  test(`mixed: appendSync never overtakes queued append() calls (fsync ${fsync})`, async (t) => {
    const manager = await openTiny(t, fsync);
    const log = await manager.openStream('mixed');
    const rand = seededRandom(5);
    // Call order is the order of this array; ids must come out in exactly this order.
    const accepted: { payload: Uint8Array; id: Promise<number> | number }[] = [];
    let syncRejected = 0;
    let sawQueue = false;
    for (let i = 0; i < 3000; i++) {
      const payload = payloadFor(i, Math.floor(rand() * 2000));
      if (i % 7 === 0) {
        const before = log.nextId;
        try {
          accepted.push({ payload, id: log.appendSync(payload) });
          // A sync success is only legal while nothing is queued (no async call has blocked yet).
          assert.equal(sawQueue, false, `appendSync ${i} succeeded while async appends were queued`);
        } catch (err) {
          if (!(err instanceof WouldBlockError)) throw err;
          assert.equal(log.nextId, before);
          syncRejected++;
        }
      } else {
        const before = log.nextId;
        const id = log.append(payload);
        // No await happened in this loop, so the queue cannot drain: once one call queues, all do.
        if (log.nextId === before) sawQueue = true;
        accepted.push({ payload, id });
      }
    }
    assert.ok(sawQueue, '3,000 appends of ~1 KB into a 256 KiB arena must queue at some point');
    assert.ok(syncRejected > 0);
    const ids = await Promise.all(accepted.map((a) => a.id));
    ids.forEach((id, i) => assert.equal(id, i, 'ids follow call order'));
    await verifyLog(log, (id) => accepted[id]!.payload, accepted.length);
    // Queue drained: the sync path works again.
    let id = -1;
    const d = new Deadline('the sync path to admit an append once the queue drained', 30_000);
    while (id < 0) {
      d.check();
      try {
        id = log.appendSync(payloadFor(0, 10));
      } catch (err) {
        if (!(err instanceof WouldBlockError)) throw err;
        await sleep(1);
      }
    }
    assert.equal(id, accepted.length);
    await manager.close();
  });
}
