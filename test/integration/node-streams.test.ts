/**
 * log.createReadStream() and log.createWriteStream() through `stream.pipeline`, against a real
 * engine (real files, the real flush worker, Tier 1's compress and hydrate pools): a round trip of
 * varied records across many segments and a tiny arena (hydration on the read side), the arena's
 * back-pressure on the write side, durability of a callback and of 'finish', follow streams that
 * wait at the tail and end with the manager, and every error arriving coded through the pipeline.
 */
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { test, type TestContext } from 'node:test';
import { AofError, AofManager, ErrorCode, type AofLog, type AofManagerOptions, type LogRecord } from '../../src/index.js';
import { rejectionOf, waitFor } from '../../support/engine.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';

const SEGMENT = 64 * 1024;
/** Four segments of arena for forty of data: old records are read back from disk, new ones wait for room. */
const TINY = { arenaBytes: 4 * SEGMENT, segmentBytes: SEGMENT };

async function open(t: TestContext, extra: Partial<AofManagerOptions> = {}): Promise<{ manager: AofManager; log: AofLog; options: AofManagerOptions }> {
  const { root, cleanup } = tempRoot('aof2-streams-');
  const options: AofManagerOptions = { root, tier0: TINY, tier2: { kind: 'none' }, ...extra };
  const manager = await AofManager.open(options);
  t.after(async () => {
    await manager.close().catch(() => undefined);
    cleanup();
  });
  return { manager, log: await manager.openStream('s'), options };
}

/** Record `id`'s payload: sizes from 1 byte to ~3 KiB, so frames straddle windows and segments. */
const recordOf = (id: number): Uint8Array => payloadFor(id, 1 + ((id * 577) % 3000));

/** A source of `count` records from id `first` (Readable.from: an ordinary object-mode producer). */
function records(first: number, count: number): Readable {
  return Readable.from(
    (function* produce() {
      for (let id = first; id < first + count; id++) yield recordOf(id);
    })(),
  );
}

/** A Writable collecting LogRecords into `into`. */
function collector(into: LogRecord[]): Writable {
  return new Writable({
    objectMode: true,
    write(record: LogRecord, _encoding, callback) {
      into.push(record);
      callback();
    },
  });
}

function checkRecords(got: readonly LogRecord[], from: number, count: number): void {
  assert.equal(got.length, count, `expected ${count} records from ${from}, got ${got.length}`);
  for (let i = 0; i < count; i++) {
    const record = got[i]!;
    assert.equal(record.id, from + i, 'ids dense and in order');
    assert.equal(typeof record.timestamp, 'number');
    if (!sameBytes(record.payload, recordOf(from + i))) assert.fail(`record ${from + i}: payload differs`);
  }
}

test('pipeline: a Readable of records into createWriteStream, then createReadStream into a collector, reads back every record', async (t) => {
  const { manager, log } = await open(t);
  const count = 1500; // ~2.2 MB: about 35 segments through a 4-segment arena
  await pipeline(records(0, count), log.createWriteStream());
  assert.equal(log.nextId, count);
  await manager.settle(); // sealed segments compressed: the read below hydrates Tier 1 frames too

  const got: LogRecord[] = [];
  const hydrationBefore = manager.stats().wouldBlock.hydration;
  await pipeline(log.createReadStream({ from: 0 }), collector(got));
  checkRecords(got, 0, count);
  // Most of the stream was not resident: the read stream took the WouldBlock path and waited.
  assert.ok(manager.stats().wouldBlock.hydration > hydrationBefore, 'the read stream waited for loads');

  // Payloads are copies the consumer owns: distinct buffers, not views of the arena.
  assert.ok(!(got[0]!.payload.buffer instanceof SharedArrayBuffer), 'a payload is a copy, not an arena view');
  // From the middle; bounded at the tail as of the call: later appends are not included.
  const middle: LogRecord[] = [];
  const stream = log.createReadStream({ from: 1000 });
  await log.append(recordOf(count));
  await pipeline(stream, collector(middle));
  checkRecords(middle, 1000, count - 1000);
});

test('the arena pushes back through the write stream: write() returns false, the pipeline pauses, nothing is lost', async (t) => {
  // tier1 off and the flusher lingering 100 ms: the writer fills the 4-segment arena long before
  // the flush worker frees a window, so appends must wait.
  const { manager, log } = await open(t, { tier1: { enabled: false }, tier0: { ...TINY, writeDelayMs: 100 } });
  const count = 3000; // ~4.5 MB through 256 KiB of arena
  const writable = log.createWriteStream({ highWaterMark: 4 });
  let drains = 0;
  writable.on('drain', () => drains++);
  await pipeline(records(0, count), writable);
  assert.ok(drains > 0, 'write() returned false at least once (the stream buffered while the arena was full)');
  const blocked = manager.stats().wouldBlock;
  assert.ok(blocked.rollover + blocked.admission > 0, `appends waited for arena room (${JSON.stringify(blocked)})`);
  // 'finish' came after _final's flush: everything is durable, under fsync 'interval' too.
  assert.equal(log.durableId, count - 1);
  const got: LogRecord[] = [];
  await pipeline(log.createReadStream(), collector(got));
  checkRecords(got, 0, count);
});

test("fsync 'always': a write's callback means durable; 'never': 'finish' means durable", async (t) => {
  await t.test('always', async (t) => {
    const { log } = await open(t, { fsync: 'always', tier1: { enabled: false } });
    const writable = log.createWriteStream();
    const durableAtCallback: number[] = [];
    for (let id = 0; id < 50; id++) {
      writable.write(recordOf(id), (err) => {
        assert.ifError(err);
        durableAtCallback.push(log.durableId);
      });
    }
    writable.end();
    await finished(writable);
    assert.equal(durableAtCallback.length, 50);
    durableAtCallback.forEach((durable, id) => assert.ok(durable >= id, `record ${id}: callback with durableId ${durable}`));
  });
  await t.test('never', async (t) => {
    const { log } = await open(t, { fsync: 'never', tier1: { enabled: false } });
    await pipeline(records(0, 200), log.createWriteStream());
    assert.equal(log.durableId, 199, "end() flushed: durable although fsync is 'never'");
  });
});

