/**
 * The upload task module through a real piscina pool over the compiled worker, against the real
 * local-directory store in a temp dir: round trip, idempotence, refusal of damaged local files
 * (nothing uploaded), store failures, a store that loses bytes, the `upload` failpoints
 * (AOF2_FAILPOINTS in the pool's env) and the per-thread store cache.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Piscina } from 'piscina';
import { AofError, ErrorCode } from '../../src/errors.js';
import { TIER1_HEADER_BYTES, TIER1_FOOTER_BYTES } from '../../src/format/tier1.js';
import { recordedIndexOf } from '../../src/format/recorded-index.js';
import { FsObjectStore, fsObjectPath } from '../../src/tier2/fs-store.js';
import { type ObjectStore, type Tier2StoreConfig } from '../../src/tier2/object-store.js';
import { canonicalJson, openStoreCount, storeFor } from '../../workers/store-cache.js';
import type { UploadResult, UploadTask } from '../../workers/tier2-protocol.js';
import { uploadObject } from '../../workers/upload.js';
import { sameBytes, tempRoot } from '../../support/tmp.js';
import { envWith, jsonRecords, rebuilt, tier1Pool } from '../../support/tier1.js';
import { DelegatingStore, UPLOAD_WORKER, filesUnder, writeTier1, type Tier1File } from '../../support/tier2.js';
import { segmentKey } from '../../src/format/root-layout.js';

let root: string;
let cleanup: () => void;
let local: string;
let storeRoot: string;
let config: Tier2StoreConfig;
let pool: Piscina;
let seg: Tier1File;
let seg2: Tier1File;

before(async () => {
  ({ root, cleanup } = tempRoot('aof2-upload-'));
  local = join(root, 'local');
  storeRoot = join(root, 'store');
  mkdirSync(local);
  config = { kind: 'fs', root: storeRoot };
  seg = await writeTier1(join(local, 'a.t1'), 0, jsonRecords(600, 900, 21), 32 * 1024);
  seg2 = await writeTier1(join(local, 'b.t1'), 600, jsonRecords(50, 300, 22), 4 * 1024);
  pool = tier1Pool(UPLOAD_WORKER, envWith({}));
});
after(async () => {
  await pool.destroy();
  cleanup();
});


function task(file: Tier1File, key: string, over: Partial<UploadTask> = {}): UploadTask {
  return { store: config, path: file.path, key, expectedBytes: file.bytes.length, ...over };
}

/** What an upload of `file` answers: its size, and its frame index in the form the manifest records. */
function uploaded(file: Tier1File): UploadResult {
  return { objectBytes: file.bytes.length, frameIndex: recordedIndexOf(file.result.index) };
}

function objectBytes(key: string): Uint8Array {
  return new Uint8Array(readFileSync(fsObjectPath(storeRoot, key)));
}

