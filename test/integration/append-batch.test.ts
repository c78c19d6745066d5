/**
 * appendBatchSync / appendBatch (issue 13): consecutive ids, all or nothing, call order with
 * append(), durability under 'always', and coded refusals that append nothing. Every case reads
 * the records back after a reopen.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { AofError, AofManager, ErrorCode, WouldBlockError, type AofManagerOptions, type ErrorCodeValue } from '../../src/index.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';

const SEGMENT = 64 * 1024;
const TIER0 = { arenaBytes: 8 * SEGMENT, segmentBytes: SEGMENT };

async function open(t: TestContext, extra: Partial<AofManagerOptions> = {}): Promise<{ root: string; options: AofManagerOptions; manager: AofManager }> {
  const { root, cleanup } = tempRoot('aof2-batch-');
  const options: AofManagerOptions = { root, tier0: TIER0, tier1: { enabled: false }, ...extra };
  const manager = await AofManager.open(options);
  t.after(async () => {
    await manager.close().catch(() => undefined);
    cleanup();
  });
  return { root, options, manager };
}

/** Payload of record `id`: its size varies with the id, its bytes name it. */
const recordOf = (id: number): Uint8Array => payloadFor(id, 40 + ((id * 37) % 900));
const batchFrom = (first: number, count: number): Uint8Array[] => Array.from({ length: count }, (_, i) => recordOf(first + i));

/** Reopens and checks that the stream holds exactly records 0..count-1, each `recordOf(id)`. */
async function readBack(options: AofManagerOptions, stream: string, count: number): Promise<void> {
  const manager = await AofManager.open(options);
  try {
    const log = await manager.openStream(stream);
    assert.equal(log.nextId, count, 'nextId after reopen');
    let id = 0;
    for await (const rec of log.read({ from: 0 })) {
      assert.equal(rec.id, id);
      assert.ok(sameBytes(rec.payload, recordOf(id)), `record ${id} has other bytes`);
      id++;
    }
    assert.equal(id, count);
  } finally {
    await manager.close();
  }
}

