/**
 * Write windows (docs/tier0-windows.md, stage 2): a segment is written through windows smaller
 * than itself. Real threads, real files:
 *
 * - one busy stream rolls windows over many times within each segment: every record reads back
 *   byte for byte (from the windows, from loaded prefixes, and after a reopen), segment files stay
 *   at ceil(bytes / segmentBytes) (+1 for the close), and durableId never goes backwards;
 * - 2,000 streams take turns on an arena whose window budget holds a page per stream: nothing is parked, no
 *   append waits, readers follow their streams' tails from the windows.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { AofManager, WouldBlockError } from '../../src/index.js';
import { frameLength } from '../../src/format/record.js';
import { parseSegmentFileName, streamDir } from '../../src/format/root-layout.js';
import { logCore } from '../../src/log.js';
import { seededRandom } from '../../src/seeded-random.js';
import { checkRecord, verifyLog } from '../../support/engine.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';

test('one stream, many window rollovers per segment: records back byte for byte, ceil(bytes / segmentBytes) (+1) files, durableId monotonic', async (t) => {
  const { root, cleanup } = tempRoot('aof2-windows-');
  t.after(cleanup);
  const SEGMENT = 256 * 1024;
  const options = { root, tier0: { arenaBytes: 4 * SEGMENT, segmentBytes: SEGMENT }, tier1: { enabled: false }, tier2: { kind: 'none' as const }, fsync: 'interval' as const, fsyncIntervalMs: 2 };
  const manager = await AofManager.open(options);
  const log = await manager.openStream('w');
  const rand = seededRandom(12);
  const sizes: number[] = [];
  let bytes = 0;
  let lastDurable = -1;
  const reader = log.openReader({ from: 0 });
  let read = 0;
  for (let id = 0; id < 3000; id++) {
    const size = 1 + Math.floor(rand() * 1500);
    sizes.push(size);
    bytes += frameLength(size);
    try {
      assert.equal(log.appendSync(payloadFor(id, size)), id);
    } catch (err) {
      if (!(err instanceof WouldBlockError)) throw err;
      assert.equal(await log.append(payloadFor(id, size)), id);
    }
    const durable = log.durableId;
    assert.ok(durable >= lastDurable && durable <= id, `durableId ${durable} after ${lastDurable}, id ${id}`);
    lastDurable = durable;
    if (id === 150) {
      // ~110 KB into the first 256 KiB segment: written through several windows already.
      const first = logCore(log).segments[0]!;
      assert.ok(!first.sealed && first.boundaries.length / 2 > 3, `segment 0 is written through several windows (${first.boundaries.length / 2} boundaries)`);
    }
    // A tail reader, now and then: it reads from the live window, then from the next one.
    if (id % 97 === 0) {
      while (read <= id) {
        checkRecord(await reader.next(), read, payloadFor(read, sizes[read]!));
        read++;
      }
    }
  }
  reader.close();
  await verifyLog(log, (id) => payloadFor(id, sizes[id]!), sizes.length);
  await log.flush();
  assert.equal(log.durableId, sizes.length - 1);
  await manager.close();

  const files = readdirSync(streamDir(root, 'w')).filter((name) => parseSegmentFileName(name) !== null).length;
  assert.ok(files >= Math.ceil(bytes / SEGMENT) && files <= Math.ceil(bytes / SEGMENT) + 1, `${files} segment files for ${bytes} bytes`);
  const reopened = await AofManager.open(options);
  t.after(() => reopened.close());
  const again = await reopened.openStream('w');
  assert.equal(again.nextId, sizes.length);
  await verifyLog(again, (id) => payloadFor(id, sizes[id]!), sizes.length);
});

test('2,000 streams take turns on an arena whose window budget holds a page per stream: no parking, no waiting, readers follow the tails', async (t) => {
  const { root, cleanup } = tempRoot('aof2-windows-many-');
  t.after(cleanup);
  const STREAMS = 2000;
  const ROUNDS = 5;
  const SEGMENT = 64 * 1024;
  // 2,304 pages of 8 KiB (18 MiB): the window budget (seven eighths, 2,016 pages; the default
  // reader reserve keeps the rest) holds one page per stream and a few to spare.
  const options = { root, tier0: { arenaBytes: 288 * SEGMENT, segmentBytes: SEGMENT }, tier1: { enabled: false }, tier2: { kind: 'none' as const }, fsync: 'never' as const };
  const manager = await AofManager.open(options);
  t.after(() => manager.close());
  const names = Array.from({ length: STREAMS }, (_, i) => `m${String(i).padStart(4, '0')}`);
  const logs = await Promise.all(names.map((n) => manager.openStream(n)));
  const followed = logs.filter((_, s) => s % 100 === 0).map((log) => ({ log, reader: log.openReader({ from: 0 }) }));
  const expected = (s: number, r: number): Uint8Array => payloadFor(s * 100 + r, 200);
  let blocked = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (let s = 0; s < STREAMS; s++) {
      try {
        assert.equal(logs[s]!.appendSync(expected(s, r)), r);
      } catch (err) {
        if (!(err instanceof WouldBlockError)) throw err;
        blocked++;
        assert.equal(await logs[s]!.append(expected(s, r)), r);
      }
    }
    for (const { log, reader } of followed) checkRecord(reader.nextSync(), r, expected(logs.indexOf(log), r));
  }
  assert.equal(blocked, 0, 'every append found its window or a free page');
  assert.equal(logs.filter((log) => logCore(log).describe().parked).length, 0, 'nothing parked');
  for (const { reader } of followed) reader.close();
  for (let s = 0; s < STREAMS; s += 37) await verifyLog(logs[s]!, (r) => expected(s, r), ROUNDS);
});