describe('upload worker', () => {
  test('uploads a .t1 file byte for byte under its key and confirms its size', async () => {
    const key = segmentKey('orders', 0);
    const res = await rebuilt(pool.run(task(seg, key)) as Promise<UploadResult>);
    assert.deepEqual(res, uploaded(seg));
    assert.ok(seg.result.frameCount > 5, `several frames: ${seg.result.frameCount}`);
    assert.ok(sameBytes(objectBytes(key), seg.bytes), 'the object equals the local file');
    const store = await FsObjectStore.open(storeRoot);
    assert.deepEqual((await store.list('streams/orders/')).map((o) => ({ key: o.key, size: o.size })), [{ key, size: seg.bytes.length }]);
    assert.deepEqual(filesUnder(storeRoot), [key], 'no temp file left');
  });

  test('idempotent: duplicated and repeated uploads of one key leave one identical object', async () => {
    const key = segmentKey('dup', 600);
    const results = await Promise.all([1, 2, 3].map(() => rebuilt(pool.run(task(seg2, key)) as Promise<UploadResult>)));
    assert.deepEqual(results, [1, 2, 3].map(() => uploaded(seg2)));
    await rebuilt(pool.run(task(seg2, key)));
    assert.ok(sameBytes(objectBytes(key), seg2.bytes));
    assert.deepEqual(
      filesUnder(storeRoot).filter((f) => f.startsWith('streams/dup/')),
      [key],
    );
  });

  test('a local file of another length than the catalog says is AOF_ERR_CORRUPT (details.path); nothing uploaded', async () => {
    const key = segmentKey('length', 0);
    for (const expectedBytes of [seg.bytes.length - 1, seg.bytes.length + 8]) {
      await assert.rejects(rebuilt(pool.run(task(seg, key, { expectedBytes }))), (err: AofError) => {
        assert.equal(err.code, ErrorCode.CORRUPT);
        assert.equal(err.details?.['path'], seg.path);
        assert.deepEqual([err.details?.['expected'], err.details?.['actual']], [expectedBytes, seg.bytes.length]);
        return true;
      });
    }
    assert.deepEqual(filesUnder(join(storeRoot, 'streams', 'length')), []);
  });

  test('a damaged local file (header, index, footer, truncation) is refused with AOF_ERR_CORRUPT; nothing uploaded', async () => {
    const { bytes, result } = seg;
    const indexOffset = bytes.length - TIER1_FOOTER_BYTES - result.frameCount * 32;
    const cases: [string, Uint8Array][] = [];
    for (const [name, at] of [
      ['header', 20],
      ['index', indexOffset + 40],
      ['footer', bytes.length - 30],
    ] as const) {
      const damaged = new Uint8Array(bytes);
      damaged[at] = damaged[at]! ^ 0x01;
      cases.push([name, damaged]);
    }
    cases.push(['truncated', bytes.subarray(0, bytes.length - 32)]);
    cases.push(['header only', bytes.subarray(0, TIER1_HEADER_BYTES + TIER1_FOOTER_BYTES)]);
    for (const [name, damaged] of cases) {
      const path = join(local, `damaged-${name}.t1`);
      writeFileSync(path, damaged);
      const key = segmentKey('damaged', 0);
      // expectedBytes matches the damaged file, so only the decode checks can refuse it.
      await assert.rejects(rebuilt(pool.run({ store: config, path, key, expectedBytes: damaged.length } satisfies UploadTask)), (err: AofError) => {
        assert.equal(err.code, ErrorCode.CORRUPT, `${name}: ${err.message}`);
        assert.equal(err.details?.['path'], path, name);
        return true;
      });
    }
    assert.deepEqual(filesUnder(join(storeRoot, 'streams', 'damaged')), [], 'never upload damage');
  });

  test('a segment key naming another segment is AOF_ERR_INVALID_ARGUMENT; a missing local file is AOF_ERR_IO', async () => {
    await assert.rejects(rebuilt(pool.run(task(seg2, segmentKey('wrong', 0)))), (err: AofError) => {
      assert.equal(err.code, ErrorCode.INVALID_ARGUMENT);
      assert.match(err.message, /holds segment 600/);
      return true;
    });
    assert.deepEqual(filesUnder(join(storeRoot, 'streams', 'wrong')), []);
    await assert.rejects(rebuilt(pool.run(task(seg, segmentKey('gone', 0), { path: join(local, 'nope.t1') }))), (err: AofError) => {
      assert.equal(err.code, ErrorCode.IO);
      assert.equal(err.details?.['errno'], 'ENOENT');
      return true;
    });
    await assert.rejects(rebuilt(pool.run(task(seg, segmentKey('bad', 0), { expectedBytes: 3 }))), { code: ErrorCode.INVALID_ARGUMENT });
  });

  test('a store that cannot take the object rejects with AOF_ERR_UNAVAILABLE naming the key', async () => {
    // The store's directory for this stream is a regular file: every put into it fails (ENOTDIR).
    const blocked = join(root, 'blocked-store');
    mkdirSync(join(blocked, 'streams'), { recursive: true });
    writeFileSync(join(blocked, 'streams', 'x'), 'not a directory');
    const key = segmentKey('x', 0);
    await assert.rejects(rebuilt(pool.run(task(seg, key, { store: { kind: 'fs', root: blocked } }))), (err: AofError) => {
      assert.equal(err.code, ErrorCode.UNAVAILABLE);
      assert.equal(err.details?.['key'], key);
      return true;
    });
    assert.deepEqual(filesUnder(blocked), ['streams/x']);
  });
});

/**
 * A fault-injecting wrapper over the real fs store (not a mock: every byte still goes through it):
 * it acknowledges puts but keeps them short, or drops them, as a broken backend could.
 */
class LossyStore extends DelegatingStore {
  constructor(
    inner: ObjectStore,
    private readonly mode: 'short' | 'drop',
  ) {
    super(inner);
  }
  override put(key: string, body: Uint8Array): Promise<void> {
    return this.mode === 'drop' ? Promise.resolve() : this.inner.put(key, body.subarray(0, body.length - 8));
  }
}

