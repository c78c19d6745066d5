/**
 * The root lock (src/root-lock.ts) with real threads and processes (issue 10, part 1): a worker
 * thread of the holding process is refused; so is another process; three processes racing to take
 * over a dead holder's lock yield exactly one holder, trial after trial, with RootLock alone and
 * with whole engines appending under fsync 'always'; a dead owner whose pid now belongs to an
 * unrelated live process is taken over; acquire/release cycles leave the root openable.
 * Children: support/lock-child.ts; worker: support/lock-worker.ts.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AofError, AofManager, ErrorCode } from '../../src/index.js';
import { LEGACY_LOCK_FILE, RootLock, readLockHolder } from '../../src/root-lock.js';
import { RACE_RECORDS, RACE_STREAM, RACE_TIER0, racePayload } from '../../support/lock-race.js';
import { tempRoot } from '../../support/tmp.js';
import { LOCK_DIR, MANIFEST_DIR, chunkFileName, lockEntryName } from '../../src/format/root-layout.js';

const CHILD = fileURLToPath(new URL('../../support/lock-child.js', import.meta.url));
const WORKER = new URL('../../support/lock-worker.js', import.meta.url);
const OPTIONS = { tier0: RACE_TIER0, tier1: { enabled: false }, tier2: { kind: 'none' } } as const;
/** A backstop on every child's life; each wait below has its own, shorter deadline. */
const CHILD_LIFETIME_MS = 240_000;
const LINE_MS = 30_000;

const isLocked = (err: unknown): boolean => err instanceof AofError && err.code === ErrorCode.LOCKED;

/** A child process speaking the line protocol of lock-child.ts. */
class Child {
  readonly proc: ChildProcess;
  #buffered = '';
  readonly #lines: string[] = [];
  #wake: (() => void) | null = null;
  #stderr = '';
  #exited = false;

  constructor(args: readonly string[]) {
    this.proc = spawn(process.execPath, [CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'], timeout: CHILD_LIFETIME_MS, killSignal: 'SIGKILL' });
    this.proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.#buffered += chunk;
      let nl: number;
      while ((nl = this.#buffered.indexOf('\n')) >= 0) {
        this.#lines.push(this.#buffered.slice(0, nl));
        this.#buffered = this.#buffered.slice(nl + 1);
      }
      this.#wake?.();
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr += chunk;
    });
    this.proc.stdin!.on('error', () => undefined); // a child that died is reported by nextLine
    this.proc.on('exit', () => {
      this.#exited = true;
      this.#wake?.();
    });
  }

  /** The next stdout line; rejects after `ms` or when the child exits first. */
  async nextLine(what: string, ms = LINE_MS): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const line = this.#lines.shift();
      if (line !== undefined) return line;
      if (this.#exited) throw new Error(`child ${this.proc.pid} exited (${this.proc.exitCode ?? this.proc.signalCode}) before ${what}: ${this.#stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`child ${this.proc.pid}: no ${what} within ${ms} ms; stderr: ${this.#stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  /** SIGKILL, resolved once the child is gone. */
  kill(): Promise<void> {
    return new Promise((resolve) => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) return resolve();
      this.proc.once('exit', () => resolve());
      this.proc.kill('SIGKILL');
    });
  }
}

/** Starts a child and waits for its `ready`. */
async function started(args: readonly string[]): Promise<Child> {
  const child = new Child(args);
  try {
    assert.equal(await child.nextLine('ready'), 'ready');
  } catch (err) {
    await child.kill();
    throw err;
  }
  return child;
}

/** Leaves `root` locked by a process killed with SIGKILL, as a crashed service does; returns its pid. */
async function leaveDeadLock(root: string, manager = false): Promise<number> {
  const holder = await started(['hold', root, ...(manager ? ['manager'] : [])]);
  await holder.kill();
  return holder.proc.pid!;
}