function coded(code: ErrorCodeValue): (err: unknown) => true {
  return (err) => {
    assert.ok(err instanceof AofError, `expected ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

describe('appendBatchSync / appendBatch', () => {
  test('consecutive ids, mixed with single appends, across segment boundaries; all back after a reopen', async (t) => {
    const { options, manager } = await open(t);
    const log = await manager.openStream('s');
    let next = 0;
    for (let round = 0; round < 300; round++) {
      const count = 1 + (round % 23);
      let first: number;
      try {
        first = log.appendBatchSync(batchFrom(next, count));
      } catch (err) {
        assert.ok(err instanceof WouldBlockError, String(err));
        assert.equal(log.nextId, next, 'a refused batch appends nothing');
        first = await log.appendBatch(batchFrom(next, count));
      }
      assert.equal(first, next);
      next += count;
      assert.equal(log.nextId, next);
      if (round % 5 === 0) {
        assert.equal(await log.append(recordOf(next)), next);
        next++;
      }
    }
    assert.ok(next * 500 > 3 * SEGMENT, 'the records span several segments');
    await manager.close();
    await readBack(options, 's', next);
  });

  test('WouldBlock leaves nothing behind: appendBatchSync until the arena pushes back, then the waiting twin', async (t) => {
    const { options, manager } = await open(t, { fsync: 'never' });
    const log = await manager.openStream('s');
    let next = 0;
    let refused = 0;
    // Batches of ~45 KiB: most need a new window or segment, which the flusher must free first.
    for (let i = 0; i < 400 && refused < 5; i++) {
      const batch = batchFrom(next, 90);
      try {
        assert.equal(log.appendBatchSync(batch), next);
        next += batch.length;
      } catch (err) {
        assert.ok(err instanceof WouldBlockError, String(err));
        assert.equal(log.nextId, next, 'nothing of the refused batch was appended');
        refused++;
        assert.equal(await log.appendBatch(batch), next);
        next += batch.length;
      }
    }
    assert.ok(refused > 0, 'the loop met WouldBlock');
    await manager.close();
    await readBack(options, 's', next);
  });

  test('queued behind a waiting append(): appendBatchSync throws WouldBlock, appendBatch keeps call order', async (t) => {
    const { options, manager } = await open(t, { fsync: 'never' });
    const log = await manager.openStream('s');
    let next = 0;
    const pending: Array<Promise<number>> = [];
    const expected: number[] = [];
    // Fill until an append() has to wait, then queue a batch and more appends behind it.
    while (pending.length === 0) {
      try {
        log.appendSync(recordOf(next));
        next++;
      } catch (err) {
        assert.ok(err instanceof WouldBlockError);
        const call = log.append(recordOf(next));
        if (log.nextId > next) {
          // The flush worker freed room between the two calls, so this one went in at once and
          // nothing is queued yet: keep filling.
          assert.equal(await call, next++);
          continue;
        }
        pending.push(call);
        expected.push(next++);
      }
    }
    assert.throws(() => log.appendBatchSync(batchFrom(next, 3)), WouldBlockError, 'a sync batch cannot overtake the queue');
    pending.push(log.appendBatch(batchFrom(next, 3)));
    expected.push(next);
    next += 3;
    pending.push(log.append(recordOf(next)));
    expected.push(next++);
    assert.deepEqual(await Promise.all(pending), expected);
    await manager.close();
    await readBack(options, 's', next);
  });

  test('many batches and appends in flight at once get consecutive ids in call order', async (t) => {
    const { options, manager } = await open(t, { fsync: 'never' });
    const log = await manager.openStream('s');
    let next = 0;
    const calls: Array<{ first: number; promise: Promise<number> }> = [];
    // ~1.3 MB issued without awaiting, against a 512 KiB arena: most of it queues.
    for (let i = 0; i < 600; i++) {
      if (i % 3 === 0) {
        calls.push({ first: next, promise: log.append(recordOf(next)) });
        next++;
      } else {
        const count = 1 + (i % 11);
        calls.push({ first: next, promise: log.appendBatch(batchFrom(next, count)) });
        next += count;
      }
    }
    const got = await Promise.all(calls.map((c) => c.promise));
    assert.deepEqual(got, calls.map((c) => c.first));
    assert.equal(log.nextId, next);
    await manager.close();
    await readBack(options, 's', next);
  });

  test("under fsync 'always' appendBatch resolves once the whole batch is durable", async (t) => {
    const { options, manager } = await open(t, { fsync: 'always' });
    const log = await manager.openStream('s');
    let next = 0;
    for (let i = 0; i < 50; i++) {
      const count = 1 + (i % 7);
      const first = await log.appendBatch(batchFrom(next, count));
      assert.equal(first, next);
      next += count;
      assert.ok(log.durableId >= next - 1, `durableId ${log.durableId} below the batch's last id ${next - 1}`);
    }
    await manager.close();
    await readBack(options, 's', next);
  });

  test('bad batches are refused with a code and append nothing; the async twin rejects', async (t) => {
    const { options, manager } = await open(t);
    const log = await manager.openStream('s');
    log.appendBatchSync(batchFrom(0, 2));
    const cases: Array<[string, unknown, ErrorCodeValue]> = [
      ['not an array', recordOf(2), ErrorCode.INVALID_ARGUMENT],
      ['empty', [], ErrorCode.INVALID_ARGUMENT],
      ['a string element', [recordOf(2), 'x'], ErrorCode.INVALID_ARGUMENT],
      ['a record larger than a segment', [recordOf(2), new Uint8Array(SEGMENT)], ErrorCode.RECORD_TOO_LARGE],
      ['frames over one segment', [new Uint8Array(SEGMENT / 2), new Uint8Array(SEGMENT / 2)], ErrorCode.BATCH_TOO_LARGE],
    ];
    for (const [what, batch, code] of cases) {
      assert.throws(() => log.appendBatchSync(batch as Uint8Array[]), coded(code), what);
      let promise: Promise<number> | undefined;
      assert.doesNotThrow(() => {
        promise = log.appendBatch(batch as Uint8Array[]);
      }, `${what}: the async twin threw synchronously`);
      await assert.rejects(promise!, coded(code), what);
      assert.equal(log.nextId, 2, `${what}: nothing appended`);
    }
    assert.throws(
      () => log.appendBatchSync([recordOf(2), 7 as unknown as Uint8Array]),
      (err: unknown) => err instanceof AofError && (err.details as { index?: number } | undefined)?.index === 1,
      'the bad element is named',
    );
    const over = (() => {
      try {
        log.appendBatchSync([new Uint8Array(SEGMENT / 2), new Uint8Array(SEGMENT / 2)]);
      } catch (err) {
        return err as AofError;
      }
      return null;
    })();
    assert.deepEqual(over?.details, { records: 2, batchBytes: SEGMENT + 32, segmentBytes: SEGMENT });
    // Exactly one segment's worth is admitted.
    const full = SEGMENT - 16;
    assert.equal(log.appendBatchSync([new Uint8Array(full)]), 2);
    await manager.close();
    await assert.rejects(log.appendBatch(batchFrom(3, 1)), coded(ErrorCode.CLOSED));
    assert.throws(() => log.appendBatchSync(batchFrom(3, 1)), coded(ErrorCode.CLOSED));
    const reopened = await AofManager.open(options);
    const again = await reopened.openStream('s');
    assert.equal(again.nextId, 3);
    await reopened.close();
  });
});