test('a follow stream waits at the tail for new records and ends cleanly when the manager closes', async (t) => {
  const { manager, log } = await open(t, { tier1: { enabled: false } });
  for (let id = 0; id < 10; id++) log.appendSync(recordOf(id));
  const got: LogRecord[] = [];
  const done = pipeline(log.createReadStream({ from: 0, follow: true }), collector(got));
  await waitFor(() => got.length === 10, 'the 10 records appended before the stream');
  // Appended while the stream waits at the tail: woken by the flush worker's progress.
  for (let id = 10; id < 300; id++) await log.append(recordOf(id));
  await waitFor(() => got.length === 300, 'the records appended while following', { progress: () => `${got.length} read` });
  await manager.close();
  await done; // a clean end, not AOF_ERR_CLOSED
  checkRecords(got, 0, 300);
});

test('a follow stream is released by destroy() and by its AbortSignal while it waits at the tail', async (t) => {
  const { manager, log } = await open(t, { tier1: { enabled: false } });
  log.appendSync(recordOf(0));

  const destroyed = log.createReadStream({ follow: true });
  const first: LogRecord[] = [];
  destroyed.on('data', (record: LogRecord) => first.push(record));
  await waitFor(() => first.length === 1, 'the one record');
  const closed = new Promise<void>((resolve) => destroyed.once('close', resolve));
  destroyed.destroy();
  await closed;

  const controller = new AbortController();
  const aborted = log.createReadStream({ follow: true, signal: controller.signal });
  const done = pipeline(aborted, collector([]));
  controller.abort();
  await assert.rejects(done, { name: 'AbortError' });

  // Their readers were closed: close() finds nothing pinned and does not wait for them.
  await manager.close();
});

test('a bounded read stream cut short by the manager closing errors with AOF_ERR_CLOSED', async (t) => {
  const { manager, log } = await open(t, { tier1: { enabled: false } });
  for (let id = 0; id < 100; id++) log.appendSync(recordOf(id));
  const stream = log.createReadStream({ highWaterMark: 1 });
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  assert.equal(first.done, false);
  assert.equal((first.value as LogRecord).id, 0);
  await manager.close();
  const err = await rejectionOf(
    (async () => {
      for (;;) if ((await iterator.next()).done === true) return;
    })(),
  );
  assert.equal(err.code, ErrorCode.CLOSED);
});

test('errors reach the pipeline with their codes; the records before a failing one stay appended', async (t) => {
  const { manager, log } = await open(t, { tier1: { enabled: false } });

  // A record larger than a segment, third in line: two appended, none after it.
  const oversized = Readable.from([recordOf(0), recordOf(1), new Uint8Array(SEGMENT), recordOf(3)]);
  assert.equal((await rejectionOf(pipeline(oversized, log.createWriteStream()))).code, ErrorCode.RECORD_TOO_LARGE);
  assert.equal(log.nextId, 2);

  // A string is not a record's bytes (no encoding is guessed), nor is a number.
  assert.equal((await rejectionOf(pipeline(Readable.from(['text']), log.createWriteStream()))).code, ErrorCode.INVALID_ARGUMENT);
  assert.equal((await rejectionOf(pipeline(Readable.from([42]), log.createWriteStream()))).code, ErrorCode.INVALID_ARGUMENT);
  assert.equal(log.nextId, 2);

  // Bad options and positions are refused synchronously, before any stream exists.
  assert.throws(() => log.createReadStream({ from: 3 }), (err: unknown) => err instanceof AofError && err.code === ErrorCode.OUT_OF_RANGE);
  assert.throws(() => log.createReadStream({ follow: 'yes' as unknown as boolean }), (err: unknown) => err instanceof AofError && err.code === ErrorCode.INVALID_ARGUMENT);
  assert.throws(() => log.createReadStream({ form: 0 } as never), (err: unknown) => err instanceof AofError && err.code === ErrorCode.UNKNOWN_OPTION);
  assert.throws(() => log.createWriteStream({ highWaterMark: 0 }), (err: unknown) => err instanceof AofError && err.code === ErrorCode.INVALID_ARGUMENT);

  // A write stream opened before the close, written after it.
  const late = log.createWriteStream();
  await manager.close();
  assert.equal((await rejectionOf(pipeline(records(2, 3), late))).code, ErrorCode.CLOSED);
  // After the close nothing opens.
  assert.throws(() => log.createWriteStream(), (err: unknown) => err instanceof AofError && err.code === ErrorCode.CLOSED);
  assert.throws(() => log.createReadStream(), (err: unknown) => err instanceof AofError && err.code === ErrorCode.CLOSED);
});

test('records written through a stream survive a reopen, and `for await` over a read stream yields typed LogRecords', async (t) => {
  const { manager, log, options } = await open(t, { tier1: { enabled: false } });
  await pipeline(records(0, 400), log.createWriteStream());
  await manager.close();

  const reopened = await AofManager.open(options);
  t.after(() => reopened.close());
  const again = await reopened.openStream('s');
  let id = 0;
  for await (const record of again.createReadStream()) {
    assert.equal(record.id, id);
    if (!sameBytes(record.payload, recordOf(id))) assert.fail(`record ${id} differs after reopen`);
    id++;
  }
  assert.equal(id, 400);
});
