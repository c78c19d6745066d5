/**
 * startHydration (src/tier0/hydrate.ts) on a real sealed segment file and a real arena.
 *
 * Regression: the segment's `slot` was set inside the read, before the slot's state moved from
 * HYDRATING to CLEAN (a whole file close later). Code that trusts a segment's slot state — Tier 1's
 * sealing watcher took "not SEALING, not CLEAN" for a failed flush and silently dropped the segment
 * (never recorded, never compressed) — could observe the segment in a HYDRATING slot. The slot is
 * now published together with CLEAN.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena } from '../../../src/arena/arena.js';
import { SlotState } from '../../../src/arena/layout.js';
import { AofManager } from '../../../src/index.js';
import { startHydration } from '../../../src/tier0/hydrate.js';
import { Segment } from '../../../src/tier0/segment.js';
import { payloadFor, sameBytes, tempRoot } from '../../helpers/tmp.js';
import { Deadline } from '../../helpers/engine.js';
import { RECORD_PAYLOAD_OFFSET, frameLength } from '../../../src/format/record.js';
import { segmentPath, streamDir, tier1Path } from '../../../src/format/root-layout.js';

const SEGMENT_BYTES = 64 * 1024;

test('a raw hydration publishes seg.slot only once the slot is CLEAN, with the data in place', async (t) => {
  const { root, cleanup } = tempRoot('aof2-hydrate-unit-');
  t.after(cleanup);
  // A sealed raw segment file written by the engine (Tier 1 off, so it stays raw).
  const n = 50;
  const manager = await AofManager.open({ root, tier0: { arenaBytes: 2 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES }, tier1: { enabled: false } });
  const log = await manager.openStream('s');
  for (let id = 0; id < n; id++) log.appendSync(payloadFor(id, 100 + id));
  await manager.close();
  let dataBytes = 0;
  for (let id = 0; id < n; id++) dataBytes += frameLength(100 + id);

  const dir = streamDir(root, 's');
  const arena = new Arena(2, SEGMENT_BYTES, 4096);
  for (let round = 0; round < 20; round++) {
    const seg = new Segment(0, segmentPath(dir, 0), tier1Path(dir, 0), n, dataBytes, true);
    let done = false;
    assert.equal(startHydration(arena, seg, () => (done = true)), true);
    // Observe at every turn of the event loop (and every microtask hop of the hydration itself).
    let observations = 0;
    const d = new Deadline(`hydration round ${round} to settle`, 30_000);
    while (!done) {
      d.check();
      if (seg.slot >= 0) assert.equal(arena.state(seg.slot), SlotState.CLEAN, 'a segment must never point at a HYDRATING slot');
      observations++;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    assert.ok(observations > 0);
    assert.equal(seg.error, null);
    assert.ok(seg.slot >= 0);
    assert.equal(arena.state(seg.slot), SlotState.CLEAN);
    // The bytes are in place: the first record's payload.
    const at = arena.base(seg.slot) + RECORD_PAYLOAD_OFFSET;
    assert.ok(sameBytes(arena.u8.subarray(at, at + 100), payloadFor(0, 100)));
    arena.release(seg.slot);
  }
});
