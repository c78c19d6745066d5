/**
 * Issue 10, part 2: a process that ends without `close()` must not drop what it appended.
 *
 * Each case runs support/exit-child.ts in a real child process that appends to two streams
 * (appendSync and not-awaited append(), over several segments) and ends without close(): the event
 * loop runs dry, `process.exit()` with and without `flushOnExit`, an uncaught exception, or
 * `flushSync()` followed by SIGKILL of itself. The parent then reopens the root and checks every
 * record's id and bytes, and that the child exited on its own within a few seconds (no hang).
 *
 * Before the fix the flush worker was unref'd and nothing drained at exit: the natural end lost
 * every record (durableId -1, nextId 0 on reopen).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AofError, AofManager, ErrorCode, type FsyncPolicy } from '../../src/index.js';
import { EXIT_RECORDS, EXIT_STREAMS, EXIT_TIER0, EXIT_TIER0_ONE_SEGMENT, EXIT_TIER1, exitPayload } from '../../support/exit-workload.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';
import { mountTmpfs } from '../../support/tmpfs.js';

const CHILD = fileURLToPath(new URL('../../support/exit-child.js', import.meta.url));
/** A child still running after this long hangs: it is killed and the test fails. */
const CHILD_DEADLINE_MS = 30_000;
/**
 * From the child's last append to its exit. Draining ~420 KiB takes milliseconds; the rest is
 * process teardown and a loaded 2-core machine. Before the fix a natural end took ~0.5 s.
 */
const EXIT_WITHIN_MS = 5_000;

type Ending = 'natural' | 'exit' | 'throw' | 'flushsync-kill';

interface ExitRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** The durableId of each stream when the child had appended everything (its `appended` line). */
  durableAtEnd: number[] | null;
  /** The durableIds right after flushSync() (`flushsync-kill` only). */
  durableAfterFlushSync: number[] | null;
  /** The durableIds in the child's 'exit' listener, after the manager's drains; null without 'exit'. */
  durableAtExit: number[] | null;
  /** ms from the `appended` line to the child's exit; null when the line never came. */
  exitAfterMs: number | null;
  /** True when the parent had to kill a hung child. */
  hung: boolean;
}

interface Case {
  fsync: FsyncPolicy;
  ending: Ending;
  /** Open with `flushOnExit: true`. */
  hook?: boolean;
  /** appendSync only, one segment per stream: the repro (see exit-workload.ts). */
  repro?: boolean;
}

function runExitChild(root: string, c: Case): Promise<ExitRun> {
  return new Promise((resolve, reject) => {
    const flags = [...(c.hook === true ? ['hook'] : []), ...(c.repro === true ? ['repro'] : [])];
    const child = spawn(process.execPath, [CHILD, root, c.fsync, c.ending, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: ExitRun = { code: null, signal: null, stderr: '', durableAtEnd: null, durableAfterFlushSync: null, durableAtExit: null, exitAfterMs: null, hung: false };
    let appendedAt = -1;
    let stdout = '';
    const deadline = setTimeout(() => {
      run.hung = true;
      child.kill('SIGKILL');
    }, CHILD_DEADLINE_MS);
    const ids = (text: string): number[] => text.split(',').map(Number);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      run.stderr += chunk;
    });
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      const lines = stdout.split('\n');
      stdout = lines.pop()!;
      for (const line of lines) {
        const appended = /^appended \S+ durable (\S+)$/.exec(line);
        if (appended !== null) {
          appendedAt = performance.now();
          run.durableAtEnd = ids(appended[1]!);
        }
        const flushed = /^flushed durable (\S+)$/.exec(line);
        if (flushed !== null) run.durableAfterFlushSync = ids(flushed[1]!);
        const atExit = /^at exit durable (\S+)$/.exec(line);
        if (atExit !== null) run.durableAtExit = ids(atExit[1]!);
      }
    });
    child.on('error', reject);
    child.on('exit', () => {
      if (appendedAt >= 0) run.exitAfterMs = performance.now() - appendedAt;
    });
    // 'close' (not 'exit'): every byte the child wrote has been read by then.
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      run.code = code;
      run.signal = signal;
      resolve(run);
    });
  });
}

