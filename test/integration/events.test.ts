/**
 * Structured events (issue #5): every tier transition and failure is published on its
 * `node:diagnostics_channel` channel with the stream and segment it concerns, and the optional
 * logger hears about retries, failures and breaker transitions. Real engine, real workers, a real
 * local-directory store that is taken away (a file where its directory was) to open the breaker,
 * and failpoints to make compression fail for good.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { AOF_EVENTS, AofManager, WouldBlockError, type AofLog, type AofLogger } from '../../src/index.js';
import { MAX_COMPRESS_ATTEMPTS } from '../../src/tier1/tier1.js';
import { sleep, waitFor } from '../../support/engine.js';
import { withFailpoints } from '../../support/failpoints-env.js';
import { withTimeout } from '../../support/tier1-engine.js';
import { fill, readBack, smallEngine } from '../../support/tier2-suite.js';
import { payloadFor, tempRoot } from '../../support/tmp.js';
import { logCore } from '../../src/log.js';

type Payload = Record<string, unknown>;

/** Subscribes to every aof2 channel for the test's duration; returns the events by channel. */
function listen(t: TestContext): Map<string, Payload[]> {
  const seen = new Map<string, Payload[]>();
  for (const name of Object.values(AOF_EVENTS)) {
    seen.set(name, []);
    const onMessage = (message: unknown): void => void seen.get(name)!.push(message as Payload);
    subscribe(name, onMessage);
    t.after(() => unsubscribe(name, onMessage));
  }
  return seen;
}

/** A logger that keeps what it was told. */
function recordingLogger(): AofLogger & { lines: { level: string; obj: Payload; msg: string | undefined }[] } {
  const lines: { level: string; obj: Payload; msg: string | undefined }[] = [];
  return {
    lines,
    info: (obj, msg) => void lines.push({ level: 'info', obj: obj as Payload, msg }),
    warn: (obj, msg) => void lines.push({ level: 'warn', obj: obj as Payload, msg }),
    error: (obj, msg) => void lines.push({ level: 'error', obj: obj as Payload, msg }),
  };
}

const key = (e: Payload): string => `${String(e['stream'])}/${String(e['baseId'])}`;
const sealedKeys = (logs: AofLog[]): string[] => logs.flatMap((log) => logCore(log).segments.filter((s) => s.sealed).map((s) => `${log.name}/${s.baseId}`)).sort();

test('sealed, compressed, uploaded, evicted and hydrated: one event per transition, naming stream and segment', { timeout: 120_000 }, async (t) => {
  const seen = listen(t);
  const { root, cleanup } = tempRoot('aof2-events-');
  t.after(cleanup);
  const manager = await AofManager.open(smallEngine(root, { kind: 'fs', root: `${root}-tier2` }, 128 * 1024));
  try {
    const logs = [await manager.openStream('a'), await manager.openStream('b')];
    await fill(logs[0]!, 0, 600);
    await fill(logs[1]!, 0, 400);
    await withTimeout(manager.settle(), 30_000, 'settle');
    await readBack(logs[0]!, 0, 600); // evicted segments come back from Tier 2
    await withTimeout(manager.settle(), 30_000, 'settle after reading');

    const sealed = sealedKeys(logs);
    assert.ok(sealed.length >= 10, `${sealed.length} sealed segments`);
    const events = (name: string): Payload[] => seen.get(name)!;
    assert.deepEqual(events(AOF_EVENTS.segmentSealed).map(key).sort(), sealed, 'one sealed event per sealed segment');
    assert.deepEqual(events(AOF_EVENTS.segmentCompressed).map(key).sort(), sealed, 'one compressed event per segment');
    assert.deepEqual(events(AOF_EVENTS.segmentUploaded).map(key).sort(), sealed, 'one uploaded event per segment');
    for (const e of events(AOF_EVENTS.segmentSealed)) {
      const log = logs.find((l) => l.name === e['stream'])!;
      const seg = logCore(log).segments.find((s) => s.baseId === e['baseId'])!;
      assert.equal(e['records'], seg.count);
      assert.equal(e['bytes'], seg.dataBytes);
    }
    for (const e of events(AOF_EVENTS.segmentCompressed)) {
      assert.ok((e['inputBytes'] as number) > 0 && (e['outputBytes'] as number) > 0 && (e['frames'] as number) >= 1 && e['attempts'] === 1, JSON.stringify(e));
    }
    for (const e of events(AOF_EVENTS.segmentUploaded)) {
      assert.equal(typeof e['key'], 'string');
      assert.ok((e['bytes'] as number) > 0);
    }
    const evicted = events(AOF_EVENTS.segmentEvicted);
    assert.ok(evicted.length >= 1, 'past the budget, local copies were evicted');
    for (const e of evicted) {
      assert.ok(sealed.includes(key(e)), `evicted ${key(e)} is a sealed segment`);
      assert.equal(e['from'], 'tier1');
    }
    assert.equal(evicted.length, manager.stats().tier2!.segmentsEvicted);
    const hydrated = events(AOF_EVENTS.segmentHydrated).filter((e) => e['target'] === 'arena');
    assert.ok(hydrated.length >= 1, 'the read-back hydrated frames');
    assert.equal(hydrated.length, manager.stats().tier1.framesDecompressed);
    for (const e of hydrated) {
      assert.equal(e['stream'], 'a');
      assert.ok(e['source'] === 'tier1' || e['source'] === 'tier2');
      assert.equal(typeof e['frame'], 'number');
      assert.ok((e['seconds'] as number) >= 0);
    }
    assert.ok(hydrated.some((e) => e['source'] === 'tier2'), 'some frames came from Tier 2');
    for (const name of [AOF_EVENTS.taskRetried, AOF_EVENTS.taskFailed, AOF_EVENTS.breakerOpened, AOF_EVENTS.breakerClosed]) {
      assert.deepEqual(events(name), [], `a healthy run publishes nothing on ${name}`);
    }
  } finally {
    await manager.close();
  }
});