/** Runs lock-worker.ts in a worker thread; resolves with its first message. */
async function workerReply(workerData: { root: string; mode: 'manager' | 'hold' }, ms = LINE_MS): Promise<{ worker: Worker; reply: Record<string, unknown> }> {
  const worker = new Worker(WORKER, { workerData });
  try {
    const reply = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker: no reply within ${ms} ms`)), ms);
      worker.once('message', (msg: Record<string, unknown>) => {
        clearTimeout(timer);
        resolve(msg);
      });
      worker.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      worker.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`worker exited (${code}) without replying`));
      });
    });
    return { worker, reply };
  } catch (err) {
    await worker.terminate();
    throw err;
  }
}

/** Every record of the race stream: [writer index, id], checking that each payload names its own id. */
async function readRace(root: string): Promise<{ nextId: number; writers: Set<number> }> {
  const manager = await AofManager.open({ root, ...OPTIONS });
  try {
    const log = await manager.openStream(RACE_STREAM);
    const writers = new Set<number>();
    let expected = 0;
    for await (const rec of log.read({ from: 0 })) {
      assert.equal(rec.id, expected++);
      assert.equal(new DataView(rec.payload.buffer, rec.payload.byteOffset, rec.payload.byteLength).getFloat64(8, true), rec.id, `payload of id ${rec.id}`);
      writers.add(rec.payload[0]!);
    }
    assert.equal(expected, log.nextId, 'every id up to nextId is readable');
    return { nextId: log.nextId, writers };
  } finally {
    await manager.close();
  }
}

/** Start time of `pid` from /proc (field 22, after the command name's closing parenthesis). */
function procStart(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  assert.ok(start !== undefined && /^\d+$/.test(start), `start time of ${pid}`);
  return start;
}

/** The highest lock entry of `root`: its file name and parsed content. */
function topEntry(root: string): { name: string; entry: Record<string, unknown> } {
  const name = readdirSync(join(root, LOCK_DIR))
    .filter((n) => /^\d{20}$/.test(n))
    .sort()
    .at(-1);
  assert.ok(name !== undefined, 'a lock entry');
  return { name, entry: JSON.parse(readFileSync(join(root, LOCK_DIR, name), 'utf8')) as Record<string, unknown> };
}

test('a worker thread cannot open a root the main thread holds; every acknowledged id survives', { timeout: 120_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-lock-');
  t.after(cleanup);
  const manager = await AofManager.open({ root, ...OPTIONS });
  let closed = false;
  t.after(async () => {
    if (!closed) await manager.close();
  });
  const log = await manager.openStream(RACE_STREAM);
  for (let i = 0; i < 100; i++) assert.equal(await log.append(racePayload(0, i)), i);
  await log.flush();

  const { worker, reply } = await workerReply({ root, mode: 'manager' });
  await worker.terminate();
  assert.equal(reply['opened'], false, 'the worker opened a root the main thread holds');
  assert.equal(reply['code'], ErrorCode.LOCKED);
  const details = reply['details'] as Record<string, unknown>;
  assert.equal(details['owner'], process.pid);
  assert.equal(details['threadId'], 0);
  assert.equal(details['thisProcess'], true);

  // The main thread carries on; the failed attempt must not have released or broken its lock.
  for (let i = 100; i < 200; i++) assert.equal(await log.append(racePayload(0, i)), i);
  await log.flush();
  assert.equal(readLockHolder(root)?.pid, process.pid);
  await manager.close();
  closed = true;
  assert.equal(readLockHolder(root), null, 'close releases the lock');
  const after = await readRace(root);
  assert.equal(after.nextId, 200);
  assert.deepEqual([...after.writers], [0]);
});

test('a lock taken in a worker thread holds against the main thread and other processes, also after the worker is terminated', { timeout: 120_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-lock-');
  t.after(cleanup);
  const { worker, reply } = await workerReply({ root, mode: 'hold' });
  assert.equal(reply['held'], true);
  const holder = readLockHolder(root);
  assert.equal(holder?.pid, process.pid);
  assert.notEqual(holder?.threadId, 0, 'taken by the worker thread');
  assert.throws(() => RootLock.acquire(root), (err: unknown) => isLocked(err) && (err as AofError).details?.['thisProcess'] === true);
  // Terminated without release: the root stays locked until this process exits, as an fcntl lock
  // would (documented in src/root-lock.ts and docs/operations.md).
  await worker.terminate();
  await assert.rejects(AofManager.open({ root, ...OPTIONS }), isLocked);
  const other = new Child(['open', root]);
  t.after(() => other.kill());
  const line = await other.nextLine('open outcome');
  assert.match(line, /^locked /);
  assert.equal((JSON.parse(line.slice('locked '.length)) as Record<string, unknown>)['owner'], process.pid);
});

test('a second process gets AOF_ERR_LOCKED while this process holds the root, and opens it after close', { timeout: 120_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-lock-');
  t.after(cleanup);
  const manager = await AofManager.open({ root, ...OPTIONS });
  let closed = false;
  t.after(async () => {
    if (!closed) await manager.close();
  });
  const log = await manager.openStream(RACE_STREAM);
  for (let i = 0; i < 10; i++) await log.append(racePayload(0, i));

  const refused = new Child(['open', root]);
  t.after(() => refused.kill());
  const line = await refused.nextLine('open outcome');
  assert.match(line, /^locked /, `the second process: ${line}`);
  const details = JSON.parse(line.slice('locked '.length)) as Record<string, unknown>;
  assert.equal(details['owner'], process.pid);
  assert.equal(details['thisProcess'], false);

  for (let i = 10; i < 20; i++) assert.equal(await log.append(racePayload(0, i)), i);
  await manager.close();
  closed = true;
  const opened = new Child(['open', root]);
  t.after(() => opened.kill());
  assert.equal(await opened.nextLine('open outcome'), 'opened');
  assert.equal((await readRace(root)).nextId, 20);
});

/** Trials of three RootLock.acquire racing over a dead holder's lock (about 20 ms each here). */
const LOCK_TRIALS = 120;

test(`racing takeovers of a dead holder's lock: exactly one of three processes holds it (${LOCK_TRIALS} trials)`, { timeout: 180_000 }, async (t) => {
  const base = tempRoot('aof2-lock-race-');
  t.after(base.cleanup);
  const template = join(base.root, 'template');
  mkdirSync(template);
  const deadPid = await leaveDeadLock(template);
  const racers = await Promise.all([0, 1, 2].map(() => started(['race', 'lock'])));
  t.after(() => Promise.all(racers.map((r) => r.kill())));

  const wrong: string[] = [];
  for (let trial = 0; trial < LOCK_TRIALS; trial++) {
    const root = join(base.root, `trial-${trial}`);
    cpSync(template, root, { recursive: true });
    // Every fourth trial also carries the lock file of the previous version, left by the same dead pid.
    if (trial % 4 === 3) writeFileSync(join(root, LEGACY_LOCK_FILE), `${deadPid}\n`);
    // All three in one tick: the children wake within a fraction of a millisecond of each other.
    for (const [i, racer] of racers.entries()) racer.send(`go ${root} ${i}`);
    const outcomes = await Promise.all(racers.map((r) => r.nextLine(`trial ${trial} outcome`)));
    for (const outcome of outcomes) assert.ok(outcome === 'held' || outcome === 'locked', `trial ${trial}: ${outcome}`);
    const holders = outcomes.filter((o) => o === 'held').length;
    if (holders !== 1) wrong.push(`trial ${trial}: ${holders} holders`);
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome !== 'held') continue;
      racers[i]!.send('release');
      assert.equal(await racers[i]!.nextLine('released'), 'released');
    }
    // Released, the root is free again, and the dead holder left nothing that blocks.
    assert.equal(readLockHolder(root), null, `trial ${trial}: released`);
    RootLock.acquire(root).release();
    rmSync(root, { recursive: true, force: true });
  }
  assert.deepEqual(wrong, [], 'every trial has exactly one holder');
});