/** Reopens the root and returns each stream's nextId, after checking that ids 0..nextId-1 hold their exact bytes. */
async function recoveredPrefix(root: string, repro: boolean, where: string): Promise<number[]> {
  const manager = await AofManager.open({ root, tier0: repro ? EXIT_TIER0_ONE_SEGMENT : EXIT_TIER0, tier1: EXIT_TIER1 });
  try {
    const next: number[] = [];
    for (let s = 0; s < EXIT_STREAMS.length; s++) {
      const log = await manager.openStream(EXIT_STREAMS[s]!);
      let expected = 0;
      for await (const rec of log.read({ from: 0 })) {
        assert.equal(rec.id, expected, `${where}: stream ${s}: gap before id ${rec.id}`);
        if (!sameBytes(rec.payload, exitPayload(s, rec.id))) assert.fail(`${where}: stream ${s}: record ${rec.id} has other bytes`);
        expected++;
      }
      assert.equal(expected, log.nextId, `${where}: stream ${s}: read ${expected} records, nextId is ${log.nextId}`);
      next.push(log.nextId);
    }
    return next;
  } finally {
    await manager.close();
  }
}

/** Runs one child on a fresh root; asserts it ended on its own, soon after its last append. */
async function runCase(t: TestContext, c: Case): Promise<{ run: ExitRun; next: number[]; where: string }> {
  const { root, cleanup } = tempRoot('aof2-exit-');
  t.after(cleanup);
  const where = `fsync '${c.fsync}', ${c.ending}${c.hook === true ? ' with flushOnExit' : ''}${c.repro === true ? ' (repro workload)' : ''}`;
  const run = await runExitChild(root, c);
  assert.ok(!run.hung, `${where}: the child did not exit within ${CHILD_DEADLINE_MS} ms (killed): ${run.stderr}`);
  assert.ok(run.durableAtEnd !== null, `${where}: the child never finished appending (code ${run.code}, signal ${run.signal}): ${run.stderr}`);
  assert.ok(run.exitAfterMs !== null && run.exitAfterMs < EXIT_WITHIN_MS, `${where}: exited ${run.exitAfterMs?.toFixed(0)} ms after its last append`);
  t.diagnostic(
    `${where}: durableId at the last append ${run.durableAtEnd.join(',')}, at 'exit' ${run.durableAtExit?.join(',') ?? '(no exit event)'}, exited ${run.exitAfterMs.toFixed(0)} ms later`,
  );
  const next = await recoveredPrefix(root, c.repro === true, where);
  return { run, next, where };
}

const EVERY_RECORD = EXIT_STREAMS.map(() => EXIT_RECORDS);
const ALL_DURABLE = EXIT_STREAMS.map(() => EXIT_RECORDS - 1);

