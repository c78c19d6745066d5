/**
 * Durability as the API reports it: durableId under each fsync policy, flush(), close() with work
 * in flight, and process lifetime (the flush worker must not keep a process alive, and close()
 * must not leave anything behind that does). Child processes are real `node` processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { AofManager, type FsyncPolicy } from '../../src/index.js';
import { seededRandom } from '../../src/seeded-random.js';
import { rejectionOf, sleep, verifyLog, waitFor } from '../../support/engine.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';

const SEGMENT = 64 * 1024;
const roomy = { arenaBytes: 16 * SEGMENT, segmentBytes: SEGMENT };
const tiny = { arenaBytes: 4 * SEGMENT, segmentBytes: SEGMENT };
const INDEX_URL = new URL('../../src/index.js', import.meta.url).href;

function root(t: TestContext): string {
  const { root: dir, cleanup } = tempRoot();
  t.after(cleanup);
  return dir;
}

/** Rejects instead of hanging when `promise` does not settle in time (a hang is the bug to catch). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

test("fsync 'always': every append() resolves only once durableId has reached its id", async (t) => {
  const manager = await AofManager.open({ root: root(t), tier0: roomy, fsync: 'always' });
  const log = await manager.openStream('always');
  const rand = seededRandom(3);
  const sizes: number[] = [];
  const checks: Promise<void>[] = [];
  for (let i = 0; i < 1500; i++) {
    sizes.push(Math.floor(rand() * 1500));
    // Checked in the resolution callback itself: that is the moment the caller is told "durable".
    checks.push(log.append(payloadFor(i, sizes[i]!)).then((id) => assert.ok(log.durableId >= id, `id ${id} resolved at durableId ${log.durableId}`)));
    if (i % 100 === 99) await checks[i]; // some awaited one by one, most in flight together
  }
  await Promise.all(checks);
  assert.equal(log.durableId, 1499);
  await verifyLog(log, (id) => payloadFor(id, sizes[id]!), 1500);
  await manager.close();
});

test("fsync 'never': durableId stays behind the unsealed tail until flush(), then equals nextId - 1", async (t) => {
  const manager = await AofManager.open({ root: root(t), tier0: roomy, fsync: 'never' });
  const log = await manager.openStream('never');
  for (let i = 0; i < 20; i++) log.appendSync(payloadFor(i, 100));
  await sleep(200); // ample time for the worker to write (but, under 'never', not fsync) the frames
  assert.equal(log.durableId, -1, 'nothing is durable before a flush or a seal');
  await log.flush();
  assert.equal(log.durableId, 19);

  // Across segments: sealing makes a segment durable, the active tail still waits for flush().
  for (let i = 20; i < 300; i++) await log.append(payloadFor(i, 1000));
  await sleep(200);
  const sealedUpTo = log.durableId;
  assert.ok(sealedUpTo >= 19 && sealedUpTo < log.nextId - 1, `durableId ${sealedUpTo} with nextId ${log.nextId}`);
  await log.flush();
  assert.equal(log.durableId, log.nextId - 1);
  await manager.close();
});

test("fsync 'interval' (50 ms): durableId catches up by itself within a bounded time", async (t) => {
  const manager = await AofManager.open({ root: root(t), tier0: roomy, fsync: 'interval', fsyncIntervalMs: 50 });
  const log = await manager.openStream('interval');
  let id = 0;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 50; i++) log.appendSync(payloadFor(id++, 200));
    const started = Date.now();
    // 50 ms interval; the bound leaves room for a loaded 2-core machine, not for a missing timer.
    await waitFor(() => log.durableId === id - 1, `durableId to reach ${id - 1} without flush()`, 2000);
    t.diagnostic(`round ${round}: durable after ${Date.now() - started} ms`);
    await sleep(round * 20); // vary the phase against the worker's interval
  }
  await manager.close();
});

test('flush() resolves on an empty log, and right after open before the worker has started (regression)', async (t) => {
  for (const fsync of ['never', 'interval', 'always'] as FsyncPolicy[]) {
    const manager = await AofManager.open({ root: root(t), tier0: roomy, fsync, fsyncIntervalMs: 60_000 });
    const empty = await manager.openStream('empty');
    await within(empty.flush(), 5000, `flush() of an empty log (fsync ${fsync})`);
    assert.equal(empty.durableId, -1);
    // Regression: the worker used to take the sync-request counter it found at startup as already
    // served, so a flush() issued while it was starting hung forever under 'never' (and for
    // fsyncIntervalMs under 'interval').
    const early = await manager.openStream('early');
    early.appendSync(payloadFor(0, 10));
    await within(early.flush(), 5000, `flush() right after open (fsync ${fsync})`);
    assert.equal(early.durableId, 0);
    await manager.close();
  }
});

for (const fsync of ['never', 'always'] as FsyncPolicy[]) {
  test(`close() waits for queued append() calls, which resolve; everything is there after reopen (fsync ${fsync})`, async (t) => {
    const dir = root(t);
    const manager = await AofManager.open({ root: dir, tier0: tiny, fsync });
    const logs = [await manager.openStream('x'), await manager.openStream('y')];
    const rand = seededRandom(17);
    const sizes: number[][] = [[], []];
    const pending: Promise<number>[] = [];
    // ~3 MB into a 256 KiB arena: most of these are still queued when close() is called.
    for (let i = 0; i < 3000; i++) {
      const s = i % 2;
      const index = sizes[s]!.length;
      sizes[s]!.push(Math.floor(rand() * 2000));
      pending.push(logs[s]!.append(payloadFor(s * 1e6 + index, sizes[s]![index]!)));
    }
    const queuedAtClose = 3000 - logs[0]!.nextId - logs[1]!.nextId;
    t.diagnostic(`${queuedAtClose} appends queued when close() was called`);
    assert.ok(queuedAtClose > 0);
    const closing = manager.close();
    const ids = await within(Promise.all(pending), 15_000, 'queued appends during close()');
    ids.forEach((id, i) => assert.equal(id, Math.floor(i / 2)));
    await within(closing, 15_000, 'close()');
    // After close everything fails with AOF_ERR_CLOSED.
    assert.equal((await rejectionOf(logs[0]!.append(payloadFor(0, 1)))).code, 'AOF_ERR_CLOSED');
    assert.equal((await rejectionOf(manager.openStream('x'))).code, 'AOF_ERR_CLOSED');

    const reopened = await AofManager.open({ root: dir, tier0: tiny, fsync });
    for (let s = 0; s < 2; s++) {
      const log = await reopened.openStream(s === 0 ? 'x' : 'y');
      assert.equal(log.nextId, 1500);
      assert.equal(log.durableId, 1499);
      await verifyLog(log, (id) => payloadFor(s * 1e6 + id, sizes[s]![id]!), 1500);
    }
    assert.equal(reopened.stats().recovery.scannedSegments, 0, 'a clean close leaves only sealed segments');
    await reopened.close();
  });
}

test('close() is idempotent: concurrent and repeated calls resolve, and the root can be reopened', async (t) => {
  const dir = root(t);
  const manager = await AofManager.open({ root: dir, tier0: roomy, fsync: 'interval' });
  const log = await manager.openStream('idem');
  log.appendSync(payloadFor(0, 10));
  const first = manager.close();
  const second = manager.close();
  await Promise.all([first, second]);
  await manager.close();
  const again = await AofManager.open({ root: dir, tier0: roomy });
  assert.equal((await again.openStream('idem')).nextId, 1);
  await again.close();
  await again.close();
});

/**
 * Runs an ES module script in a fresh `node --input-type=module -e`; resolves with its exit code,
 * output and run time. The `--input-type` flag doubles as a regression test: workers inherit the
 * host's execArgv, and the flush worker used to die with ERR_INPUT_TYPE_NOT_ALLOWED in such hosts.
 */
