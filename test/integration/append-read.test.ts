import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AofManager, WouldBlockError } from '../../src/index.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';

const small = { arenaBytes: 8 * 64 * 1024, segmentBytes: 64 * 1024 };

test('appendSync assigns dense ids and records read back byte-identical across segments', async (t) => {
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  const manager = await AofManager.open({ root, tier0: small, fsync: 'never' });
  const log = await manager.openStream('orders');
  const sizes = [0, 1, 7, 8, 9, 100, 1000, 4093];
  let written = 0;
  while (written < 2000) {
    const size = sizes[written % sizes.length]!;
    try {
      assert.equal(log.appendSync(payloadFor(written, size)), written);
      written++;
    } catch (err) {
      assert.ok(err instanceof WouldBlockError);
      assert.equal(await log.append(payloadFor(written, size)), written);
      written++;
    }
  }
  assert.equal(log.nextId, 2000);
  let expected = 0;
  for await (const rec of log.read({ from: 0 })) {
    assert.equal(rec.id, expected);
    assert.ok(sameBytes(rec.payload, payloadFor(expected, sizes[expected % sizes.length]!)), `record ${expected}`);
    expected++;
  }
  assert.equal(expected, 2000);
  await log.flush();
  assert.equal(log.durableId, 1999);
  await manager.close();
});
