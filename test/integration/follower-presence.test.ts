/**
 * Follower presence (src/follower-presence.ts): a writer's listener counts the read-only managers
 * that announced themselves over the root's abstract socket; a line that closes, or sends a byte,
 * is no longer counted; one listener per root (a writer that finds the name taken warns through
 * its logger); a line with no writer listening fails quietly and tries again no sooner than its
 * retry interval. Real sockets (Linux; elsewhere there is no channel).
 */
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { test } from 'node:test';
import { AofManager } from '../../src/index.js';
import { PresenceLine, PresenceListener, presenceAddress } from '../../src/follower-presence.js';
import { sleep, waitFor } from '../../support/engine.js';
import { tempRoot } from '../../support/tmp.js';

const linux = process.platform === 'linux';

/** A wait for a socket event: a deadline against a hang, not a timing check. */
const DEADLINE_MS = 10_000;

test('the address is an abstract name derived from the root, on Linux only', () => {
  const a = presenceAddress('/srv/a');
  if (!linux) {
    assert.equal(a, null);
    return;
  }
  assert.match(a!, /^\0aof2-followers-[0-9a-f]{32}$/);
  assert.equal(presenceAddress('/srv/a'), a, 'the same root, the same name');
  assert.notEqual(presenceAddress('/srv/b'), a);
});

test('a listener counts the lines of its root (announced ones only); a closed line, or one that sends a byte, is no longer counted', { skip: !linux }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-presence-');
  t.after(cleanup);
  const counts: number[] = [];
  const listener = await PresenceListener.start(root, (n) => counts.push(n));
  assert.ok(listener !== null);
  t.after(() => listener.close());
  const refused: Error[] = [];
  assert.equal(await PresenceListener.start(root, () => undefined, (err) => refused.push(err)), null, 'one listener per root: a second finds the name taken');
  assert.deepEqual(refused.map((err) => (err as NodeJS.ErrnoException).code), ['EADDRINUSE'], 'and says why');

  const one = new PresenceLine(root, 10);
  const two = new PresenceLine(root, 10);
  const idle = new PresenceLine(root, 10);
  t.after(() => idle.close());
  idle.keepUp(); // never announced: nothing to keep up
  one.announce();
  two.announce();
  await waitFor(() => listener.followers === 2 && one.connected && two.connected, 'two followers', DEADLINE_MS);
  one.announce(); // connected: nothing more
  await sleep(20);
  assert.equal(listener.followers, 2);
  assert.equal(idle.connected, false);
  one.close();
  one.announce(); // closed for good
  await waitFor(() => listener.followers === 1, 'one follower', DEADLINE_MS);
  assert.equal(one.connected, false);

  const rogue = connect({ path: presenceAddress(root)! });
  rogue.on('error', () => undefined);
  await waitFor(() => listener.followers === 2, 'the rogue counted', DEADLINE_MS);
  rogue.write('x');
  await waitFor(() => listener.followers === 1, 'the rogue dropped', DEADLINE_MS);
  two.close();
  await waitFor(() => listener.followers === 0, 'none', DEADLINE_MS);
  assert.deepEqual(counts.slice(0, 2), [1, 2]);
  assert.equal(counts.at(-1), 0);
});

test('a line with no writer fails quietly, tries again after its interval, and finds a writer that came', { skip: !linux }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-presence-');
  t.after(cleanup);
  const line = new PresenceLine(root, 50);
  t.after(() => line.close());
  line.announce();
  await sleep(20);
  assert.equal(line.connected, false, 'no writer listening');
  const listener = await PresenceListener.start(root, () => undefined);
  t.after(() => listener?.close());
  line.announce(); // within the interval: no new attempt
  await sleep(10);
  assert.equal(listener!.followers, 0);
  await sleep(50);
  line.announce();
  await waitFor(() => line.connected && listener!.followers === 1, 'the line up', DEADLINE_MS);
  listener!.close(); // the writer goes: the line notices, and connects to the next one
  await waitFor(() => !line.connected, 'the line down', DEADLINE_MS);
  const next = await PresenceListener.start(root, () => undefined);
  t.after(() => next?.close());
  await sleep(60);
  line.announce();
  await waitFor(() => next!.followers === 1, 'the next writer counts it', DEADLINE_MS);
});

test("a writer whose presence name is taken warns through its logger and works without followers' announcements", { skip: !linux }, async (t) => {
  const { root, cleanup } = tempRoot('aof2-presence-');
  t.after(cleanup);
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen({ path: presenceAddress(realpathSync(root))! }, resolve));
  t.after(() => squatter.close());
  const warnings: Array<{ obj: Record<string, unknown>; msg: string | undefined }> = [];
  const logger = { info: () => undefined, warn: (obj: object, msg?: string) => void warnings.push({ obj: obj as Record<string, unknown>, msg }), error: () => undefined };
  const manager = await AofManager.open({ root, fsync: 'never', tier1: { enabled: false }, logger });
  t.after(() => manager.close());
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.obj['event'], 'aof2:presence.refused');
  assert.equal((warnings[0]!.obj['error'] as { code: string }).code, 'EADDRINUSE');
  assert.match(warnings[0]!.msg!, /read-only followers/);
  const log = await manager.openStream('s');
  assert.equal(await log.append(new Uint8Array([1])), 0);
  assert.equal(manager.stats().tier0.readOnlyFollowers, 0);
});