/** Trials of three engines racing to open a dead engine's root and append under fsync 'always'. */
const MANAGER_TRIALS = 12;

test(`racing AofManager.open over a dead engine's root: exactly one process acknowledges, the root reopens with dense ids (${MANAGER_TRIALS} trials)`, { timeout: 240_000 }, async (t) => {
  const base = tempRoot('aof2-lock-race-');
  t.after(base.cleanup);
  const template = join(base.root, 'template');
  mkdirSync(template);
  await leaveDeadLock(template, true);
  const racers = await Promise.all([0, 1, 2].map(() => started(['race', 'manager'])));
  t.after(() => Promise.all(racers.map((r) => r.kill())));

  const wrong: string[] = [];
  for (let trial = 0; trial < MANAGER_TRIALS; trial++) {
    const root = join(base.root, `trial-${trial}`);
    cpSync(template, root, { recursive: true });
    for (const [i, racer] of racers.entries()) racer.send(`go ${root} ${i}`);
    const outcomes = await Promise.all(racers.map((r) => r.nextLine(`trial ${trial} outcome`, 60_000)));
    const ackers: number[] = [];
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome === `acked ${RACE_RECORDS} 0`) ackers.push(i);
      else assert.equal(outcome, 'locked', `trial ${trial}, racer ${i}`);
    }
    if (ackers.length !== 1) wrong.push(`trial ${trial}: ${ackers.length} processes acknowledged ids 0..${RACE_RECORDS - 1}`);
    for (const i of ackers) {
      racers[i]!.send('release');
      assert.equal(await racers[i]!.nextLine('released', 60_000), 'released');
    }
    try {
      const { nextId, writers } = await readRace(root);
      if (nextId !== RACE_RECORDS || writers.size !== 1) wrong.push(`trial ${trial}: reopened with nextId ${nextId}, written by racers ${[...writers].join(',')}`);
    } catch (err) {
      wrong.push(`trial ${trial}: reopen failed: ${String(err)}`);
    }
    rmSync(root, { recursive: true, force: true });
  }
  assert.deepEqual(wrong, [], 'one writer per trial, and every root reopens');
});

