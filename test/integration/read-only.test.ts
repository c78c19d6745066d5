/**
 * Read-only opens from another process (issue 15, section 3): a writer process holds the root
 * (support/read-only-writer.ts) and this process opens it with `readOnly`. Real files, real
 * processes, real worker threads; no timing assertions (waits have deadlines only).
 *
 * - the writer's lock still refuses a second writer (AOF_ERR_LOCKED), while read-only managers,
 *   several at once, open beside it;
 * - every write throws AOF_ERR_READ_ONLY, and nothing under the root changes (a recursive listing
 *   with sizes, mtimes and inodes is the same before and after);
 * - what they read equals what the writer appended: sealed raw segments, compressed (Tier 1)
 *   ones, the written part of the active one, and segments only Tier 2 holds (with the writer's
 *   tier2 option; without it, AOF_ERR_UNAVAILABLE);
 * - they follow the writer: new segments and growth, by `fs.watch` wake-ups alone, and at once
 *   with `refresh()`;
 * - a follower at the tail reads the records a refresh checked from the arena, with no chunk
 *   load (`readOnly.publishTail`; false: loads, as before), and past the arena's size;
 * - a manager that waits at a tail announces itself to the writer (src/follower-presence.ts): the
 *   writer counts it, again after a writer restart, and no longer once it closes;
 * - compression and retention under a reader: never a wrong record; an expired position is
 *   AOF_ERR_OUT_OF_RANGE, and reading on from the new first id works;
 * - a missing root, a directory that is not an aof2 root and an unknown stream are coded errors,
 *   and nothing is created.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AOF_EVENTS, AofError, AofManager, ErrorCode, type AofLog, type AofManagerOptions, type LogRecord } from '../../src/index.js';
import { frameLength } from '../../src/format/record.js';
import { waitFor } from '../../support/engine.js';
import { assertWritesRefused, isCode, readChecked } from '../../support/read-only-checks.js';
import { WriterProcess, followPayload, type WriterOptions } from '../../support/read-only-workload.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';

/** Small segments (about 540 records of 100 bytes) and frames, so a few thousand records span tiers. */
const TIER0 = { arenaBytes: 1024 * 1024, segmentBytes: 64 * 1024, readChunkBytes: 4096 };
const WRITER: WriterOptions = { tier0: TIER0, tier1: { frameBytes: 4096 }, fsync: 'interval' };
const SIZE = 100;
/** A wait for the writer's records to show up by wake-ups alone: a deadline against a hang, not a timing check. */
const FOLLOW_DEADLINE_MS = 60_000;

function readOnly(root: string, extra: Partial<AofManagerOptions> = {}): Promise<AofManager> {
  return AofManager.open({ root, tier0: TIER0, readOnly: { refreshMs: 50 }, ...extra });
}

/** Names, sizes, mtimes and inodes of everything under `dir` (the lock directory included). */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string, rel: string): void => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const st = lstatSync(full, { bigint: true });
      out.push(`${rel}${name} ${st.isDirectory() ? 'dir' : st.size} ${st.mtimeNs} ${st.ino}`);
      if (st.isDirectory()) walk(full, `${rel}${name}/`);
    }
  };
  walk(dir, '');
  return out;
}

test('read-only managers open beside a writer process; a second writer still gets AOF_ERR_LOCKED', async (t) => {
  const { root, cleanup } = tempRoot('aof2-ro-open-');
  t.after(cleanup);
  const writer = await WriterProcess.start(root, WRITER);
  t.after(() => writer.kill());
  assert.equal(await writer.command(`append orders 1200 ${SIZE}`), 'appended 1200 1199');

  await assert.rejects(AofManager.open({ root, tier0: TIER0 }), isCode(ErrorCode.LOCKED), 'a second writer is refused, as before');
  const first = await readOnly(root);
  const second = await readOnly(root);
  try {
    assert.deepEqual(await first.listStreams(), ['orders']);
    for (const manager of [first, second]) {
      const log = await manager.openStream('orders');
      assert.equal(log.nextId, 1200);
      assert.equal(log.firstId, 0);
      assert.equal(await readChecked(log, SIZE), 1200);
      const stats = manager.stats();
      assert.equal(stats.flushWorker, 'none');
      assert.ok(stats.readOnly !== null && stats.readOnly.refreshes >= 1);
    }
    assert.deepEqual(await writer.command(`append orders 10 ${SIZE}`), 'appended 1210 1209', 'the writer goes on appending beside them');
  } finally {
    await first.close();
    await second.close();
  }
  await writer.close();
});