test('a raw segment read back into the arena publishes segment.hydrated with source raw', async (t) => {
  const seen = listen(t);
  const { root, cleanup } = tempRoot('aof2-events-raw-');
  t.after(cleanup);
  const manager = await AofManager.open({ root, tier1: { enabled: false }, tier2: { kind: 'none' }, tier0: { arenaBytes: 2 * 4096, segmentBytes: 4096 } });
  try {
    const log = await manager.openStream('raw');
    for (let i = 0; i < 200; i++) await log.append(payloadFor(i, 200));
    await log.flush();
    const reader = log.openReader({ from: 0 });
    try {
      assert.throws(() => reader.nextSync(), (err: unknown) => err instanceof WouldBlockError && err.kind === 'hydration');
      assert.equal((await withTimeout(reader.next(), 10_000, 'record 0'))!.id, 0);
    } finally {
      reader.close();
    }
    const hydrated = seen.get(AOF_EVENTS.segmentHydrated)!;
    assert.ok(hydrated.some((e) => e['stream'] === 'raw' && e['baseId'] === 0 && e['source'] === 'raw' && e['target'] === 'arena' && e['frame'] === null));
  } finally {
    await manager.close();
  }
});

test('an object store outage: upload retries, breaker opened then closed, on the channels and in the log', { timeout: 120_000 }, async (t) => {
  const seen = listen(t);
  const logger = recordingLogger();
  const { root, cleanup } = tempRoot('aof2-events-breaker-');
  const storeDir = `${root}-store`;
  t.after(() => {
    cleanup();
    rmSync(storeDir, { recursive: true, force: true });
    rmSync(`${storeDir}-away`, { recursive: true, force: true });
  });
  const manager = await AofManager.open(smallEngine(root, { kind: 'fs', root: storeDir }, 4 * 1024 * 1024, { logger }));
  try {
    const log = await manager.openStream('outage');
    await fill(log, 0, 100);
    await withTimeout(manager.settle(), 30_000, 'settle');
    // The manifest mirror syncs 100 ms after an upload (debounced) and reports to the same
    // breaker: let that sync run while the store is still there, or its failure would count
    // towards the 5 that open the breaker and only 4 upload retries would be seen.
    await sleep(250);
    await withTimeout(manager.settle(), 30_000, 'settle the debounced manifest sync');
    // The store goes away: a file where its directory was, so every put fails.
    renameSync(storeDir, `${storeDir}-away`);
    writeFileSync(storeDir, '');
    await fill(log, 100, 400);
    await waitFor(() => seen.get(AOF_EVENTS.breakerOpened)!.length >= 1, 'the breaker to open', 20_000, 20);
    rmSync(storeDir);
    renameSync(`${storeDir}-away`, storeDir);
    await waitFor(() => seen.get(AOF_EVENTS.breakerClosed)!.length >= 1, 'the breaker to close', 30_000, 20);
    await withTimeout(manager.settle(), 30_000, 'settle after the outage');

    const retried = seen.get(AOF_EVENTS.taskRetried)!;
    assert.ok(retried.length >= 5, `${retried.length} retries (the breaker opens after 5 failures)`);
    for (const e of retried) {
      assert.equal(e['task'], 'upload');
      assert.equal(e['stream'], 'outage');
      assert.equal(typeof e['baseId'], 'number');
      assert.ok((e['attempt'] as number) >= 1);
      assert.equal(typeof (e['error'] as Payload)['code'], 'string');
    }
    const opened = seen.get(AOF_EVENTS.breakerOpened)![0]!;
    assert.equal(opened['store'], `file://${storeDir}`);
    assert.equal(opened['to'], 'open');
    assert.ok((opened['coolDownMs'] as number) > 0);
    assert.equal(seen.get(AOF_EVENTS.breakerClosed)![0]!['to'], 'closed');
    const stats = manager.stats().tier2!;
    assert.equal(seen.get(AOF_EVENTS.breakerOpened)!.length, stats.breakerOpened);
    assert.equal(seen.get(AOF_EVENTS.breakerClosed)!.length, stats.breakerClosed);
    assert.equal(retried.length, stats.uploadRetries);
    // Every sealed segment got uploaded in the end, once each.
    assert.deepEqual(seen.get(AOF_EVENTS.segmentUploaded)!.map(key).sort(), sealedKeys([log]));

    const warnings = logger.lines.filter((l) => l.level === 'warn');
    assert.equal(warnings.filter((l) => l.obj['event'] === AOF_EVENTS.taskRetried).length, retried.length, 'each retry logged');
    assert.ok(warnings.some((l) => l.obj['event'] === AOF_EVENTS.breakerOpened && /opened/.test(l.msg ?? '')));
    assert.ok(logger.lines.some((l) => l.level === 'info' && l.obj['event'] === AOF_EVENTS.breakerClosed));
  } finally {
    await manager.close();
  }
});