test('a dead owner whose pid now belongs to an unrelated live process is taken over', { skip: process.platform !== 'linux' && 'needs /proc', timeout: 60_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-lock-');
  t.after(cleanup);
  // A real dead holder's entry, whose pid the kernel has since handed to `sleep` (we rewrite the
  // pid: waiting for the kernel to reuse one would take minutes). `sleep` starts after the holder
  // died, as a process reusing its pid must: start times count 10 ms clock ticks.
  await leaveDeadLock(root);
  const sleeper = spawn('sleep', ['120'], { stdio: 'ignore', timeout: CHILD_LIFETIME_MS, killSignal: 'SIGKILL' });
  t.after(() => sleeper.kill('SIGKILL'));
  assert.ok(sleeper.pid !== undefined);
  const sleeperStart = procStart(sleeper.pid);
  const { name, entry } = topEntry(root);
  assert.notEqual(entry['start'], sleeperStart);
  writeFileSync(join(root, LOCK_DIR, name), JSON.stringify({ ...entry, pid: sleeper.pid }));
  process.kill(sleeper.pid, 0); // alive
  const manager = await AofManager.open({ root, ...OPTIONS });
  assert.equal(readLockHolder(root)?.pid, process.pid);
  await manager.close();

  // The control: the same pid with its real start time is a live owner, and holds the root.
  const top = topEntry(root);
  const next = lockEntryName(Number(top.name) + 1);
  writeFileSync(join(root, LOCK_DIR, next), JSON.stringify({ ...entry, state: 'held', pid: sleeper.pid, start: sleeperStart }));
  assert.throws(() => RootLock.acquire(root), (err: unknown) => isLocked(err) && (err as AofError).details?.['owner'] === sleeper.pid);
});

test("the previous version's LOCK file: a live pid holds the root, a dead one is removed", { timeout: 60_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-lock-');
  t.after(cleanup);
  const sleeper = spawn('sleep', ['120'], { stdio: 'ignore', timeout: CHILD_LIFETIME_MS, killSignal: 'SIGKILL' });
  t.after(() => sleeper.kill('SIGKILL'));
  writeFileSync(join(root, LEGACY_LOCK_FILE), `${sleeper.pid}\n`);
  assert.throws(() => RootLock.acquire(root), (err: unknown) => isLocked(err) && (err as AofError).details?.['legacy'] === true);
  const deadPid = spawnSync(process.execPath, ['-e', ''], { timeout: 30_000 }).pid;
  for (const content of [`${deadPid}\n`, '', 'not-a-pid\n', `${process.pid}\n`]) {
    writeFileSync(join(root, LEGACY_LOCK_FILE), content);
    const lock = RootLock.acquire(root);
    assert.equal(readLockHolder(root)?.pid, process.pid, JSON.stringify(content));
    assert.throws(() => readFileSync(join(root, LEGACY_LOCK_FILE)), /ENOENT/, 'the stale LOCK file is removed');
    lock.release();
  }
});

