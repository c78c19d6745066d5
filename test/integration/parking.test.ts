/**
 * Parking (docs/tier0-windows.md, stage 1): with more writing streams than arena slots, pressure
 * relief parks other streams' active segments instead of sealing them. Real threads, real files:
 *
 * - 200 streams over 8 slots, round-robin, both ways a caller appends (appendSync with an append()
 *   fallback, and one `await append()` at a time): segments seal by size only, so after close each
 *   stream has at most ceil(bytes / segmentBytes) + 1 segment files, and every record reads back
 *   byte for byte after a reopen;
 * - readers of a parked active segment whose slot was evicted read it from its file (each frame's
 *   CRC checked by a worker), then the records appended after the stream unparked;
 * - durableId never goes backwards across park and unpark, and under fsync 'always' every append
 *   resolves once durable.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { AofManager, WouldBlockError, type AofLog, type AofManagerOptions, type FsyncPolicy } from '../../src/index.js';
import { frameLength } from '../../src/format/record.js';
import { parseSegmentFileName, parseTier1FileName, streamDir } from '../../src/format/root-layout.js';
import { logCore } from '../../src/log.js';
import type { Segment } from '../../src/tier0/segment.js';
import { expectWouldBlock, verifyLog, waitFor } from '../../support/engine.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';

const SEGMENT = 16 * 1024;
/** 8 KiB pages of the 8-slot arena. */
const PAGES = (8 * SEGMENT) / 8192;

/** Segments of a stream on disk: distinct base ids among its raw and Tier 1 files. */
function segmentsOnDisk(root: string, stream: string): number {
  const ids = new Set<number>();
  for (const name of readdirSync(streamDir(root, stream))) {
    const id = parseSegmentFileName(name) ?? parseTier1FileName(name);
    if (id !== null) ids.add(id);
  }
  return ids.size;
}

/** The stream's active segment (the last one, not sealed), for checks on its residency. */
function activeSegment(log: AofLog): Segment {
  const seg = logCore(log).segments.at(-1);
  assert.ok(seg !== undefined && !seg.sealed, `stream ${log.name} has an active segment`);
  return seg;
}

describe('200 streams over 8 arena slots, round-robin', () => {
  const STREAMS = 200;
  const ROUNDS = 12;
  const names = Array.from({ length: STREAMS }, (_, i) => `s${String(i).padStart(3, '0')}`);
  /** Record r of stream s: distinct per (s, r), 100..2999 bytes, so streams roll over a segment or two. */
  const size = (s: number, r: number): number => 100 + ((s * 37 + r * 1013) % 2900);
  const expected = (s: number, r: number): Uint8Array => payloadFor(s * 1000 + r, size(s, r));

  for (const mode of ['appendSync, append() on WouldBlock', 'one await append() at a time'] as const) {
    test(`${mode}: segments seal by size only, and every record reads back after a reopen`, async (t) => {
      const { root, cleanup } = tempRoot('aof2-park-');
      t.after(cleanup);
      // Tier 1 on in the sync mode (its sealing watcher waits for the segment table's SEALED), off
      // in the other (raw files stay, so reading back loads them); no Tier 2 (nothing here needs it).
      const options: AofManagerOptions = {
        root,
        tier0: { arenaBytes: 8 * SEGMENT, segmentBytes: SEGMENT },
        tier1: { enabled: mode.startsWith('appendSync') },
        tier2: { kind: 'none' },
        fsync: 'interval',
      };
      const manager = await AofManager.open(options);
      const logs = await Promise.all(names.map((n) => manager.openStream(n)));
      const started = performance.now();
      let blocked = 0;
      for (let r = 0; r < ROUNDS; r++) {
        for (let s = 0; s < STREAMS; s++) {
          const payload = expected(s, r);
          if (mode === 'one await append() at a time') {
            assert.equal(await logs[s]!.append(payload), r);
            continue;
          }
          try {
            assert.equal(logs[s]!.appendSync(payload), r);
          } catch (err) {
            if (!(err instanceof WouldBlockError)) throw err;
            // compression: the raw backlog budget (4 arenas, 512 KiB here) fills with Tier 1 on.
            assert.ok(err.kind === 'admission' || err.kind === 'rollover' || err.kind === 'compression', `kind ${err.kind}`);
            blocked++;
            assert.equal(await logs[s]!.append(payload), r);
          }
        }
      }
      const seconds = (performance.now() - started) / 1000;
      t.diagnostic(`${STREAMS * ROUNDS} appends in ${seconds.toFixed(2)} s (${Math.round((STREAMS * ROUNDS) / seconds)}/s), ${blocked} WouldBlock`);
      const stats = manager.stats();
      // One write window per page at most (8 slots of 16 KiB: 16 pages of 8 KiB).
      assert.ok(stats.arena.active + stats.arena.retiring <= PAGES);
      // Far more streams than pages: most streams are parked now, none was sealed for room.
      assert.ok(logs.filter((log) => logCore(log).describe().parked).length >= STREAMS - PAGES);
      // Sealed segments (full ones) gave their table entries back: one open segment per stream.
      await manager.settle();
      assert.equal(manager.stats().openSegments, STREAMS);
      await manager.close();

      for (let s = 0; s < STREAMS; s++) {
        let bytes = 0;
        for (let r = 0; r < ROUNDS; r++) bytes += frameLength(size(s, r));
        const files = segmentsOnDisk(root, names[s]!);
        assert.ok(files <= Math.ceil(bytes / SEGMENT) + 1, `stream ${names[s]}: ${files} segment files for ${bytes} bytes of ${SEGMENT}-byte segments`);
      }

      const reopened = await AofManager.open(options);
      t.after(() => reopened.close());
      assert.equal(reopened.stats().recovery.scannedSegments, 0, 'close() sealed every parked segment');
      for (let s = 0; s < STREAMS; s++) {
        const log = await reopened.openStream(names[s]!);
        assert.equal(log.nextId, ROUNDS);
        await verifyLog(log, (r) => expected(s, r), ROUNDS);
      }
    });
  }
});