test('a compression that keeps failing: task.retried per attempt, then task.failed, logged as an error', { timeout: 60_000 }, async (t) => {
  const seen = listen(t);
  const logger = recordingLogger();
  const { root, cleanup } = tempRoot('aof2-events-failed-');
  t.after(cleanup);
  await withFailpoints('compress.error=1', '7', async () => {
    const manager = await AofManager.open({ root, tier2: { kind: 'none' }, tier0: { arenaBytes: 4 * 4096, segmentBytes: 4096 }, logger });
    try {
      const log = await manager.openStream('doomed');
      for (let i = 0; i < 30; i++) await log.append(payloadFor(i, 200)); // one full segment and a bit
      await waitFor(() => seen.get(AOF_EVENTS.taskFailed)!.length >= 1, 'compression to be given up', 30_000, 20);
      await withTimeout(manager.settle(), 30_000, 'settle');
      const failed = seen.get(AOF_EVENTS.taskFailed)!;
      const first = failed[0]!;
      assert.equal(first['task'], 'compress');
      assert.equal(first['stream'], 'doomed');
      assert.equal(first['attempt'], MAX_COMPRESS_ATTEMPTS);
      assert.equal((first['error'] as Payload)['code'], 'AOF_ERR_INJECTED');
      const retriedForIt = seen.get(AOF_EVENTS.taskRetried)!.filter((e) => key(e) === key(first));
      assert.deepEqual(retriedForIt.map((e) => e['attempt']), [1, 2, 3, 4], 'one retry event per failed attempt before the last');
      assert.equal(failed.length, manager.stats().tier1.compressFailures);
      assert.ok(logger.lines.some((l) => l.level === 'error' && l.obj['event'] === AOF_EVENTS.taskFailed && l.obj['task'] === 'compress'));
      assert.deepEqual(seen.get(AOF_EVENTS.segmentCompressed), [], 'nothing was compressed');
    } finally {
      await manager.close();
    }
  });
});

test('a logger that throws does not break the engine', async (t) => {
  const { root, cleanup } = tempRoot('aof2-events-badlog-');
  t.after(cleanup);
  const boom = (): void => {
    throw new Error('logger down');
  };
  await withFailpoints('compress.error=1', '9', async () => {
    const manager = await AofManager.open({ root, tier2: { kind: 'none' }, tier0: { arenaBytes: 4 * 4096, segmentBytes: 4096 }, logger: { info: boom, warn: boom, error: boom } });
    try {
      const log = await manager.openStream('s');
      for (let i = 0; i < 30; i++) await log.append(payloadFor(i, 200));
      await waitFor(() => manager.stats().tier1.compressFailures >= 1, 'compression to be given up', 30_000, 20);
      assert.equal(manager.stats().failure, null);
    } finally {
      await manager.close();
    }
  });
});