describe('a process that ends without close()', () => {
  for (const fsync of ['always', 'interval', 'never'] as const) {
    test(`natural end of the event loop, fsync '${fsync}' (the issue's repro: appendSync, one segment): every record survives, the process exits`, async (t) => {
      const { run, next, where } = await runCase(t, { fsync, ending: 'natural', repro: true });
      assert.equal(run.code, 0, `${where}: exit code; stderr: ${run.stderr}`);
      assert.equal(run.stderr, '', `${where}: nothing to report`);
      // Under 'always' and 'interval' the drain also fsyncs (the 60 s interval never fired); under
      // 'never' written is enough: the page cache outlives the process.
      if (fsync !== 'never') assert.deepEqual(run.durableAtExit, ALL_DURABLE, `${where}: durableId in 'exit'`);
      assert.deepEqual(next, EVERY_RECORD, `${where}: records recovered per stream`);
    });
  }

  test("natural end of the event loop, fsync 'interval', appendSync and append() over several segments, some sealing at the end: all durable at exit", async (t) => {
    const { run, next, where } = await runCase(t, { fsync: 'interval', ending: 'natural' });
    assert.equal(run.code, 0, `${where}: exit code; stderr: ${run.stderr}`);
    assert.equal(run.stderr, '', `${where}: nothing to report`);
    assert.deepEqual(run.durableAtExit, ALL_DURABLE, `${where}: durableId in 'exit'`);
    assert.deepEqual(next, EVERY_RECORD, `${where}: records recovered per stream`);
  });

  test("process.exit() without flushOnExit: what was not written yet is lost, what survives is an intact prefix (documented)", async (t) => {
    // README "What survives the end of a process": process.exit() skips 'beforeExit', and the flush
    // worker is stopped with the process. How much it wrote by then is a race, so only the shape
    // is asserted: dense ids from 0, exact bytes, nothing beyond what was appended.
    const { run, next, where } = await runCase(t, { fsync: 'interval', ending: 'exit' });
    assert.equal(run.code, 0, `${where}: exit code; stderr: ${run.stderr}`);
    for (const n of next) assert.ok(n <= EXIT_RECORDS, `${where}: ${n} records recovered, ${EXIT_RECORDS} appended`);
    t.diagnostic(`${where}: recovered ${next.join(',')} of ${EXIT_RECORDS} per stream`);
  });

  for (const fsync of ['always', 'interval', 'never'] as const) {
    test(`process.exit() with flushOnExit, fsync '${fsync}': nothing is lost`, async (t) => {
      const { run, next, where } = await runCase(t, { fsync, ending: 'exit', hook: true });
      assert.equal(run.code, 0, `${where}: exit code; stderr: ${run.stderr}`);
      assert.equal(run.stderr, '', `${where}: nothing to report`);
      if (fsync !== 'never') assert.deepEqual(run.durableAtExit, ALL_DURABLE, `${where}: durableId in 'exit'`);
      assert.deepEqual(next, EVERY_RECORD, `${where}: records recovered per stream`);
    });
  }

  test('an uncaught exception with flushOnExit: nothing is lost', async (t) => {
    const { run, next, where } = await runCase(t, { fsync: 'interval', ending: 'throw', hook: true });
    assert.equal(run.code, 1, `${where}: exit code of an uncaught exception`);
    assert.match(run.stderr, /uncaught on purpose/, `${where}: the exception is still reported`);
    assert.deepEqual(run.durableAtExit, ALL_DURABLE, `${where}: durableId in 'exit'`);
    assert.deepEqual(next, EVERY_RECORD, `${where}: records recovered per stream`);
  });

  test("flushSync() then SIGKILL: everything is durable before flushSync returns, even under fsync 'never'", async (t) => {
    const { run, next, where } = await runCase(t, { fsync: 'never', ending: 'flushsync-kill' });
    assert.equal(run.signal, 'SIGKILL', `${where}: the child killed itself (code ${run.code}): ${run.stderr}`);
    assert.deepEqual(run.durableAfterFlushSync, ALL_DURABLE, `${where}: durableId right after flushSync()`);
    assert.deepEqual(next, EVERY_RECORD, `${where}: records recovered per stream`);
  });
});