test('every write of a read-only manager throws AOF_ERR_READ_ONLY, and nothing under the root changes', async (t) => {
  const { root, cleanup } = tempRoot('aof2-ro-nowrite-');
  t.after(cleanup);
  const writer = await WriterProcess.start(root, WRITER);
  await writer.command(`append orders 1500 ${SIZE}`);
  await writer.command('settle');
  await writer.command(`append orders 100 ${SIZE}`);
  // Closed, so the only process that could change a file is the one under test.
  await writer.close();
  const before = listing(root);

  const manager = await readOnly(root);
  const log = await manager.openStream('orders');
  await assertWritesRefused(manager, log);
  assert.equal(log.nextId, 1600, 'nothing was appended');
  // Reads, refreshes, stats and a scope's end all work without writing.
  assert.equal(await readChecked(log, SIZE), 1600);
  const reader = log.openReader({ from: 700 });
  assert.equal((await reader.next())?.id, 700);
  reader.close();
  await manager.refresh();
  manager.stats();
  await log[Symbol.asyncDispose]();
  await manager.close();

  assert.deepEqual(listing(root), before, 'no file or directory under the root was created, changed or removed');
});

test('reads equal what the writer appended: sealed raw, Tier 1 and the written part of the active segment', async (t) => {
  const { root, cleanup } = tempRoot('aof2-ro-tiers-');
  t.after(cleanup);
  // A slow compressor: sealed segments stay raw for a while, so the first reads meet raw files.
  const writer = await WriterProcess.start(root, WRITER, { AOF2_FAILPOINTS: 'compress.delay=2000' });
  t.after(() => writer.kill());
  await writer.command(`append a 2000 ${SIZE}`);
  const manager = await readOnly(root);
  t.after(() => manager.close());
  const log = await manager.openStream('a');
  assert.equal(log.nextId, 2000);
  assert.equal(await readChecked(log, SIZE), 2000);

  await writer.command('settle'); // every sealed segment compressed, its raw file removed
  await writer.command(`append a 250 ${SIZE}`); // the active segment grows
  await manager.refresh();
  assert.equal(log.nextId, 2250);
  const segments = manager.stats().segments;
  assert.ok(segments.tier1.cold + segments.tier1.resident >= 3, `sealed segments are compressed now: ${JSON.stringify(segments)}`);
  assert.equal(segments.raw.active, 1, 'the active segment is the writer’s open file');
  assert.equal(await readChecked(log, SIZE), 2250, 'the same records: ranges loaded from the raw files stay valid, the rest from the active file');
  // A manager opened now finds the sealed segments compressed only: it reads Tier 1 frames.
  const fresh = await readOnly(root);
  t.after(() => fresh.close());
  assert.equal(await readChecked(await fresh.openStream('a'), SIZE), 2250, 'the same records from Tier 1 frames and the active file');
  assert.ok(fresh.stats().tier1.framesDecompressed > 0, 'Tier 1 frames were read');
  await writer.close();
});

