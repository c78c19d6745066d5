/**
 * One manager, 1,000 streams sharing one arena: once with a slot per stream, once with 64 slots,
 * where admission depends on the engine parking other streams' active segments under pressure
 * (AofManager#relievePressure) and loading them back when their streams append again. Every
 * stream must keep its own dense ids and bytes across a close and reopen, in one segment each
 * (parked segments are never sealed for room).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofManager, type AofLog } from '../../src/index.js';
import { logCore } from '../../src/log.js';
import { verifyLog } from '../../support/engine.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';

const SEGMENT = 16 * 1024;
const STREAMS = 1000;
const PER_STREAM = 3;
const names = Array.from({ length: STREAMS }, (_, i) => `stream-${String(i).padStart(4, '0')}`);
/** Record r of stream s: distinct bytes per (s, r), sizes spread over 100..999 bytes. */
const expected = (s: number, r: number): Uint8Array => payloadFor(s * 100 + r, 100 + ((s * 7 + r * 131) % 900));

async function verifyAll(logs: AofLog[]): Promise<void> {
  for (let s = 0; s < STREAMS; s++) await verifyLog(logs[s]!, (r) => expected(s, r), PER_STREAM);
}

for (const slots of [STREAMS + 100, 64]) {
  test(`1,000 streams in one manager with ${slots} arena slots of 16 KiB: round-robin appends, read back, reopen`, async (t) => {
    const { root, cleanup } = tempRoot();
    t.after(cleanup);
    const tier0 = { arenaBytes: slots * SEGMENT, segmentBytes: SEGMENT };
    const manager = await AofManager.open({ root, tier0, fsync: 'never' });
    const logs = await Promise.all(names.map((n) => manager.openStream(n)));

    const calls: Promise<number>[] = [];
    for (let r = 0; r < PER_STREAM; r++) {
      for (let s = 0; s < STREAMS; s++) calls.push(logs[s]!.append(expected(s, r)));
    }
    const admittedAtOnce = logs.reduce((sum, log) => sum + log.nextId, 0);
    t.diagnostic(`${admittedAtOnce} of ${calls.length} appends admitted without waiting`);
    // With fewer slots than streams, most appends must wait for pressure relief to free a slot.
    if (slots < STREAMS) assert.ok(admittedAtOnce < calls.length / 2);
    const ids = await Promise.all(calls);
    ids.forEach((id, i) => assert.equal(id, Math.floor(i / STREAMS), `call ${i}`));

    await Promise.all(logs.map((log) => log.flush()));
    for (const log of logs) assert.equal(log.durableId, PER_STREAM - 1);
    for (const log of logs) assert.equal(logCore(log).describe().segments, 1, `stream ${log.name}: one segment`);
    const occupancy = manager.stats().arena;
    assert.equal(occupancy.failed, 0);
    assert.ok(occupancy.active <= (slots * SEGMENT) / 8192, 'at most one write window per page');
    await verifyAll(logs);
    await manager.close();

    const reopened = await AofManager.open({ root, tier0, fsync: 'never' });
    const names2 = await reopened.listStreams();
    assert.equal(names2.length, STREAMS);
    assert.deepEqual(names2, names);
    const logs2 = await Promise.all(names.map((n) => reopened.openStream(n)));
    for (const log of logs2) assert.equal(log.nextId, PER_STREAM);
    assert.equal(reopened.stats().recovery.scannedSegments, 0, 'close() sealed every segment');
    await verifyAll(logs2);
    // Appends continue each stream's ids after the reopen.
    assert.equal(await logs2[STREAMS - 1]!.append(expected(0, 0)), PER_STREAM);
    await reopened.close();
  });
}
