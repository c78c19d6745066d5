/**
 * Readers in worker threads over the owner's arena (`manager.shareHandle()`, `AofManager.attach`):
 * real worker threads (support/attached-worker.ts) reading a real engine's stream while the main
 * thread appends. Scans of resident data; several workers at once under eviction pressure with
 * loads from the segment files; a follow of the live tail across windows and segments, also
 * `durable`; the writes refused; no native addon loaded by a view; the owner closing under a
 * waiting worker; an aborted follow; and no run left pinned once the views are gone.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { AofError, AofManager, ErrorCode, type AofLog, type AofManagerOptions } from '../../src/index.js';
import type { AttachedWorkerData } from '../../support/attached-worker.js';
import { appendBatches } from '../../support/record-batches.js';
import { waitFor } from '../../support/engine.js';
import { tempRoot } from '../../support/tmp.js';

const WORKER = new URL('../../support/attached-worker.js', import.meta.url);
const SEGMENT = 64 * 1024;

async function open(t: TestContext, extra: Partial<AofManagerOptions> = {}): Promise<{ manager: AofManager; log: AofLog }> {
  const { root, cleanup } = tempRoot('aof2-workers-');
  const manager = await AofManager.open({ root, tier0: { arenaBytes: 32 * SEGMENT, segmentBytes: SEGMENT }, tier1: { enabled: false }, ...extra });
  t.after(async () => {
    await manager.close().catch(() => undefined);
    cleanup();
  });
  return { manager, log: await manager.openStream('s') };
}

/** Appends records `from`..`to` - 1 in batches (50 by default), one batch per turn, waiting when the arena is full. */
const append = (log: AofLog, from: number, to: number, batch = 50): Promise<void> => appendBatches(log, from, to, batch);

interface Running {
  worker: Worker;
  result: Promise<Record<string, unknown>>;
  messages: Record<string, unknown>[];
}

function start(data: AttachedWorkerData): Running {
  const worker = new Worker(WORKER, { workerData: data });
  const messages: Record<string, unknown>[] = [];
  const result = new Promise<Record<string, unknown>>((resolve, reject) => {
    worker.on('message', (message: Record<string, unknown>) => {
      if ('ok' in message) {
        if (message['ok'] === true) resolve(message);
        else reject(new Error(String(message['error'])));
      } else {
        messages.push(message);
      }
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`worker exited (${code}) without a result`)));
  });
  return { worker, result, messages };
}

test('workers scan a resident stream with nextSync and next: every record, zero copy, nothing left pinned', async (t) => {
  const { manager, log } = await open(t);
  await append(log, 0, 3000);
  const handle = manager.shareHandle();
  const scans = [start({ handle, stream: 's', mode: 'scan' }), start({ handle, stream: 's', mode: 'next', from: 1234 })];
  const [scan, next] = await Promise.all(scans.map((s) => s.result));
  assert.equal(scan!['count'], 3000);
  assert.equal(next!['count'], 3000 - 1234);
  await waitFor(() => manager.stats().arena.pinned === 0, 'the views closed: no run stays pinned');
});

test('several workers scan from 0 under eviction pressure while the main thread appends: loads from the files, every record right', async (t) => {
  // 8 segments of arena for ~30 segments of records: the early ones are evicted and loaded back.
  const { manager, log } = await open(t, { tier0: { arenaBytes: 8 * SEGMENT, segmentBytes: SEGMENT } });
  await append(log, 0, 2500);
  const handle = manager.shareHandle();
  const workers = [0, 1, 2].map(() => start({ handle, stream: 's', mode: 'scan', from: 0, until: 2500 }));
  const appending = append(log, 2500, 4000);
  const results = await Promise.all(workers.map((w) => w.result));
  await appending;
  for (const result of results) assert.equal(result['count'], 2500);
  await waitFor(() => manager.stats().arena.pinned === 0, 'no run stays pinned');
});

test('workers read through Tier 1 hydration (compressed, evicted segments) while the main thread appends', async (t) => {
  // Tier 1 on: sealed segments are compressed and their raw files go; evicted ones come back as
  // decompressed frames (the hydrate pool) for the owner's lease readers.
  const { manager, log } = await open(t, { tier0: { arenaBytes: 8 * SEGMENT, segmentBytes: SEGMENT }, tier1: {} });
  await append(log, 0, 2500);
  await manager.settle();
  const handle = manager.shareHandle();
  const workers = [start({ handle, stream: 's', mode: 'next', from: 0, until: 2500 }), start({ handle, stream: 's', mode: 'scan', from: 600, until: 2500 })];
  const appending = append(log, 2500, 3500);
  const [a, b] = await Promise.all(workers.map((w) => w.result));
  await appending;
  assert.equal(a!['count'], 2500);
  assert.equal(b!['count'], 1900);
  assert.ok(manager.stats().tier1.segmentsCompressed > 0, 'segments were compressed');
  assert.ok(manager.stats().tier1.framesDecompressed > 0, 'the workers read decompressed frames');
  await waitFor(() => manager.stats().arena.pinned === 0, 'no run stays pinned');
});

