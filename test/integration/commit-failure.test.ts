/**
 * A group commit that fails under fsync 'always' while 64 appends are in flight: the `flush`
 * failpoint (workers/failpoints.ts) makes an fdatasync of the flush worker throw (`flush.error`,
 * what an EIO would do) or ends the flush thread just before it (`flush.crash`). The failing
 * group's frames are already in the file (written, not synced), and the worker's bookkeeping of
 * the previous commit (header, data CRC) runs after that commit was announced (docs/architecture.md,
 * "Durability"). None of the failing group may resolve: every `append()` resolves only once
 * durable, the resolved ids are exactly 0..durableId (a contiguous prefix), the failing group
 * stays above durableId, every later append rejects with the failure, `durableId` never moves
 * again, and after a reopen without failpoints every acknowledged record reads back byte for byte.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofError, AofManager, ErrorCode, type AofManagerOptions } from '../../src/index.js';
import { withFailpoints } from '../../support/failpoints-env.js';
import { sleep, verifyLog } from '../../support/engine.js';
import { withTimeout } from '../../support/tier1-engine.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';

const APPENDERS = 64;
/** 200 B to 2 KiB: a group of 64 holds ~70 KiB, so the worker writes it in several early pieces. */
const sizeOf = (k: number): number => 200 + ((k * 37) % 1800);
/**
 * One fdatasync in 20 fails (seeded: the flush worker is this process's first thread, so its draws
 * replay): the failure comes after some group commits, with many records acknowledged before it.
 */
const P = '0.05';
const SEED = '13';

const cases = [
  { kind: 'error', code: ErrorCode.INJECTED },
  { kind: 'crash', code: ErrorCode.WORKER_FAILED },
] as const;

for (const { kind, code } of cases) {
  test(`flush.${kind} under fsync 'always' with ${APPENDERS} appends in flight: nothing after the failure resolves, the acknowledged prefix survives a reopen`, async (t) => {
    const { root, cleanup } = tempRoot();
    t.after(cleanup);
    // 16 MiB segments: the failure (1 fdatasync in 20) comes long before a seal, so it always hits
    // a group commit with records in it.
    const options: AofManagerOptions = { root, tier0: { arenaBytes: 64 * 2 ** 20, segmentBytes: 16 * 2 ** 20 }, tier1: { enabled: false }, fsync: 'always' };
    // The flush worker reads AOF2_FAILPOINTS when it starts, inside open().
    const manager = await withFailpoints(`flush.${kind}=${P}`, SEED, () => AofManager.open(options));
    t.after(() => manager.close().catch(() => undefined));
    const log = await manager.openStream('commit');

    let calls = 0;
    const resolved: number[] = [];
    const resolvedEarly: string[] = [];
    const failures: unknown[] = [];
    const appender = async (): Promise<void> => {
      for (;;) {
        // Calls are made in order on one thread and none waits in the queue before the failure, so
        // the k-th call gets id k; after the failure calls reject without an id.
        const k = calls++;
        let id: number;
        try {
          id = await log.append(payloadFor(k, sizeOf(k)));
        } catch (err) {
          failures.push(err);
          return;
        }
        // Checked at the moment the caller is told "durable".
        const durable = log.durableId;
        if (id !== k || durable < id) resolvedEarly.push(`call ${k} resolved with id ${id} at durableId ${durable}`);
        resolved.push(id);
      }
    };
    await withTimeout(Promise.all(Array.from({ length: APPENDERS }, appender)), 120_000, `the appenders to meet the injected flush.${kind}`);

    assert.deepEqual(resolvedEarly, [], 'no append() resolves before its record is durable');
    assert.equal(failures.length, APPENDERS, 'every appender ends on a rejection');
    for (const err of failures) {
      assert.ok(err instanceof AofError, `rejected with ${String(err)}`);
      assert.equal(err.code, code);
    }
    const injected = failures[0] as AofError;
    if (kind === 'error') assert.equal(injected.details?.['job'], 'flush');

    const durableId = log.durableId;
    t.diagnostic(`${resolved.length} appends acknowledged before the failure, ${calls - resolved.length} rejected; durableId ${durableId}, nextId ${log.nextId}`);
    assert.ok(resolved.length > 0, 'some group commits succeed before the failure (seeded draws)');
    resolved.sort((a, b) => a - b);
    assert.deepEqual(resolved, Array.from({ length: durableId + 1 }, (_, i) => i), 'the acknowledged ids are exactly 0..durableId');
    assert.ok(log.nextId - 1 > durableId, `the group whose fdatasync failed stays above durableId (${durableId}, nextId ${log.nextId})`);
    await sleep(100); // the worker has stopped syncing that segment: nothing makes durableId move now
    assert.equal(log.durableId, durableId, 'durableId does not move after the failure');
    await withTimeout(manager.close().catch(() => undefined), 30_000, 'close() after the failure');

    const reopened = await AofManager.open(options);
    try {
      const again = await reopened.openStream('commit');
      // Frames written but never fsynced may still be in the file (the page cache outlives the
      // failure): at least the acknowledged ones, and every record there is the one appended.
      assert.ok(again.nextId >= durableId + 1, `reopened with nextId ${again.nextId}, durableId was ${durableId}`);
      await verifyLog(again, (id) => payloadFor(id, sizeOf(id)), again.nextId);
    } finally {
      await reopened.close();
    }
  });
}