test('a read-only manager follows the writer: new segments and growth by wake-ups alone, at once with refresh()', async (t) => {
  const { root, cleanup } = tempRoot('aof2-ro-follow-');
  t.after(cleanup);
  const writer = await WriterProcess.start(root, WRITER);
  t.after(() => writer.kill());
  await writer.command(`append live 300 ${SIZE}`);
  const manager = await readOnly(root);
  t.after(() => manager.close());
  const log = await manager.openStream('live');
  assert.equal(log.nextId, 300);

  // A live tail over the read-only log: records arrive as the writer's files grow (fs.watch, or
  // the interval as the safety net), never because this process asked.
  const stream = log.createReadStream({ from: 300, follow: true });
  const got: LogRecord[] = [];
  const collected = (async () => {
    for await (const record of stream) {
      got.push(record as LogRecord);
      if (got.length === 1500) break;
    }
  })();
  await writer.command(`append live 1500 ${SIZE}`); // three more segments and a part
  const deadline = setTimeout(() => stream.destroy(new Error(`only ${got.length} of 1500 records followed in ${FOLLOW_DEADLINE_MS} ms`)), FOLLOW_DEADLINE_MS);
  await collected.finally(() => clearTimeout(deadline));
  got.forEach((record, i) => {
    assert.equal(record.id, 300 + i);
    assert.ok(sameBytes(record.payload, followPayload('live', record.id, SIZE)));
  });
  assert.equal(log.nextId, 1800);
  const before = manager.stats().readOnly!;
  assert.ok(before.watchedDirectories >= 2 || before.watchFailures > 0, 'the manifest and stream directories are watched');

  // refresh(): everything the files hold when it is called is visible when it resolves.
  await writer.command(`append live 7 ${SIZE}`);
  await manager.refresh();
  assert.equal(log.nextId, 1807);
  assert.ok(log.durableId <= log.nextId - 1);
  assert.equal(await readChecked(log, SIZE, 1790), 17);
  await writer.close();
});

test('log.follow() and reader.next({ wait }) on a read-only log: woken as the writer’s records appear; abort and close end them', async (t) => {
  const { root, cleanup } = tempRoot('aof2-ro-livetail-');
  t.after(cleanup);
  const writer = await WriterProcess.start(root, WRITER);
  t.after(() => writer.kill());
  await writer.command(`append tail 10 ${SIZE}`);
  const manager = await readOnly(root);
  t.after(() => manager.close());
  const log = await manager.openStream('tail');

  const controller = new AbortController();
  const followed: number[] = [];
  const following = (async () => {
    for await (const record of log.follow({ from: 5, signal: controller.signal })) {
      assert.ok(sameBytes(record.payload, followPayload('tail', record.id, SIZE)));
      followed.push(record.id);
      if (record.id === 1009) controller.abort();
    }
  })();
  const waiting = log.openReader({ from: 10 });
  // At the tail: waits for the writer's next record (settled below; caught now so a failed
  // assertion in between does not leave it unhandled).
  const next = waiting.next({ wait: true }).catch((err: unknown) => err);
  await writer.command(`append tail 1000 ${SIZE}`);
  const deadline = setTimeout(() => controller.abort(new Error(`follow saw ${followed.length} records in ${FOLLOW_DEADLINE_MS} ms`)), FOLLOW_DEADLINE_MS);
  const ended = await following.then(
    () => null,
    (err: unknown) => err,
  );
  clearTimeout(deadline);
  assert.ok(ended instanceof Error && ended.name === 'AbortError', `the follow ends with the AbortError, got ${String(ended)}`);
  assert.deepEqual(followed, Array.from({ length: 1005 }, (_, i) => 5 + i), 'every record from 5 on, in order, once');
  assert.equal(((await next) as LogRecord | null)?.id, 10);
  // A wait at the tail ends with AOF_ERR_CLOSED when the manager closes.
  await manager.refresh();
  for (let id = 11; id < log.nextId; id++) assert.equal((await waiting.next())?.id, id);
  const pending = assert.rejects(waiting.next({ wait: true }), isCode(ErrorCode.CLOSED));
  await manager.close();
  await pending;
  await writer.close();
});

/**
 * `log.follow()` of `stream` from `from`, in the background: checks each record (dense ids, the
 * writer's bytes); `until(n)` waits, with a deadline, until n records came; `stop()` ends it.
 */