function runChild(source: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A child that hangs is the failure under test: kill it (by its own pid) and report.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

function childScript(dir: string, fsync: FsyncPolicy, closeAtEnd: boolean): string {
  return `
    import { AofManager } from ${JSON.stringify(INDEX_URL)};
    const manager = await AofManager.open({ root: ${JSON.stringify(dir)}, tier0: { arenaBytes: ${4 * SEGMENT}, segmentBytes: ${SEGMENT} }, fsync: ${JSON.stringify(fsync)} });
    const log = await manager.openStream('child');
    const payload = (i) => new Uint8Array(700).fill(i & 255);
    for (let i = 0; i < 200; i++) await log.append(payload(i));
    const ids = [];
    for (let i = 200; i < 600; i++) ids.push(log.append(payload(i)));
    await Promise.all(ids);
    await log.flush();
    const reader = log.openReader({ from: 0 });
    let n = 0;
    while ((await reader.next()) !== null) n++;
    ${closeAtEnd ? 'await manager.close();' : '/* the user forgets manager.close() */'}
    console.log('done', n, log.durableId);
  `;
}

for (const closeAtEnd of [true, false]) {
  for (const fsync of ['always', 'interval'] as FsyncPolicy[]) {
    test(`a process exits by itself ${closeAtEnd ? 'after close()' : 'when close() is forgotten'} (fsync ${fsync})`, async (t) => {
      const dir = root(t);
      // A hang is what this catches: a child still alive after 30 s is killed and fails the exit
      // code check. How fast it exits is not asserted (a timing figure under load is not a result).
      const result = await runChild(childScript(dir, fsync, closeAtEnd), 30_000);
      t.diagnostic(`child exited with ${result.code} after ${result.ms} ms`);
      assert.equal(result.stderr, '');
      assert.equal(result.code, 0, `child exit code (killed after 30 s if it hung): ${result.code}`);
      assert.equal(result.stdout.trim(), 'done 600 599');
      // What the child flushed is there, whether it closed (sealed) or not (tail recovered).
      const manager = await AofManager.open({ root: dir, tier0: tiny });
      const log = await manager.openStream('child');
      assert.equal(log.nextId, 600);
      await verifyLog(log, (id) => new Uint8Array(700).fill(id & 255), 600);
      assert.equal(manager.stats().recovery.scannedSegments, closeAtEnd ? 0 : 1);
      await manager.close();
    });
  }
}
