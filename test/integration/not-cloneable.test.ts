/**
 * Regression (issue 10, section 6): `structuredClone(manager)` failed with prom-client source code
 * as the message, and `postMessage(log)` / `postMessage(reader)` silently sent `{ name }` / `{}`.
 * Now every live handle refuses structured clone — structuredClone, MessagePort.postMessage,
 * Worker workerData, v8.serialize — with a DataCloneError whose message names
 * AOF_ERR_NOT_CLONEABLE and what to do (src/not-cloneable.ts: Node 20 has no hook into the clone).
 * The message fits the 128 characters V8 shows whole on Node 22 and 24; past that (a long stream
 * name) V8 cuts the middle, and the code, the handle and the remedy still show.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { serialize } from 'node:v8';
import { MessageChannel, Worker } from 'node:worker_threads';
import { AofManager, ErrorCode } from '../../src/index.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';

/** The message's end, after the handle: what to do instead. */
const REMEDY = 'post plain data, or AofManager.open in that thread';

/** A DataCloneError naming the code and `what`; whole (`cut` false) or cut in the middle by V8. */
function refused(what: RegExp, cut = false): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof Error, `expected an Error, got ${String(err)}`);
    assert.equal(err.name, 'DataCloneError');
    assert.match(err.message, new RegExp(`^Symbol\\(${ErrorCode.NOT_CLONEABLE}: `));
    assert.match(err.message, what);
    assert.ok(err.message.includes(`${REMEDY})`), `the remedy ends the message: ${err.message}`);
    if (!cut) assert.ok(err.message.includes(` cannot be cloned; ${REMEDY}`), `whole: ${err.message}`);
    assert.doesNotMatch(err.message, /function|=>|\{\s*$/m, 'no source code in the message');
    return true;
  };
}

test('a manager, a log and a reader refuse structuredClone, postMessage, workerData and v8.serialize with AOF_ERR_NOT_CLONEABLE', async (t) => {
  const { root, cleanup } = tempRoot('aof2-clone-');
  t.after(cleanup);
  const manager = await AofManager.open({ root, tier2: { kind: 'none' } });
  const { port1, port2 } = new MessageChannel();
  const arrived: unknown[] = [];
  port2.on('message', (m: unknown) => arrived.push(m));
  try {
    const log = await manager.openStream('orders');
    await log.append(payloadFor(0, 10));
    const reader = log.openReader();
    const cases: Array<[string, unknown, RegExp]> = [
      ['manager', manager, /an AofManager /],
      ['log', log, /an AofLog \(stream orders\)/],
      ['reader', reader, /an AofReader \(stream orders\)/],
      ['a log inside a plain object', { nested: [log] }, /an AofLog/],
    ];
    for (const [name, value, what] of cases) {
      assert.throws(() => structuredClone(value), refused(what), `structuredClone(${name})`);
      assert.throws(() => port1.postMessage(value), refused(what), `postMessage(${name})`);
      assert.throws(() => serialize(value), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, new RegExp(`${ErrorCode.NOT_CLONEABLE}: `));
        return true;
      }, `v8.serialize(${name})`);
    }
    assert.throws(() => new Worker('process.exit(0)', { eval: true, workerData: { log } }), refused(/an AofLog/), 'workerData');
    // A 128-character stream name: Node 22 and 24 cut the middle of the message, Node 20 shows it whole.
    const long = await manager.openStream('s'.repeat(128));
    const cut = Number(process.versions.node.split('.')[0]) >= 22;
    assert.throws(() => structuredClone(long), refused(/an AofLog \(stream sss/, cut), 'structuredClone(a log with a long name)');
    // Nothing was sent, and the handles still work.
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(arrived, []);
    assert.equal(log.name, 'orders');
    assert.equal(manager.config.root, root);
    assert.equal(typeof manager.registry.metrics, 'function');
    // console.log shows the handle, not the guard.
    assert.equal(inspect(log), "AofLog { name: 'orders', nextId: 1 }");
    assert.match(inspect(manager), /^AofManager \{ root: '/);
    assert.match(inspect(reader), /^AofReader \{ stream: 'orders', position: 0, closed: false \}/);
    assert.equal((await reader.next())?.id, 0);
    reader.close();
    assert.equal(await log.append(payloadFor(1, 10)), 1);
    // Plain data about them clones fine: what the message tells the caller to post instead.
    assert.deepEqual(structuredClone({ stream: log.name, nextId: log.nextId, payload: payloadFor(1, 10) }), { stream: 'orders', nextId: 2, payload: payloadFor(1, 10) });
  } finally {
    port1.close();
    await manager.close();
  }
});