describe('readers of a parked segment', () => {
  /**
   * 4 slots of 16 KiB (8 pages), Tier 1 off (segments stay raw), nine streams: 'a' is parked and
   * its windows evicted by the others. No reader reserve: windows may fill every page, so the
   * others evict 'a's (with the default reserve a free page stays, and 'a's CLEAN window with it).
   */
  async function parkedAndEvicted(t: { after: (fn: () => Promise<void> | void) => void }, records: number) {
    const { root, cleanup } = tempRoot('aof2-park-read-');
    t.after(cleanup);
    const manager = await AofManager.open({ root, tier0: { arenaBytes: 4 * SEGMENT, segmentBytes: SEGMENT, readerReserveBytes: 0 }, tier1: { enabled: false }, fsync: 'never' });
    t.after(() => manager.close());
    const a = await manager.openStream('a');
    for (let id = 0; id < records; id++) assert.equal(a.appendSync(payloadFor(id, 300)), id);
    const others = await Promise.all(['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].map((n) => manager.openStream(n)));
    // The others take the free pages, then a's retired window (CLEAN, evicted); then relief parks
    // 'a' (admitted first), whose last window is written out, then evicted too.
    for (const log of others) assert.equal(await log.append(payloadFor(1000, 100)), 0);
    const seg = activeSegment(a);
    assert.equal(seg.parked, true);
    assert.deepEqual([seg.slot, seg.ranges.length], [-1, 0], "'a' lost its windows to the others");
    return { manager, a, others, seg };
  }

  test('read the written prefix from the file, then the records appended after the stream unparked', async (t) => {
    const n = 40;
    const { a, seg } = await parkedAndEvicted(t, n);
    const reader = a.openReader({ from: 0 });
    t.after(() => reader.close());
    expectWouldBlock(() => reader.nextSync(), ['hydration']);
    for (let id = 0; id < n; id++) {
      const rec = await reader.next();
      assert.ok(rec !== null && rec.id === id && sameBytes(rec.payload, payloadFor(id, 300)), `record ${id}`);
    }
    assert.equal(reader.nextSync(), null, 'caught up');
    assert.equal(seg.parked, true, 'reading does not unpark');
    assert.ok(seg.ranges.length > 0, 'the load gave the segment a range (pinned by the reader)');
    // The next append continues the segment in a new window (no load needed to append).
    assert.equal(await a.append(payloadFor(n, 300)), n);
    assert.equal(seg.parked, false);
    const rec = reader.nextSync();
    assert.ok(rec !== null && rec.id === n && sameBytes(rec.payload, payloadFor(n, 300)));
    for (let id = n + 1; id < n + 60; id++) assert.equal(await a.append(payloadFor(id, 300)), id);
    for (let id = n + 1; id < n + 60; id++) {
      const next = await reader.next();
      assert.ok(next !== null && next.id === id && sameBytes(next.payload, payloadFor(id, 300)), `record ${id}`);
    }
    assert.equal(reader.nextSync(), null);
    await a.flush();
    assert.equal(a.durableId, n + 59);
  });

  test('an append continues the segment in a new window without loading its prefix (WouldBlock admission while no page is free); a reader then reads it all', async (t) => {
    const n = 30;
    const { a, seg } = await parkedAndEvicted(t, n);
    expectWouldBlock(() => a.appendSync(payloadFor(n, 300)), ['admission']);
    assert.equal(a.nextId, n, 'nothing written on WouldBlock');
    assert.equal(await a.append(payloadFor(n, 300)), n);
    assert.equal(seg.parked, false);
    assert.equal(activeSegment(a), seg, 'the same segment: unparked, not sealed');
    assert.deepEqual(seg.ranges.map((r) => [r.start, r.first]), [[seg.boundaries.at(-2), n]], 'one range: the new window, at the end of the written prefix');
    await verifyLog(a, (id) => payloadFor(id, 300), n + 1);
  });

  test('a reader positioned in a parked slot keeps reading while the slot retires and the stream unparks', async (t) => {
    const { root, cleanup } = tempRoot('aof2-park-read-');
    t.after(cleanup);
    // No reader reserve: the four windows below fill the arena's four pages.
    const manager = await AofManager.open({ root, tier0: { arenaBytes: 2 * SEGMENT, segmentBytes: SEGMENT, readerReserveBytes: 0 }, tier1: { enabled: false }, fsync: 'never' });
    t.after(() => manager.close());
    const [a, b, c, d, e] = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => manager.openStream(n))) as [AofLog, AofLog, AofLog, AofLog, AofLog];
    for (let id = 0; id < 10; id++) a.appendSync(payloadFor(id, 200));
    b.appendSync(payloadFor(0, 200));
    const reader = a.openReader({ from: 0 });
    t.after(() => reader.close());
    assert.ok(reader.nextSync() !== null); // pins a's slot
    // c and d take the two free pages; e needs one: a (oldest) is parked; its window is pinned,
    // so it stays resident, CLEAN.
    c.appendSync(payloadFor(0, 200));
    d.appendSync(payloadFor(0, 200));
    expectWouldBlock(() => e.appendSync(payloadFor(0, 200)), ['admission']);
    assert.equal(activeSegment(a).parked, true);
    await waitFor(() => manager.stats().arena.retiring === 0, 'the flusher to retire the parked slot');
    for (let id = 1; id < 10; id++) assert.equal(reader.nextSync()?.id, id);
    assert.equal(a.appendSync(payloadFor(10, 200)), 10, 'the resident window is taken back at once');
    assert.equal(reader.nextSync()?.id, 10);
    await verifyLog(a, (id) => payloadFor(id, 200), 11);
  });
});