function checkedFollow(log: AofLog, from: number): { until(count: number): Promise<void>; stop(): Promise<void> } {
  const controller = new AbortController();
  let seen = 0;
  let failure: unknown = null;
  const following = (async () => {
    for await (const record of log.follow({ from, signal: controller.signal })) {
      assert.equal(record.id, from + seen, 'ids are dense, in order, once');
      assert.ok(sameBytes(record.payload, followPayload(log.name, record.id, SIZE)), `record ${record.id} holds what the writer appended`);
      seen++;
    }
  })().catch((err: unknown) => {
    if (!controller.signal.aborted) failure = err;
  });
  return {
    async until(count: number): Promise<void> {
      const deadline = Date.now() + FOLLOW_DEADLINE_MS;
      while (seen < count) {
        if (failure !== null) throw failure;
        assert.ok(Date.now() < deadline, `only ${seen} of ${count} records followed in ${FOLLOW_DEADLINE_MS} ms`);
        await sleep(10);
      }
    },
    async stop(): Promise<void> {
      controller.abort();
      await following;
      if (failure !== null) throw failure;
    },
  };
}

test('a follower at the tail reads what a refresh checked straight from the arena, no chunk load, with sync or pool reads; publishTail false loads it; the same records', async (t) => {
  const { root, cleanup } = tempRoot('aof2-ro-publish-');
  t.after(cleanup);
  const writer = await WriterProcess.start(root, WRITER);
  t.after(() => writer.kill());
  // Raw loads into this process's arenas, by stream (the writer is another process: none of its own).
  const loads = new Map<string, number>();
  const onHydrated = (message: unknown): void => {
    const event = message as { stream: string; source: string };
    if (event.source === 'raw') loads.set(event.stream, (loads.get(event.stream) ?? 0) + 1);
  };
  subscribe(AOF_EVENTS.segmentHydrated, onHydrated);
  t.after(() => unsubscribe(AOF_EVENTS.segmentHydrated, onHydrated));

  // Within one segment (64 KiB: 410 records of 100 bytes fit), so every record comes through the
  // tail's scan (records of a segment the manifest records sealed come through it instead).
  // The default reads the new bytes synchronously (the root is on a local file system here).
  for (const [stream, publishTail, syncTailReads] of [
    ['published', true, undefined],
    ['pool-reads', true, false],
    ['loaded', false, undefined],
  ] as const) {
    await writer.command(`append ${stream} 10 ${SIZE}`);
    const manager = await readOnly(root, { readOnly: { refreshMs: 50, publishTail, ...(syncTailReads !== undefined && { syncTailReads }) } });
    try {
      assert.equal(manager.stats().readOnly!.syncTailReads, syncTailReads ?? true);
      const log = await manager.openStream(stream);
      const follow = checkedFollow(log, 10);
      for (let batch = 1; batch <= 4; batch++) {
        await writer.command(`append ${stream} 100 ${SIZE}`);
        await follow.until(100 * batch);
      }
      await follow.stop();
      const published = manager.stats().readOnly!.tailBytesPublished;
      if (publishTail) {
        assert.equal(published, 400 * frameLength(SIZE), 'every record after the open was published, once, for the reader at the tail');
        assert.equal(loads.get(stream) ?? 0, 0, 'and read without a chunk load');
      } else {
        assert.equal(published, 0);
        assert.ok((loads.get(stream) ?? 0) > 0, 'the kill switch: the reader loads the records in a hydrate thread');
      }
      assert.equal(await readChecked(log, SIZE), 410, 'a scan from 0 reads the same records');
    } finally {
      await manager.close();
    }
  }

  // Past the arena (1 MiB) and across segments: published ranges are evicted like any other, and
  // records of a segment sealed meanwhile come through loads; the follower sees every record once.
  await writer.command(`append long 10 ${SIZE}`);
  const manager = await readOnly(root);
  try {
    const log = await manager.openStream('long');
    const follow = checkedFollow(log, 10);
    for (let batch = 1; batch <= 6; batch++) {
      await writer.command(`append long 2000 ${SIZE}`);
      await follow.until(2000 * batch);
    }
    await follow.stop();
    assert.ok(manager.stats().readOnly!.tailBytesPublished > 0);
    assert.ok(12_000 * frameLength(SIZE) > TIER0.arenaBytes, 'more than the arena holds');
  } finally {
    await manager.close();
  }
  await writer.close();
});