describe('upload confirmation', () => {
  test('a store that keeps a put short or drops it does not confirm: AOF_ERR_UNAVAILABLE (SIZE_MISMATCH)', async () => {
    const inner = await FsObjectStore.open(join(root, 'lossy-store'));
    for (const mode of ['short', 'drop'] as const) {
      const key = segmentKey(`lossy-${mode}`, 0);
      await assert.rejects(uploadObject(task(seg, key), new LossyStore(inner, mode)), (err: AofError) => {
        assert.equal(err.code, ErrorCode.UNAVAILABLE);
        assert.equal(err.details?.['storeCode'], 'SIZE_MISMATCH');
        assert.equal(err.details?.['key'], key);
        assert.equal(err.details?.['objectBytes'], mode === 'short' ? seg.bytes.length - 8 : null);
        return true;
      });
    }
    // The honest store confirms the same task.
    assert.deepEqual(await uploadObject(task(seg, segmentKey('lossy-short', 0)), inner), uploaded(seg));
  });
});

describe('upload failpoints (AOF2_FAILPOINTS in the pool env)', () => {
  test('upload.error=1: AOF_ERR_INJECTED after the put; the object is complete or absent, never partial; a retry confirms it', async (t) => {
    const failing = tier1Pool(UPLOAD_WORKER, envWith({ AOF2_FAILPOINTS: 'upload.error=1', AOF2_FAILPOINTS_SEED: '9' }), 1);
    t.after(() => failing.destroy());
    const key = segmentKey('fp-error', 0);
    for (let i = 0; i < 3; i++) {
      await assert.rejects(rebuilt(failing.run(task(seg, key))), (err: AofError) => {
        assert.equal(err.code, ErrorCode.INJECTED);
        assert.deepEqual([err.details?.['job'], err.details?.['kind'], err.details?.['where'], err.details?.['seed']], ['upload', 'error', 'after-put', 9]);
        return true;
      });
      // Injected after an atomic put: whatever is at the key is the whole file.
      assert.ok(sameBytes(objectBytes(key), seg.bytes));
    }
    assert.equal(failing.threads.length, 1, 'an error is not a crash: one worker served all three');
    assert.deepEqual(await rebuilt(pool.run(task(seg, key)) as Promise<UploadResult>), uploaded(seg));
    assert.deepEqual(
      filesUnder(storeRoot).filter((f) => f.startsWith('streams/fp-error/')),
      [key],
      'one object, no temp files',
    );
  });

  test('upload.crash=1: the worker dies (AOF_ERR_WORKER_FAILED), a new one replaces it; no partial object; a retry confirms', async (t) => {
    const crashing = tier1Pool(UPLOAD_WORKER, envWith({ AOF2_FAILPOINTS: 'upload.crash=1', AOF2_FAILPOINTS_SEED: '9' }), 1);
    t.after(() => crashing.destroy());
    const key = segmentKey('fp-crash', 600);
    const threadIds: number[] = [];
    for (let i = 0; i < 2; i++) {
      await assert.rejects(rebuilt(crashing.run(task(seg2, key))), { code: ErrorCode.WORKER_FAILED });
      assert.ok(sameBytes(objectBytes(key), seg2.bytes), 'complete object (the crash came after the atomic put)');
      threadIds.push(...crashing.threads.map((w) => w.threadId));
    }
    assert.equal(new Set(threadIds).size, 2, `a fresh worker after each crash: ${threadIds.join(', ')}`);
    assert.deepEqual(await rebuilt(pool.run(task(seg2, key)) as Promise<UploadResult>), uploaded(seg2));
    assert.ok(sameBytes(objectBytes(key), seg2.bytes));
    assert.deepEqual(
      filesUnder(storeRoot).filter((f) => f.startsWith('streams/fp-crash/')),
      [key],
    );
  });
});

describe('per-thread store cache', () => {
  test('one store per distinct config (key order does not matter)', async () => {
    const before = openStoreCount();
    const a = await storeFor({ kind: 'fs', root: join(root, 'cache-a') });
    const a2 = await storeFor(JSON.parse('{"root":' + JSON.stringify(join(root, 'cache-a')) + ',"kind":"fs"}') as Tier2StoreConfig);
    const b = await storeFor({ kind: 'fs', root: join(root, 'cache-b') });
    assert.equal(a, a2);
    assert.notEqual(a, b);
    assert.equal(openStoreCount(), before + 2);
    assert.equal(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 0 }] } }), '{"a":{"c":[3,{"e":0,"f":1}],"d":2},"b":1}');
  });
});
