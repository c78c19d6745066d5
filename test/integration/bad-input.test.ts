/**
 * Bad input gets a clear, coded error and never damages the log: after every batch of bad calls,
 * the records appended before still read back byte-identical and the next append gets the next
 * dense id.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { AofError, AofManager, ErrorCode, WouldBlockError, type AofLog, type AofManagerOptions, type ErrorCodeValue } from '../../src/index.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';
import { logCore } from '../../src/log.js';

const SEGMENT = 4096;
const TIER0 = { arenaBytes: 8 * SEGMENT, segmentBytes: SEGMENT };

/** Predicate for assert.throws/rejects: an AofError with `code` (and a non-empty message). */
function coded(code: ErrorCodeValue): (err: unknown) => true {
  return (err) => {
    assert.ok(err instanceof AofError, `expected AofError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.ok(err.message.length > 10, 'message should say what was wrong');
    return true;
  };
}

/** An async API call must reject, not throw synchronously. */
async function rejectsWith(call: () => Promise<unknown>, code: ErrorCodeValue): Promise<void> {
  let promise: Promise<unknown> | undefined;
  assert.doesNotThrow(() => {
    promise = call();
  }, 'async API threw synchronously instead of rejecting');
  await assert.rejects(promise!, coded(code));
}

/** Opens a manager on a fresh root, closed and removed after the test (in that order). */
async function openManager(t: TestContext, extra: Partial<AofManagerOptions> = {}): Promise<{ manager: AofManager; root: string }> {
  const { root, cleanup } = tempRoot('aof2-bad-');
  const state: { manager: AofManager | null } = { manager: null };
  t.after(async () => {
    await state.manager?.close();
    cleanup();
  });
  state.manager = await AofManager.open({ root, tier0: TIER0, fsync: 'never', ...extra });
  return { manager: state.manager, root };
}

/** Appends `n` records of varied sizes and returns their payloads (index = id - firstId). */
function appendSome(log: AofLog, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const payload = payloadFor(log.nextId, (log.nextId * 37) % 200);
    assert.equal(log.appendSync(payload), log.nextId - 1);
    out.push(payload);
  }
  return out;
}

/** Every earlier record reads back byte-identical, and a new append gets the next dense id. */
async function assertIntact(log: AofLog, expected: Uint8Array[]): Promise<void> {
  let id = 0;
  for await (const rec of log.read({ from: 0 })) {
    assert.equal(rec.id, id);
    assert.ok(sameBytes(rec.payload, expected[id]!), `record ${id} changed`);
    id++;
  }
  assert.equal(id, expected.length, 'record count');
  assert.equal(log.nextId, expected.length);
  const next = payloadFor(expected.length, 33);
  assert.equal(await log.append(next), expected.length);
  expected.push(next);
}

const NOT_BYTES: [string, unknown][] = [
  ['string', 'hello'],
  ['number', 42],
  ['null', null],
  ['undefined', undefined],
  ['plain array', [1, 2, 3]],
  ['ArrayBuffer', new ArrayBuffer(8)],
  ['DataView', new DataView(new ArrayBuffer(8))],
  ['Uint16Array', new Uint16Array(4)],
  ['array-like object', { length: 2, 0: 1, 1: 2 }],
];

describe('payloads that are not a Uint8Array', () => {
  test('appendSync throws and append rejects AOF_ERR_INVALID_ARGUMENT; the log is untouched', async (t) => {
    const { manager } = await openManager(t);
    const log = await manager.openStream('payloads');
    const expected = appendSome(log, 5);
    for (const [what, bad] of NOT_BYTES) {
      assert.throws(() => log.appendSync(bad as Uint8Array), coded(ErrorCode.INVALID_ARGUMENT), what);
      await rejectsWith(() => log.append(bad as Uint8Array), ErrorCode.INVALID_ARGUMENT);
      assert.equal(log.nextId, 5, `${what} consumed an id`);
    }
    // A Buffer is a Uint8Array and is accepted, as is a view into a larger buffer.
    const backing = Buffer.from('xxpayloadxx');
    const view = backing.subarray(2, 9);
    assert.equal(log.appendSync(view), 5);
    expected.push(Uint8Array.from(view));
    await assertIntact(log, expected);
  });

  test('while async appends are queued behind a full arena, bad payloads are still refused at the call', async (t) => {
    // Two slots, each pinned by a reader sitting in another stream's active segment: the third
    // stream cannot be admitted until the readers let go, so its append() deterministically queues.
    const { manager } = await openManager(t, { tier0: { arenaBytes: 2 * SEGMENT, segmentBytes: SEGMENT } });
    const a = await manager.openStream('a');
    const b = await manager.openStream('b');
    const c = await manager.openStream('c');
    appendSome(a, 1);
    appendSome(b, 1);
    const readers = [a.openReader({ from: 0 }), b.openReader({ from: 0 })];
    for (const r of readers) assert.notEqual(r.nextSync(), null);

    const first = payloadFor(0, 10);
    const queued = c.append(first);
    assert.throws(() => c.appendSync(payloadFor(1, 10)), (err: unknown) => err instanceof WouldBlockError && err.kind === 'admission');
    assert.throws(() => c.appendSync('nope' as unknown as Uint8Array), coded(ErrorCode.INVALID_ARGUMENT));
    await rejectsWith(() => c.append(null as unknown as Uint8Array), ErrorCode.INVALID_ARGUMENT);
    // Checked after the readers let go: a failed assertion here must not leave the queued append
    // (and so close()) waiting for ever.
    const tooLarge = await c.append(new Uint8Array(SEGMENT + 1)).then(
      () => null,
      (err: unknown) => err,
    );
    assert.equal(c.nextId, 0);

    for (const r of readers) r.close();
    assert.ok(coded(ErrorCode.RECORD_TOO_LARGE)(tooLarge) && (tooLarge as AofError).details?.['payloadBytes'] === SEGMENT + 1, 'the payload length, not its frame');
    assert.equal(await queued, 0);
    await assertIntact(c, [first]);
  });
});

describe('records larger than a segment', () => {
  test('are refused with AOF_ERR_RECORD_TOO_LARGE; exactly segmentBytes - 16 fits', async (t) => {
    const { manager } = await openManager(t);
    const log = await manager.openStream('big');
    const expected = appendSome(log, 3);
    const segmentsBefore = logCore(log).describe().segments;
    const maxPayload = SEGMENT - 16;
    // The error names the payload's own length, not its frame padded to 8 bytes (issue 10: a
    // 4,194,297-byte payload was reported as "at least 4194296"), and the limit for a payload.
    const tooLarge = (size: number) => (err: unknown) =>
      coded(ErrorCode.RECORD_TOO_LARGE)(err) &&
      (err as AofError).details?.['maxPayload'] === maxPayload &&
      (err as AofError).details?.['payloadBytes'] === size &&
      (err as AofError).message.includes(`payload of ${size} bytes`) &&
      (err as AofError).message.includes(`${maxPayload}-byte limit`);
    for (const size of [maxPayload + 1, maxPayload + 7, SEGMENT, 10 * SEGMENT + 3]) {
      assert.throws(() => log.appendSync(new Uint8Array(size)), tooLarge(size), `size ${size}`);
      await assert.rejects(log.append(new Uint8Array(size)), tooLarge(size), `size ${size}`);
    }
    // Regression: a 2 GiB payload made frameLength wrap through Int32 to a negative frame, which
    // slipped past the size check and threw a bare RangeError (or, with a large enough arena,
    // would have written past the slot). The allocation is lazily zeroed: it costs no real memory.
    assert.throws(() => log.appendSync(new Uint8Array(2 ** 31)), coded(ErrorCode.RECORD_TOO_LARGE));
    // The refused records did not seal or roll the active segment.
    assert.equal(logCore(log).describe().segments, segmentsBefore);
    assert.equal(log.nextId, 3);

    const biggest = payloadFor(3, maxPayload);
    assert.equal(log.appendSync(biggest), 3); // rolls to a fresh segment it fills exactly
    expected.push(biggest);
    assert.equal(await log.append(payloadFor(4, maxPayload)), 4);
    expected.push(payloadFor(4, maxPayload));
    await log.flush();
    assert.equal(log.durableId, 4);
    await assertIntact(log, expected);
  });
});

describe('stream names', () => {
  const BAD: [string, unknown][] = [
    ['empty', ''],
    ['dot', '.'],
    ['dot-dot', '..'],
    ['parent traversal', '../x'],
    ['slash', 'a/b'],
    ['backslash', 'a\\b'],
    ['129 chars', 'n'.repeat(129)],
    ['non-ASCII', 'ü'],
    ['space', ' '],
    ['NUL', 'a\0b'],
    ['null', null],
    ['number', 42],
    ['object', { toString: () => 'sneaky' }],
  ];

  test('outside [A-Za-z0-9._-]{1,128} are refused with AOF_ERR_INVALID_STREAM_NAME and create nothing', async (t) => {
    const { root: outer, cleanup } = tempRoot('aof2-names-');
    const root = join(outer, 'root');
    const state: { manager: AofManager | null } = { manager: null };
    t.after(async () => {
      await state.manager?.close();
      cleanup();
    });
    const manager = await AofManager.open({ root, tier0: TIER0, fsync: 'never' });
    state.manager = manager;
    // An absolute name aimed beside the root (not at a shared path like /tmp/x, which any other
    // process on the machine may create) so that "created nothing" is checked on our own directory.
    const escaped = join(outer, 'escaped');
    for (const [what, bad] of [...BAD, ['absolute', escaped]]) {
      await rejectsWith(() => manager.openStream(bad as string), ErrorCode.INVALID_STREAM_NAME);
      assert.deepEqual(readdirSync(outer), ['root'], `${what} created something outside the root`);
      assert.deepEqual(readdirSync(join(root, 'streams')), [], `${what} created a stream directory`);
    }
    assert.deepEqual(await manager.listStreams(), []);
    assert.ok(!existsSync(escaped));

    // The edges of the alphabet and length are accepted.
    const longest = 'L'.repeat(128);
    const ok = await manager.openStream(longest);
    const odd = await manager.openStream('a.b-c_D9');
    assert.deepEqual(await manager.listStreams(), [longest, 'a.b-c_D9'].sort());
    const expected = appendSome(ok, 2);
    appendSome(odd, 1);
    await assertIntact(ok, expected);
  });
});

describe('manager options', () => {
  test('unknown keys are refused with AOF_ERR_UNKNOWN_OPTION before anything touches the disk', async (t) => {
    const { root: outer, cleanup } = tempRoot('aof2-opts-');
    t.after(cleanup);
    const root = join(outer, 'root');
    const cases: [unknown, string][] = [
      [{ root, fsynk: 'always' }, 'fsynk'],
      [{ root, tier0: { arenaByte: 1 } }, 'tier0.arenaByte'],
      [{ root, tier1: { level: 3 } }, 'tier1.level'],
      [{ root, tier2: { kind: 'fs', root: join(outer, 't2'), bucket: 'x' } }, 'tier2.bucket'],
    ];
    for (const [options, option] of cases) {
      await assert.rejects(
        AofManager.open(options as AofManagerOptions),
        (err: unknown) => coded(ErrorCode.UNKNOWN_OPTION)(err) && (err as AofError).details?.['option'] === option,
      );
    }
    assert.deepEqual(readdirSync(outer), []);
  });

  test('impossible values are refused with AOF_ERR_INVALID_ARGUMENT; the root stays usable', async (t) => {
    const { root, cleanup } = tempRoot('aof2-opts-');
    t.after(cleanup);
    const bad: unknown[] = [
      undefined,
      null,
      'path',
      { root: '' },
      { root: 42 },
      { root, tier0: { segmentBytes: 4100 } }, // not a multiple of 8
      { root, tier0: { segmentBytes: 4088 } }, // below the 4096 minimum
      { root, tier0: { segmentBytes: 2 ** 31 } }, // above the 1 GiB maximum
      { root, tier0: { segmentBytes: 0 } },
      { root, tier0: { segmentBytes: 4096.5 } },
      { root, tier0: { segmentBytes: '4096' } },
      { root, tier0: { arenaBytes: SEGMENT, segmentBytes: SEGMENT } }, // one slot: fewer than 2 segments
      { root, tier0: { arenaBytes: 2 * SEGMENT - 8, segmentBytes: SEGMENT } },
      { root, tier0: { arenaBytes: -1 } },
      { root, tier0: 'big' },
      { root, fsync: 'sometimes' },
      { root, fsync: true },
      { root, fsyncIntervalMs: 0 },
      { root, tier2: { kind: 'ftp' } },
      { root, tier2: { kind: 's3' } },
    ];
    for (const options of bad) {
      await assert.rejects(AofManager.open(options as AofManagerOptions), coded(ErrorCode.INVALID_ARGUMENT), JSON.stringify(options));
    }
    // No lock or half-open state was left behind.
    const manager = await AofManager.open({ root, tier0: { arenaBytes: 2 * SEGMENT, segmentBytes: SEGMENT }, fsync: 'never' });
    const log = await manager.openStream('fine');
    assert.equal(log.appendSync(payloadFor(0, 5)), 0);
    await manager.close();
  });
});

describe('use after close', () => {
  test('every call fails with AOF_ERR_CLOSED; reopening finds the log intact', async (t) => {
    const { root, cleanup } = tempRoot('aof2-closed-');
    const state: { manager: AofManager | null } = { manager: null };
    t.after(async () => {
      await state.manager?.close();
      cleanup();
    });
    const manager = await AofManager.open({ root, tier0: TIER0, fsync: 'never' });
    const log = await manager.openStream('s');
    const expected = appendSome(log, 4);
    const reader = log.openReader({ from: 0 });
    assert.equal(reader.nextSync()?.id, 0);
    const early = log.openReader({ from: 2 });
    early.close();
    early.close(); // idempotent
    assert.throws(() => early.nextSync(), coded(ErrorCode.CLOSED));
    await manager.close();
    await manager.close(); // idempotent

    assert.throws(() => log.appendSync(payloadFor(9, 9)), coded(ErrorCode.CLOSED));
    await rejectsWith(() => log.append(payloadFor(9, 9)), ErrorCode.CLOSED);
    // Issue 10: flush() after close resolved, although its TSDoc says AOF_ERR_CLOSED.
    await rejectsWith(() => log.flush(), ErrorCode.CLOSED);
    assert.throws(() => manager.flushSync(), coded(ErrorCode.CLOSED));
    await rejectsWith(() => manager.openStream('s'), ErrorCode.CLOSED);
    await rejectsWith(() => manager.openStream('other'), ErrorCode.CLOSED);
    await rejectsWith(() => manager.listStreams(), ErrorCode.CLOSED);
    assert.throws(() => log.openReader({ from: 0 }), coded(ErrorCode.CLOSED));
    assert.throws(() => reader.nextSync(), coded(ErrorCode.CLOSED));
    await rejectsWith(() => reader.next(), ErrorCode.CLOSED);
    assert.ok(!existsSync(join(root, 'streams', 'other')));

    state.manager = await AofManager.open({ root, tier0: TIER0, fsync: 'never' });
    await assertIntact(await state.manager.openStream('s'), expected);
  });
});

describe('reader options', () => {
  test('out-of-range, malformed and unknown options get their codes; the log is untouched', async (t) => {
    const { manager } = await openManager(t);
    const log = await manager.openStream('r');
    const expected = appendSome(log, 6);
    for (const from of [7, 100, Number.MAX_SAFE_INTEGER]) {
      assert.throws(
        () => log.openReader({ from }),
        (err: unknown) => coded(ErrorCode.OUT_OF_RANGE)(err) && (err as AofError).details?.['nextId'] === 6,
      );
    }
    // The read() iterator validates when called, not on the first next().
    assert.throws(() => log.read({ from: 7 }), coded(ErrorCode.OUT_OF_RANGE));
    for (const from of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '0', 2 ** 53]) {
      assert.throws(() => log.openReader({ from: from as number }), coded(ErrorCode.INVALID_ARGUMENT), String(from));
    }
    assert.throws(() => log.openReader(null as unknown as { from: number }), coded(ErrorCode.INVALID_ARGUMENT));
    assert.throws(
      () => log.openReader({ fromm: 0 } as unknown as { from: number }),
      (err: unknown) => coded(ErrorCode.UNKNOWN_OPTION)(err) && (err as AofError).details?.['option'] === 'fromm',
    );
    // Starting exactly at the tail is allowed: the reader is caught up and sees later appends.
    const tail = log.openReader({ from: 6 });
    assert.equal(tail.nextSync(), null);
    await assertIntact(log, expected);
    assert.deepEqual(tail.nextSync()?.payload, expected[6]);
    tail.close();
  });
});