describe('durability across park and unpark', () => {
  for (const fsync of ['interval', 'never'] as FsyncPolicy[]) {
    test(`durableId never goes backwards while 24 streams take turns in 4 slots (fsync ${fsync})`, async (t) => {
      const { root, cleanup } = tempRoot('aof2-park-durable-');
      t.after(cleanup);
      const manager = await AofManager.open({
        root,
        tier0: { arenaBytes: 4 * SEGMENT, segmentBytes: SEGMENT },
        tier1: { enabled: false },
        fsync,
        fsyncIntervalMs: 5,
      });
      t.after(() => manager.close());
      const logs = await Promise.all(Array.from({ length: 24 }, (_, i) => manager.openStream(`d${i}`)));
      const last = logs.map(() => -1);
      let samples = 0;
      const sample = (): void => {
        logs.forEach((log, s) => {
          const durable = log.durableId;
          assert.ok(durable >= last[s]!, `stream ${s}: durableId went from ${last[s]} to ${durable}`);
          assert.ok(durable < log.nextId);
          last[s] = durable;
          samples++;
        });
      };
      const timer = setInterval(sample, 1);
      t.after(() => clearInterval(timer));
      for (let r = 0; r < 30; r++) {
        for (let s = 0; s < logs.length; s++) {
          assert.equal(await logs[s]!.append(payloadFor(s * 100 + r, 500)), r);
          sample();
        }
        // 'never' advances only on flush(): now and then, while most segments are parked.
        if (r % 10 === 9) await logs[r % logs.length]!.flush();
      }
      await Promise.all(logs.map((log) => log.flush()));
      sample();
      for (const log of logs) assert.equal(log.durableId, 29);
      t.diagnostic(`${samples} samples of durableId`);
    });
  }

  test("fsync 'always': every append() resolves once durable while streams are parked and unparked", async (t) => {
    const { root, cleanup } = tempRoot('aof2-park-always-');
    t.after(cleanup);
    const manager = await AofManager.open({ root, tier0: { arenaBytes: 4 * SEGMENT, segmentBytes: SEGMENT }, tier2: { kind: 'none' }, fsync: 'always' });
    t.after(() => manager.close());
    const logs = await Promise.all(Array.from({ length: 40 }, (_, i) => manager.openStream(`w${i}`)));
    for (let r = 0; r < 8; r++) {
      // Every stream appends at once: they queue for slots, park each other and unpark in turn.
      const ids = await Promise.all(logs.map((log, s) => log.append(payloadFor(s * 100 + r, 700))));
      ids.forEach((id, s) => {
        assert.equal(id, r);
        assert.ok(logs[s]!.durableId >= r, `stream ${s}: append ${r} resolved before it was durable`);
      });
    }
    for (let s = 0; s < logs.length; s++) await verifyLog(logs[s]!, (r) => payloadFor(s * 100 + r, 700), 8);
  });
});
