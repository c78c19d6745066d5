/**
 * Records of varied sizes appended in batches, shared by the live-tail tests and the worker-reader
 * tests (and their worker, support/attached-worker.ts): `recordOf(id)` is what record `id` holds,
 * so a reader anywhere can check every byte it gets.
 */
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { WouldBlockError, type AofLog } from '../src/index.js';
import { payloadFor } from './tmp.js';

/** Record `id`'s payload: sizes from 1 byte to ~1.5 KiB, so frames straddle windows and segments. */
export const recordOf = (id: number): Uint8Array => payloadFor(id, 1 + ((id * 577) % 1500));

/**
 * Appends records `from`..`to` - 1 in batches of `batch` with appendBatchSync, one batch per
 * event-loop turn; a batch the arena cannot take now (WouldBlock) waits with appendBatch().
 */
export async function appendBatches(log: AofLog, from: number, to: number, batch: number): Promise<void> {
  for (let id = from; id < to; id += batch) {
    const payloads: Uint8Array[] = [];
    for (let i = id; i < Math.min(to, id + batch); i++) payloads.push(recordOf(i));
    let first: number;
    try {
      first = log.appendBatchSync(payloads);
    } catch (err) {
      if (!(err instanceof WouldBlockError)) throw err;
      first = await log.appendBatch(payloads);
    }
    assert.equal(first, id);
    await turn();
  }
}