test('a read-only manager that waits at a tail announces itself: the writer counts it, again after a restart, not after close', { skip: process.platform !== 'linux' }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-ro-presence-');
  t.after(cleanup);
  // While it counts a follower the writer's flush worker uses followedWriteDelayMs (0) instead of
  // this delay (workers/flush.ts); the appends below flush, so the records show either way.
  const options: WriterOptions = { ...WRITER, tier0: { ...TIER0, writeDelayMs: 100 } };
  let writer = await WriterProcess.start(root, options);
  t.after(() => writer.kill());
  await writer.command(`append s 10 ${SIZE}`);
  const manager = await readOnly(root, { readOnly: { refreshMs: 20 } });
  const followers = async (): Promise<number> => Number((await writer.command('followers')).split(' ')[1]);
  /** Each poll asks the writer process: every 10 ms rather than waitFor's default 2. */
  const asking = { timeoutMs: FOLLOW_DEADLINE_MS, intervalMs: 10 };
  try {
    const log = await manager.openStream('s');
    assert.equal(await readChecked(log, SIZE), 10);
    assert.equal(manager.stats().readOnly!.announced, false, 'a scan is not a follow: the writer keeps its delay');
    assert.equal(await followers(), 0);
    const follow = checkedFollow(log, 10);
    await waitFor(async () => manager.stats().readOnly!.announced && (await followers()) === 1, 'the writer to count the follower', asking);
    await writer.command(`append s 50 ${SIZE}`);
    await follow.until(50);

    await writer.kill(); // a restart: the new writer counts the follower too, once the line is up again
    writer = await WriterProcess.start(root, options);
    await waitFor(async () => (await followers()) === 1, 'the restarted writer to count the follower', asking);
    await writer.command(`append s 50 ${SIZE}`);
    await follow.until(100);
    await follow.stop();
  } finally {
    await manager.close();
  }
  await waitFor(async () => (await followers()) === 0, 'the writer to forget a closed manager', asking);
  await writer.close();
});

test('compression and retention under a reader: never a wrong record, an expired position is AOF_ERR_OUT_OF_RANGE', async (t) => {
  const { root, cleanup } = tempRoot('aof2-ro-retain-');
  t.after(cleanup);
  const writer = await WriterProcess.start(root, WRITER, { AOF2_FAILPOINTS: 'compress.delay=1000' });
  t.after(() => writer.kill());
  await writer.command(`append r 3000 ${SIZE}`);
  const manager = await readOnly(root);
  t.after(() => manager.close());
  const log = await manager.openStream('r');

  // A reader half-way through the first segment while its raw file is compressed and removed.
  const reader = log.openReader({ from: 0, copy: true });
  for (let id = 0; id < 200; id++) assert.equal((await reader.next())?.id, id);
  await writer.command('settle');
  for (let id = 200; id < 1200; id++) {
    const record = await reader.next();
    assert.equal(record?.id, id);
    assert.ok(sameBytes(record.payload, followPayload('r', id, SIZE)), `record ${id} after the compression`);
  }

  // Retention removes the oldest segments (recorded first, then files deleted).
  const retained = await writer.command('retain r 120000');
  const firstId = Number(retained.split(' ')[1]);
  assert.ok(firstId > 1200, `retention expired the segments under the reader (first id ${firstId})`);
  await manager.refresh();
  assert.equal(log.firstId, firstId);
  let position = 1200;
  let error: unknown = null;
  try {
    for (;;) {
      const record = await reader.next();
      if (record === null) break;
      // What was still in the arena reads on, and is right.
      assert.equal(record.id, position);
      assert.ok(sameBytes(record.payload, followPayload('r', position, SIZE)));
      position++;
    }
  } catch (err) {
    error = err;
  }
  assert.ok(error !== null && isCode(ErrorCode.OUT_OF_RANGE)(error), `an expired position is AOF_ERR_OUT_OF_RANGE, got ${String(error)} at ${position}`);
  assert.ok(position < firstId);
  reader.close();
  assert.throws(() => log.openReader({ from: 0 }), isCode(ErrorCode.OUT_OF_RANGE));
  assert.equal(await readChecked(log, SIZE, log.firstId), 3000 - firstId, 'the retry from the new first id reads everything left');
  await writer.close();
});

