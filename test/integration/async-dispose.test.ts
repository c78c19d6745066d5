/**
 * `Symbol.asyncDispose` / `Symbol.dispose` on the manager, logs and readers (issue 14): calling
 * them closes (manager, reader) or flushes (log), and `await using` works: compiled by tsc for
 * this project's target (Node 20 and 22 have the symbols but not the syntax), and natively in a
 * child process on a Node whose syntax has it (24), skipped elsewhere.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AofError, AofManager, ErrorCode, type AofManagerOptions, type AofReader } from '../../src/index.js';
import { rejectionOf } from '../../support/engine.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';

const SEGMENT = 64 * 1024;

function optionsFor(t: TestContext, extra: Partial<AofManagerOptions> = {}): AofManagerOptions {
  const { root, cleanup } = tempRoot('aof2-dispose-');
  t.after(cleanup);
  return { root, tier0: { arenaBytes: 8 * SEGMENT, segmentBytes: SEGMENT }, tier1: { enabled: false }, tier2: { kind: 'none' }, ...extra };
}

const isClosed = (err: unknown): boolean => err instanceof AofError && err.code === ErrorCode.CLOSED;

test('manager[Symbol.asyncDispose]() closes the manager and releases the root', async (t) => {
  const options = optionsFor(t);
  const manager = await AofManager.open(options);
  const log = await manager.openStream('m');
  log.appendSync(payloadFor(0, 100));
  await manager[Symbol.asyncDispose]();
  assert.equal((await rejectionOf(manager.openStream('m'))).code, ErrorCode.CLOSED);
  await manager[Symbol.asyncDispose](); // idempotent, like close()

  const again = await AofManager.open(options); // the lock was released
  t.after(() => again.close());
  assert.equal((await again.openStream('m')).nextId, 1);
});

test('reader[Symbol.dispose]() and reader[Symbol.asyncDispose]() close the reader', async (t) => {
  const manager = await AofManager.open(optionsFor(t));
  t.after(() => manager.close());
  const log = await manager.openStream('r');
  log.appendSync(payloadFor(0, 100));
  const sync = log.openReader();
  assert.equal(sync.nextSync()?.id, 0);
  sync[Symbol.dispose]();
  assert.throws(() => sync.nextSync(), isClosed);
  const asynchronous = log.openReader();
  await asynchronous[Symbol.asyncDispose]();
  assert.throws(() => asynchronous.nextSync(), isClosed);
  sync[Symbol.dispose](); // idempotent, like close()
});

test("log[Symbol.asyncDispose]() makes what was appended durable and leaves the log open; after the manager's close it has nothing to do", async (t) => {
  // fsync 'never': only a flush makes records durable, so durability proves the dispose flushed.
  const manager = await AofManager.open(optionsFor(t, { fsync: 'never' }));
  t.after(() => manager.close());
  const log = await manager.openStream('l');
  for (let id = 0; id < 20; id++) log.appendSync(payloadFor(id, 500));
  await log[Symbol.asyncDispose]();
  assert.equal(log.durableId, 19);
  assert.equal(log.appendSync(payloadFor(20, 500)), 20, 'the log still takes appends');
  await manager.close();
  await log[Symbol.asyncDispose](); // resolves: everything is durable after close
});

test('`await using` (compiled by tsc) disposes reader, log and manager in reverse order at the end of the scope', async (t) => {
  const options = optionsFor(t, { fsync: 'never' });
  let kept: { manager: AofManager; reader: AofReader } | null = null;
  {
    await using manager = await AofManager.open(options);
    await using log = await manager.openStream('u');
    using reader = log.openReader();
    log.appendSync(payloadFor(0, 100));
    assert.equal(reader.nextSync()?.id, 0);
    kept = { manager, reader };
  }
  assert.throws(() => kept.reader.nextSync(), isClosed);
  assert.equal((await rejectionOf(kept.manager.openStream('u'))).code, ErrorCode.CLOSED);
  const again = await AofManager.open(options);
  t.after(() => again.close());
  const log = await again.openStream('u');
  assert.equal(log.nextId, 1);
});

/** True when this Node parses `await using` itself (Node 24; not 20 or 22). */
function nativeAwaitUsing(): boolean {
  try {
    new Function('return async () => { await using resource = null; };');
    return true;
  } catch {
    return false;
  }
}

// dist/test/integration/async-dispose.test.js → the repository root
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** Plain JavaScript, run by Node as written: the syntax is the runtime's, not tsc's. */
const NATIVE_SCRIPT = `
import { AofManager } from 'aof2';
const options = JSON.parse(process.argv[2]);
let kept;
{
  await using manager = await AofManager.open(options);
  await using log = await manager.openStream('native');
  using reader = log.openReader();
  log.appendSync(new Uint8Array([1, 2, 3]));
  if (reader.nextSync()?.id !== 0) throw new Error('record 0 not read');
  kept = { manager, reader };
}
const codes = [];
try { kept.reader.nextSync(); } catch (err) { codes.push(err.code); }
try { await kept.manager.openStream('native'); } catch (err) { codes.push(err.code); }
const again = await AofManager.open(options);
const log = await again.openStream('native');
console.log(JSON.stringify({ codes, nextId: log.nextId, durableId: log.durableId }));
await again.close();
`;

test('`await using` in plain JavaScript on a Node that has the syntax (24)', { skip: nativeAwaitUsing() ? false : `Node ${process.version} does not parse await using` }, async (t) => {
  const options = optionsFor(t, { fsync: 'never' });
  // Inside the package directory, so `import 'aof2'` resolves through package.json#exports.
  const dir = mkdtempSync(join(REPO, 'dist', '.dispose-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'native.mjs');
  writeFileSync(file, NATIVE_SCRIPT);
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [file, JSON.stringify(options)], { timeout: 30_000 }, (err, out, errOut) => {
      if (err !== null) reject(new Error(`native await using failed: ${err.message}\n${errOut}`));
      else resolve(out);
    });
  });
  assert.deepEqual(JSON.parse(stdout), { codes: [ErrorCode.CLOSED, ErrorCode.CLOSED], nextId: 1, durableId: 0 });
});