test('an unreadable lock entry (empty or garbage, as a power loss can leave) is stale', { timeout: 30_000 }, async (t) => {
  for (const content of ['', '{"v":1,"state":"held"', 'garbage\n']) {
    const { root, cleanup } = tempRoot('aof2-lock-');
    t.after(cleanup);
    mkdirSync(join(root, LOCK_DIR));
    writeFileSync(join(root, LOCK_DIR, '00000000000000000007'), content);
    const lock = RootLock.acquire(root);
    assert.equal(readLockHolder(root)?.generation, 8, JSON.stringify(content));
    lock.release();
  }
});

test('acquire/release cycles in one process, and close() leaves the root openable by another process', { timeout: 120_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-lock-');
  t.after(cleanup);
  for (let cycle = 0; cycle < 200; cycle++) {
    const lock = RootLock.acquire(root);
    assert.throws(() => RootLock.acquire(root), (err: unknown) => isLocked(err) && (err as AofError).details?.['thisProcess'] === true);
    lock.release();
    lock.release(); // idempotent
  }
  // Each cycle links two entries (held 2k, free 2k + 1) and prunes the older ones: one tombstone stays.
  assert.deepEqual(readdirSync(join(root, LOCK_DIR)), [lockEntryName(399)]);
  assert.equal(readLockHolder(root), null);

  for (let round = 0; round < 3; round++) {
    const manager = await AofManager.open({ root, ...OPTIONS });
    const log = await manager.openStream(RACE_STREAM);
    for (let i = 0; i < 10; i++) await log.append(racePayload(0, log.nextId));
    await manager.close();
    await manager.close(); // idempotent, and does not release a lock someone else took meanwhile
  }
  const other = new Child(['open', root]);
  t.after(() => other.kill());
  assert.equal(await other.nextLine('open outcome'), 'opened');
  assert.equal((await readRace(root)).nextId, 30);
});

test('an open() that fails after taking the lock releases it (an arena it cannot allocate, a manifest it cannot read)', { timeout: 60_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-lock-');
  t.after(cleanup);
  // An arena no SharedArrayBuffer can hold (the allocation throws a RangeError).
  await assert.rejects(AofManager.open({ root, ...OPTIONS, tier0: { ...RACE_TIER0, arenaBytes: 2 ** 50 } }), RangeError);
  assert.equal(readLockHolder(root), null);
  // The manifest replay meets a chunk that is a directory.
  const chunk = join(root, MANIFEST_DIR, chunkFileName(1));
  mkdirSync(chunk, { recursive: true });
  await assert.rejects(AofManager.open({ root, ...OPTIONS }), (err: unknown) => err instanceof AofError && err.code === ErrorCode.UNSAFE_PATH);
  assert.equal(readLockHolder(root), null);
  rmSync(chunk, { recursive: true });
  const manager = await AofManager.open({ root, ...OPTIONS });
  const log = await manager.openStream(RACE_STREAM);
  await log.append(racePayload(0, 0));
  await manager.close();
});

test('a lock directory that is a symlink or a file is refused, and nothing is written through it', { timeout: 30_000 }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-lock-');
  t.after(cleanup);
  const outside = tempRoot('aof2-lock-outside-');
  t.after(outside.cleanup);
  symlinkSync(outside.root, join(root, LOCK_DIR));
  await assert.rejects(AofManager.open({ root, ...OPTIONS }), (err: unknown) => err instanceof AofError && err.code === ErrorCode.UNSAFE_PATH);
  assert.deepEqual(readdirSync(outside.root), []);
  rmSync(join(root, LOCK_DIR));
  writeFileSync(join(root, LOCK_DIR), '');
  assert.throws(() => RootLock.acquire(root), (err: unknown) => err instanceof AofError && err.code === ErrorCode.UNSAFE_PATH);
});