test('a file gone without a manifest record of the move: AOF_ERR_IO (ENOENT) after a look at the manifest, and the retry reads once it is back', async (t) => {
  const { root, cleanup } = tempRoot('aof2-ro-gone-');
  t.after(cleanup);
  const writer = await WriterProcess.start(root, { ...WRITER, tier1: { enabled: false } });
  await writer.command(`append g 1500 ${SIZE}`);
  await writer.close();
  const manager = await readOnly(root);
  t.after(() => manager.close());
  const log = await manager.openStream('g');
  const seg = join(root, 'streams', 'g', readdirSync(join(root, 'streams', 'g')).sort()[0]!);
  renameSync(seg, `${seg}.aside`); // not what a writer does: it records a move before it removes a file
  const reader = log.openReader({ from: 0 });
  const refreshes = manager.stats().readOnly!.refreshes;
  await assert.rejects(reader.next(), (err: unknown) => err instanceof AofError && err.code === ErrorCode.IO && err.details?.['errno'] === 'ENOENT');
  assert.ok(manager.stats().readOnly!.refreshes > refreshes, 'the manager looked again before reporting the file gone');
  renameSync(`${seg}.aside`, seg);
  const record = await reader.next();
  assert.equal(record?.id, 0);
  assert.ok(sameBytes(record.payload, followPayload('g', 0, SIZE)));
  reader.close();
});

test('segments only Tier 2 holds: read with the writer’s tier2 option, AOF_ERR_UNAVAILABLE without it', async (t) => {
  const { root, cleanup } = tempRoot('aof2-ro-tier2-');
  t.after(cleanup);
  const tier2Root = `${root}-tier2`;
  // A Tier 1 budget of about one compressed segment: uploaded files are evicted.
  const writer = await WriterProcess.start(root, { ...WRITER, tier1: { frameBytes: 4096, maxBytes: 16 * 1024 }, tier2Root });
  t.after(() => writer.kill());
  await writer.command(`append e 2500 ${SIZE}`);
  await writer.command('settle');
  const bucket = listing(tier2Root);

  const without = await readOnly(root);
  const log = await without.openStream('e');
  assert.ok(without.stats().segments.tier2.cold > 0, 'some segments are only in Tier 2');
  await assert.rejects(readChecked(log, SIZE), isCode(ErrorCode.UNAVAILABLE));
  await without.close();

  const withTier2 = await readOnly(root, { tier2: { kind: 'fs', root: tier2Root } });
  const both = await withTier2.openStream('e');
  assert.equal(await readChecked(both, SIZE), 2500, 'every record, the evicted ones from Tier 2');
  await withTier2.close();
  assert.deepEqual(listing(tier2Root), bucket, 'the read-only manager wrote nothing to Tier 2');
  await writer.close();
});

test('a missing root, a directory that is no aof2 root and an unknown stream are coded errors; nothing is created', async (t) => {
  const { root, cleanup } = tempRoot('aof2-ro-missing-');
  t.after(cleanup);
  const isGone = (err: unknown): boolean => err instanceof AofError && err.code === ErrorCode.IO && err.details?.['errno'] === 'ENOENT';
  const nowhere = join(root, 'nowhere');
  await assert.rejects(AofManager.open({ root: nowhere, readOnly: true }), isGone);
  assert.equal(existsSync(nowhere), false, 'the root was not created');
  const empty = join(root, 'empty');
  mkdirSync(empty);
  await assert.rejects(AofManager.open({ root: empty, readOnly: true }), isGone);
  assert.deepEqual(readdirSync(empty), [], 'nothing was created in it');

  const writer = await WriterProcess.start(join(root, 'real'), WRITER);
  t.after(() => writer.kill());
  await writer.command(`append known 5 ${SIZE}`);
  const manager = await readOnly(join(root, 'real'));
  await assert.rejects(manager.openStream('unknown'), isGone);
  assert.equal(existsSync(join(root, 'real', 'streams', 'unknown')), false, 'no stream directory was created');
  await assert.rejects(manager.openStream('../x'), isCode(ErrorCode.INVALID_STREAM_NAME));
  assert.equal((await manager.openStream('known')).nextId, 5);
  await manager.close();
  await assert.rejects(manager.openStream('known'), isCode(ErrorCode.CLOSED));
  await writer.close();
});
