/**
 * src/arena/prefault.ts's claim protocol with a real second thread (the flush worker's role): a
 * faulter running `prefaultNext` while the main thread takes slots with `Arena.acquire` and writes
 * into them at once. Whatever the interleaving, no zero lands on a byte written after the slot was
 * taken: `Arena.acquire` waits for the faulter's claim (with that wait removed, this fails most
 * runs).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Arena, type SlotOwner } from '../../src/arena/arena.js';
import { SlotState } from '../../src/arena/layout.js';
import { OS_PAGE_BYTES } from '../../src/arena/prefault.js';

const KiB = 1024;
const owner = (): SlotOwner => ({ slotReleased: () => undefined });

/** The first byte of each OS page of the segment-sized run at `run`: what a faulter writes. */
function pageBytes(arena: Arena, run: number): number[] {
  const out: number[] = [];
  for (let off = 0; off < arena.segmentBytes; off += OS_PAGE_BYTES) out.push(arena.u8[arena.base(run) + off]!);
  return out;
}

describe('prefault claims across threads', () => {
  test('no zero ever lands in a slot after the main thread took it', async () => {
    const slots = 256;
    const arena = new Arena(slots, 64 * KiB);
    const started = new Int32Array(new SharedArrayBuffer(4));
    // The faulter: a real thread running the module's own prefaultNext until the cursor ends.
    const faulter = new Worker(
      `import { workerData, parentPort } from 'node:worker_threads';
       const { prefaultNext } = await import(workerData.module);
       const ctrl = new Int32Array(workerData.sab);
       const u8 = new Uint8Array(workerData.sab);
       const go = new Int32Array(workerData.go);
       Atomics.store(go, 0, 1);
       Atomics.notify(go, 0);
       let n = 0;
       while (prefaultNext(ctrl, u8, workerData.geometry)) n++;
       parentPort.postMessage(n);`,
      {
        eval: true,
        workerData: {
          sab: arena.sab,
          module: new URL('../../src/arena/prefault.js', import.meta.url).href,
          geometry: { pages: arena.pages, pageBytes: arena.pageBytes },
          go: started.buffer,
        },
      },
    );
    const done = new Promise<number>((resolve, reject) => faulter.once('message', resolve).once('error', reject));
    // Start together (the faulter's module loads first), so the two threads overlap.
    const deadline = Date.now() + 30_000;
    while (Atomics.load(started, 0) === 0) {
      assert.ok(Date.now() < deadline, 'the faulter thread did not start within 30 s');
      Atomics.wait(started, 0, 0, 50);
    }
    // Meanwhile take every slot, as writers do, and write a pattern into each page of it at once.
    const taken: number[] = [];
    for (let i = 0; i < slots; i++) {
      const slot = arena.acquire(owner(), SlotState.ACTIVE); // a run of segmentBytes: its interior pages too
      assert.ok(slot >= 0, `run ${i} taken`);
      for (let off = 0; off < arena.segmentBytes; off += OS_PAGE_BYTES) arena.u8[arena.base(slot) + off] = 0x5a;
      taken.push(slot);
    }
    const claims = await done;
    assert.equal(claims, arena.pages);
    for (const slot of taken) {
      const bad = pageBytes(arena, slot).findIndex((b) => b !== 0x5a);
      assert.equal(bad, -1, `run ${slot}: OS page ${bad} was zeroed after the run was taken`);
    }
  });
});