test('the owner closing under several following workers ends each follow cleanly, every record read right', async (t) => {
  const { manager, log } = await open(t);
  await append(log, 0, 300);
  const handle = manager.shareHandle();
  const workers = [0, 100, 200].map((from) => start({ handle, stream: 's', mode: 'follow', from, until: Number.MAX_SAFE_INTEGER }));
  await waitFor(() => workers.every((w) => w.messages.length > 0), 'every worker follows');
  await append(log, 300, 1500, 7);
  await manager.close();
  const results = await Promise.all(workers.map((w) => w.result));
  for (const [i, result] of results.entries()) {
    const count = result['count'] as number;
    assert.ok(count > 0 && count <= 1500 - i * 100, `worker ${i} read ${count} records, in order, then its follow ended`);
  }
});

test('a worker follows the live tail across windows and segments, and durable never runs ahead of durableId', async (t) => {
  const { manager, log } = await open(t, { fsync: 'interval' });
  await append(log, 0, 200);
  const handle = manager.shareHandle();
  const live = start({ handle, stream: 's', mode: 'follow', from: 100, until: 3000 });
  const durable = start({ handle, stream: 's', mode: 'follow', from: 0, until: 3000, durable: true });
  await append(log, 200, 3000, 7);
  await log.flush();
  const [a, b] = await Promise.all([live.result, durable.result]);
  assert.equal(a['count'], 2900);
  assert.equal(b['count'], 3000);
  assert.equal(b['notDurable'], 0);
});

test('an attached view refuses every write with AOF_ERR_READ_ONLY and opens only what the owner has', async (t) => {
  const { manager, log } = await open(t);
  await append(log, 0, 10);
  const result = await start({ handle: manager.shareHandle(), stream: 's', mode: 'refusals' }).result;
  assert.deepEqual(result['codes'], {
    appendSync: ErrorCode.READ_ONLY,
    append: ErrorCode.READ_ONLY,
    appendBatch: ErrorCode.READ_ONLY,
    flush: ErrorCode.READ_ONLY,
    settle: ErrorCode.READ_ONLY,
    unknownStream: ErrorCode.IO,
    badName: ErrorCode.INVALID_STREAM_NAME,
  });
  assert.deepEqual(result['streams'], ['s']);
  assert.equal(result['statsStreams'], 1);
  assert.equal(result['nextId'], 10);
  assert.throws(() => AofManager.attach({ kind: 'nope' } as never), (err) => err instanceof AofError && err.code === ErrorCode.INVALID_ARGUMENT);
});

/** The `.node` files mapped into this process, from any thread (Linux: /proc/self/maps). */
function mappedAddons(): string[] {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.endsWith('.node'))
    .map((line) => line.slice(line.indexOf('/')));
}

test('an attached view loads no native addon in its worker: the codec is the owner’s business', { skip: !existsSync('/proc/self/maps') && 'no /proc/self/maps here' }, async (t) => {
  // The owner has Tier 1 off, so the process has no zstd loaded; a view resolving a default
  // config of its own used to probe (load) the addon in the worker (native-free-bench saw it).
  const { manager, log } = await open(t);
  await append(log, 0, 10);
  const before = mappedAddons();
  await start({ handle: manager.shareHandle(), stream: 's', mode: 'refusals' }).result;
  assert.deepEqual(mappedAddons(), before);
});

test("a view lists the owner's streams across several answers (names of 100 characters)", async (t) => {
  const { manager } = await open(t);
  const names = Array.from({ length: 14 }, (_, i) => `${String(i).padStart(2, '0')}-${'n'.repeat(97)}`);
  for (const name of names) await manager.openStream(name);
  const result = await start({ handle: manager.shareHandle(), stream: names[0]!, mode: 'refusals' }).result;
  assert.deepEqual(result['streams'], [...names, 's'].sort());
});

test('the owner closing ends a worker waiting at the tail with AOF_ERR_CLOSED', async (t) => {
  const { manager, log } = await open(t);
  await append(log, 0, 10);
  const waiting = start({ handle: manager.shareHandle(), stream: 's', mode: 'wait-close' });
  await waitFor(() => waiting.messages.length > 0, 'the worker waits at the tail');
  await sleep(20);
  await manager.close();
  const result = await waiting.result;
  assert.equal(result['ended'], ErrorCode.CLOSED);
});

test('an aborted follow in a worker rejects with AbortError and leaves nothing pinned or pending', async (t) => {
  const { manager, log } = await open(t);
  await append(log, 0, 10);
  const result = await start({ handle: manager.shareHandle(), stream: 's', mode: 'abort', abortAfterMs: 30 }).result;
  assert.equal(result['ended'], 'AbortError');
  await append(log, 10, 20); // the cancelled wait's owner side finishes at the next append
  await waitFor(() => manager.stats().arena.pinned === 0, 'no run stays pinned');
});