describe('manager.flushSync() and flushOnExit in process', () => {
  test("flushSync() makes every stream durable before it returns (fsync 'interval' with a 60 s interval)", async (t) => {
    const { root, cleanup } = tempRoot('aof2-flushsync-');
    t.after(cleanup);
    const manager = await AofManager.open({ root, tier0: EXIT_TIER0, fsync: 'interval', fsyncIntervalMs: 60_000 });
    t.after(() => manager.close());
    const logs = [await manager.openStream('a'), await manager.openStream('b')];
    // Right after open: the flush worker may still be starting; flushSync waits for it.
    for (let id = 0; id < 500; id++) for (const log of logs) log.appendSync(payloadFor(id, 1 + (id % 300)));
    manager.flushSync();
    for (const log of logs) assert.equal(log.durableId, 499, `${log.name}: durableId right after flushSync()`);
    manager.flushSync(); // nothing left: returns at once
    manager.flushSync({ timeoutMs: 1000 });
  });

  test('options are checked; listeners are registered while open and removed at close', async (t) => {
    const { root, cleanup } = tempRoot('aof2-flushsync-');
    t.after(cleanup);
    const coded = (code: string) => (err: unknown) => err instanceof AofError && err.code === code;
    await assert.rejects(AofManager.open({ root, flushOnExit: 'yes' as unknown as boolean }), coded(ErrorCode.INVALID_ARGUMENT));
    const beforeExit = process.listenerCount('beforeExit');
    const exit = process.listenerCount('exit');
    const plain = await AofManager.open({ root, tier0: EXIT_TIER0 });
    const other = tempRoot('aof2-flushsync-');
    t.after(other.cleanup);
    const hooked = await AofManager.open({ root: other.root, tier0: EXIT_TIER0, flushOnExit: true });
    // One listener per event for all managers, whatever their number.
    assert.equal(process.listenerCount('beforeExit'), beforeExit + 1);
    assert.equal(process.listenerCount('exit'), exit + 1);
    assert.throws(() => plain.flushSync({ timeoutMs: 0 }), coded(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => plain.flushSync({ timeoutMs: Number.NaN }), coded(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => plain.flushSync({ timeout: 5 } as unknown as { timeoutMs: number }), coded(ErrorCode.UNKNOWN_OPTION));
    await hooked.close();
    assert.equal(process.listenerCount('exit'), exit);
    assert.equal(process.listenerCount('beforeExit'), beforeExit + 1);
    await plain.close();
    assert.equal(process.listenerCount('beforeExit'), beforeExit);
    assert.throws(() => plain.flushSync(), coded(ErrorCode.CLOSED));
  });
});

/**
 * A real ENOSPC: a 1 MiB tmpfs (needs root or CAP_SYS_ADMIN; skipped with the reason otherwise),
 * mostly filled by a ballast file, so the flush worker fails writing the first segments.
 */
function smallDisk(t: TestContext): { root: string; freeSpace: () => void } | null {
  const mnt = mountTmpfs(t, 'size=1m');
  if (mnt === null) return null;
  const ballast = join(mnt, 'ballast');
  writeFileSync(ballast, new Uint8Array(960 * 1024));
  return { root: join(mnt, 'root'), freeSpace: () => rmSync(ballast) };
}

describe('when the flush worker fails (ENOSPC)', () => {
  test('flushSync() throws the coded failure at once (AOF_ERR_IO, ENOSPC), not a timeout', async (t) => {
    const disk = smallDisk(t);
    if (disk === null) return;
    const manager = await AofManager.open({ root: disk.root, tier0: EXIT_TIER0_ONE_SEGMENT, tier1: EXIT_TIER1, fsync: 'interval', fsyncIntervalMs: 60_000 });
    t.after(() => manager.close());
    const log = await manager.openStream('full');
    for (let id = 0; id < 2000; id++) log.appendSync(exitPayload(0, id)); // ~420 KiB, more than the disk has left
    const started = performance.now();
    assert.throws(
      () => manager.flushSync({ timeoutMs: 20_000 }),
      (err: unknown) => err instanceof AofError && err.code === ErrorCode.IO && err.details?.['errno'] === 'ENOSPC',
    );
    assert.ok(performance.now() - started < 5_000, 'the failure ends the wait; the deadline does not');
    // The same failure again, without waiting: the manager is failed.
    assert.throws(() => manager.flushSync(), (err: unknown) => err instanceof AofError && err.code === ErrorCode.IO);
  });

  test('a natural end reports the loss on stderr and still exits at once; the written prefix is intact', async (t) => {
    const disk = smallDisk(t);
    if (disk === null) return;
    const c: Case = { fsync: 'interval', ending: 'natural', repro: true };
    const run = await runExitChild(disk.root, c);
    assert.ok(!run.hung, `the child did not exit within ${CHILD_DEADLINE_MS} ms (killed): ${run.stderr}`);
    assert.ok(run.exitAfterMs !== null && run.exitAfterMs < EXIT_WITHIN_MS, `exited ${run.exitAfterMs?.toFixed(0)} ms after its last append`);
    assert.equal(run.code, 0, `exit code; stderr: ${run.stderr}`);
    assert.match(run.stderr, /aof2: records of .* above durableId may be lost: the beforeExit drain could not finish \(AOF_ERR_IO: .*ENOSPC/);
    disk.freeSpace();
    const next = await recoveredPrefix(disk.root, true, 'after ENOSPC');
    t.diagnostic(`recovered ${next.join(',')} of ${EXIT_RECORDS} per stream; stderr: ${run.stderr.trim()}`);
  });
});

