/**
 * One contract, two backends: the same suite runs against the local-directory store and against the
 * S3 store talking HTTP to a real moto server on loopback (or to `AOF2_TEST_S3_ENDPOINT`, see
 * support/s3-server.ts). Then what only one backend has: multipart uploads, the S3 key prefix,
 * and outages (a closed port, a frozen server, a dead one, a missing bucket) that must surface as
 * AOF_ERR_UNAVAILABLE within a bounded time and heal once the server is back.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AbortMultipartUploadCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { AofError, ErrorCode, type ErrorCodeValue } from '../../src/errors.js';
import { openObjectStore, type ObjectStore } from '../../src/tier2/object-store.js';
import { fsObjectPath } from '../../src/tier2/fs-store.js';
import { S3ObjectStore, type S3StoreConfig, type S3StoreOptions } from '../../src/tier2/s3-store.js';
import { freePort } from '../../support/free-port.js';
import { startS3Server, type S3TestServer } from '../../support/s3-server.js';
import { payloadFor, sameBytes, tempRoot } from '../../support/tmp.js';
import { Deadline } from '../../support/engine.js';
import { segmentKey } from '../../src/format/root-layout.js';

const MIB = 1024 * 1024;

function coded(code: ErrorCodeValue, storeCode?: string): (err: unknown) => true {
  return (err) => {
    assert.ok(err instanceof AofError, `expected AofError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (storeCode !== undefined) assert.equal(err.details?.['storeCode'], storeCode, err.message);
    return true;
  };
}

/** A listing without its change tags (compared separately: their values are the backend's). */
function keysAndSizes(listed: Array<{ key: string; size: number }>): Array<{ key: string; size: number }> {
  return listed.map((o) => ({ key: o.key, size: o.size }));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Backend {
  name: string;
  /** A fresh, empty store; closed by the suite. */
  open(label: string): Promise<ObjectStore>;
}

/** The contract of src/tier2/object-store.ts, for any backend. */
function contract(backend: Backend): void {
  const stores: ObjectStore[] = [];
  const open = async (label: string): Promise<ObjectStore> => {
    const store = await backend.open(label);
    stores.push(store);
    return store;
  };
  after(async () => {
    for (const store of stores) await store.close();
  });

  test('put/get round trip: empty, 1 byte, 1 MiB; size of each', async () => {
    const store = await open('roundtrip');
    const bodies = [new Uint8Array(0), payloadFor(1, 1), payloadFor(2, MIB)];
    for (const [i, body] of bodies.entries()) await store.put(`obj/${i}`, body);
    for (const [i, body] of bodies.entries()) {
      const got = await store.get(`obj/${i}`);
      assert.ok(got !== null, `obj/${i} is missing`);
      assert.ok(sameBytes(got, body), `obj/${i}: ${got.length} bytes back, ${body.length} put`);
      assert.equal(await store.size(`obj/${i}`), body.length);
    }
  });

  test('overwrite replaces the whole object (longer by shorter)', async () => {
    const store = await open('overwrite');
    await store.put('k', payloadFor(3, 4000));
    await store.put('k', payloadFor(4, 10));
    assert.ok(sameBytes((await store.get('k'))!, payloadFor(4, 10)));
    assert.equal(await store.size('k'), 10);
  });

  test('ranged get: middle, at the end, past the end clamped, empty', async () => {
    const store = await open('range');
    const body = payloadFor(5, 100_000);
    await store.put(segmentKey('s', 0), body);
    const key = segmentKey('s', 0);
    const cases: Array<[number, number, Uint8Array]> = [
      [1000, 5000, body.subarray(1000, 6000)], // middle
      [0, 1, body.subarray(0, 1)],
      [99_900, 100, body.subarray(99_900)], // exactly at the end
      [99_990, 100, body.subarray(99_990)], // runs past the end: clamped
      [100_000, 10, new Uint8Array(0)], // starts at the end
      [200_000, 10, new Uint8Array(0)], // starts past the end
      [500, 0, new Uint8Array(0)], // zero length
    ];
    for (const [offset, length, want] of cases) {
      const got = await store.get(key, { offset, length });
      assert.ok(got !== null, `range ${offset}+${length}`);
      assert.ok(sameBytes(got, want), `range ${offset}+${length}: ${got.length} bytes, want ${want.length}`);
    }
    await store.put('empty', new Uint8Array(0));
    assert.equal((await store.get('empty', { offset: 0, length: 10 }))?.length, 0);
  });

  test('get and size of a missing key resolve null, also with a range', async () => {
    const store = await open('missing');
    assert.equal(await store.get('nope/never'), null);
    assert.equal(await store.get('nope/never', { offset: 0, length: 10 }), null);
    assert.equal(await store.get('nope/never', { offset: 0, length: 0 }), null);
    assert.equal(await store.size('nope/never'), null);
  });

  test('delete is idempotent and leaves other keys alone', async () => {
    const store = await open('delete');
    await store.put('a/1', payloadFor(6, 100));
    await store.put('a/2', payloadFor(7, 100));
    await store.delete('a/1');
    assert.equal(await store.get('a/1'), null);
    assert.equal(await store.size('a/1'), null);
    await store.delete('a/1');
    await store.delete('never/was');
    assert.ok(sameBytes((await store.get('a/2'))!, payloadFor(7, 100)));
  });

  test('list: an object replaced by one of the same size gets a new etag (what a follower compares)', async () => {
    const store = await open('etag');
    await store.put('manifest/00000000000000000001.mlog', payloadFor(1, 64));
    const [first] = await store.list('manifest/');
    assert.equal(typeof first!.etag, 'string');
    assert.deepEqual(await store.list('manifest/'), [first], 'an unchanged object keeps its etag');
    await store.put('manifest/00000000000000000001.mlog', payloadFor(2, 64));
    const [second] = await store.list('manifest/');
    assert.equal(second!.size, 64);
    assert.notEqual(second!.etag, first!.etag, 'same key, same size, other bytes: another etag');
  });

  test('list: every key under a prefix, ascending, with sizes; nested; nothing else', async () => {
    const store = await open('list');
    const objects: Array<[string, number]> = [
      [segmentKey('a', 4096), 30],
      [segmentKey('a', 0), 10],
      [segmentKey('ab', 0), 20], // shares the string prefix "streams/a" but not "streams/a/"
      [segmentKey('b', 7), 40],
      ['manifest/00000000000000000001.mlog', 50],
      ['manifest/00000000000000000000.snap', 60],
      ['deep/x/y/z', 1],
    ];
    for (const [key, size] of objects) await store.put(key, payloadFor(size, size));
    const sorted = (keys: string[]): string[] => [...keys].sort();
    const under = (prefix: string): Array<{ key: string; size: number }> =>
      objects
        .filter(([key]) => key.startsWith(prefix))
        .map(([key, size]) => ({ key, size }))
        .sort((x, y) => (x.key < y.key ? -1 : 1));
    for (const prefix of ['streams/a/', 'streams/a', 'streams/', 'manifest/', 'deep/x/', 'deep/x/y/z', '', 'nothing/', 'streams/c/']) {
      const listed = await store.list(prefix);
      assert.deepEqual(keysAndSizes(listed), under(prefix), `list(${JSON.stringify(prefix)})`);
      assert.deepEqual(
        listed.map((o) => o.key),
        sorted(listed.map((o) => o.key)),
      );
    }
  });

  test('a 12 MiB object round-trips byte-identical (multipart on S3) and reads by range across parts', async () => {
    const store = await open('large');
    const body = payloadFor(8, 12 * MIB);
    await store.put('big', body);
    assert.equal(await store.size('big'), body.length);
    assert.ok(sameBytes((await store.get('big'))!, body));
    const across = { offset: 5 * MIB - 100, length: 200 }; // spans the boundary of parts 1 and 2
    assert.ok(sameBytes((await store.get('big', across))!, body.subarray(across.offset, across.offset + across.length)));
  });

  test('a malformed key is AOF_ERR_INVALID_ARGUMENT; a closed store is AOF_ERR_CLOSED', async () => {
    const store = await open('badkey');
    for (const key of ['', '/abs', 'a//b', 'a/../b', './a']) {
      await assert.rejects(store.put(key, new Uint8Array(1)), coded(ErrorCode.INVALID_ARGUMENT), key);
    }
    const closing = await backend.open('closed');
    await closing.put('k', new Uint8Array(1));
    await closing.close();
    await closing.close(); // idempotent
    if (closing instanceof S3ObjectStore) {
      await assert.rejects(closing.get('k'), coded(ErrorCode.CLOSED));
      await assert.rejects(closing.list(''), coded(ErrorCode.CLOSED));
    }
  });
}

describe('object store contract: fs', () => {
  const { root, cleanup } = tempRoot('aof2-t2-');
  after(cleanup);
  contract({ name: 'fs', open: (label) => openObjectStore({ kind: 'fs', root: join(root, label) }) });

  test('list ignores temp files of interrupted puts; a root that is a file is AOF_ERR_UNAVAILABLE', async () => {
    const dir = join(root, 'tmpfiles');
    const store = await openObjectStore({ kind: 'fs', root: dir });
    await store.put('streams/s/x.t1', payloadFor(9, 10));
    writeFileSync(`${fsObjectPath(dir, 'streams/s/x.t1')}.abc123.tmp`, 'partial');
    assert.deepEqual(keysAndSizes(await store.list('')), [{ key: 'streams/s/x.t1', size: 10 }]);
    mkdirSync(join(root, 'blocked'));
    writeFileSync(join(root, 'blocked', 'streams'), 'a file where a directory belongs');
    const blocked = await openObjectStore({ kind: 'fs', root: join(root, 'blocked') });
    await assert.rejects(blocked.put('streams/s/x.t1', new Uint8Array(1)), coded(ErrorCode.UNAVAILABLE));
  });
});

describe('object store contract: s3', () => {
  let server!: S3TestServer;
  let admin!: S3Client;
  // Small parts so the 12 MiB contract test goes multipart: 5 + 5 + 2 MiB.
  const tuned: S3StoreOptions = { multipartThresholdBytes: 5 * MIB, partBytes: 5 * MIB };
  const s3Stores: S3ObjectStore[] = [];
  const openS3 = async (config: S3StoreConfig, options: S3StoreOptions = {}): Promise<S3ObjectStore> => {
    const store = await S3ObjectStore.open(config, options);
    s3Stores.push(store);
    return store;
  };
  before(async () => {
    server = await startS3Server();
    admin = new S3Client({
      endpoint: server.endpoint,
      region: server.region,
      forcePathStyle: true,
      credentials: server.config('').credentials!,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });
  after(async () => {
    for (const store of s3Stores) await store.close();
    admin?.destroy();
    await server?.close();
  });

  contract({
    name: 's3',
    open: async (label) => (label === 'large' ? S3ObjectStore.open(server.config(label), tuned) : openObjectStore(server.config(label))),
  });

  test('the harness: moto answered, and figures for a 1 MiB object (diagnostic)', async (t) => {
    const store = await openS3(server.config('latency'));
    const body = payloadFor(10, MIB);
    const puts: number[] = [];
    const gets: number[] = [];
    for (let i = 0; i < 5; i++) {
      let t0 = performance.now();
      await store.put(`o/${i}`, body);
      puts.push(performance.now() - t0);
      t0 = performance.now();
      assert.ok(sameBytes((await store.get(`o/${i}`))!, body));
      gets.push(performance.now() - t0);
    }
    t.diagnostic(
      `moto startup ${server.startupMs.toFixed(0)} ms; 1 MiB put median ${median(puts).toFixed(1)} ms, get median ${median(gets).toFixed(1)} ms`,
    );
  });

  test('the harness: reset() empties the store and keeps the bucket usable', async () => {
    const store = await openS3(server.config('reset'));
    await store.put('k', payloadFor(16, 10));
    await server.reset();
    assert.deepEqual(await store.list(''), []);
    await store.put('k', payloadFor(16, 10));
    assert.equal(await store.size('k'), 10);
  });

  test('multipart really happens above the threshold (ETag "-3") and not below it', async () => {
    const store = await openS3(server.config('mpu'), tuned);
    await store.put('big', payloadFor(11, 12 * MIB));
    await store.put('small', payloadFor(12, 5 * MIB)); // at the threshold: one PUT
    const etag = async (key: string): Promise<string> =>
      (await admin.send(new HeadObjectCommand({ Bucket: server.bucket, Key: `${server.runPrefix}/mpu/${key}` }))).ETag ?? '';
    assert.match(await etag('big'), /-3"$/);
    assert.doesNotMatch(await etag('small'), /-\d+"$/);
    assert.ok(sameBytes((await store.get('big'))!, payloadFor(11, 12 * MIB)));
    await assert.rejects(S3ObjectStore.open(server.config('mpu'), { partBytes: MIB }), coded(ErrorCode.INVALID_ARGUMENT));
  });

  test('keys are <prefix>/<key> with exactly one slash, whatever slashes the prefix has', async () => {
    const base = server.config('slashes');
    for (const prefix of [`${base.prefix}`, `${base.prefix}/`, `/${base.prefix}//`]) {
      const store = await openS3({ ...base, prefix });
      await store.put('k/1', payloadFor(13, 3));
      assert.deepEqual(keysAndSizes(await store.list('')), [{ key: 'k/1', size: 3 }]);
      assert.equal(store.location, `s3://${server.bucket}/${base.prefix}`);
    }
    const raw = await admin.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: `${base.prefix}` }));
    assert.deepEqual(
      raw.Contents?.map((o) => o.Key),
      [`${base.prefix}/k/1`],
    );
    // A sibling prefix that extends this one as a string sees none of its objects.
    const sibling = await openS3(server.config('slashes2'));
    assert.deepEqual(await sibling.list(''), []);
  });

  test('a missing bucket is AOF_ERR_UNAVAILABLE (NoSuchBucket), never "no such object"', async () => {
    const store = await openS3({ ...server.config('nobucket'), bucket: 'aof2-no-such-bucket' });
    await assert.rejects(store.get('k'), coded(ErrorCode.UNAVAILABLE, 'NoSuchBucket'));
    await assert.rejects(store.get('k', { offset: 0, length: 0 }), coded(ErrorCode.UNAVAILABLE, 'NoSuchBucket'));
    await assert.rejects(store.size('k'), coded(ErrorCode.UNAVAILABLE, 'NoSuchBucket'));
    await assert.rejects(store.put('k', new Uint8Array(1)), coded(ErrorCode.UNAVAILABLE, 'NoSuchBucket'));
    await assert.rejects(store.list(''), coded(ErrorCode.UNAVAILABLE, 'NoSuchBucket'));
  });

  test('a closed port fails every call with AOF_ERR_UNAVAILABLE (ECONNREFUSED) within a second', async () => {
    const port = await freePort();
    const store = await openS3({ ...server.config('refused'), endpoint: `http://127.0.0.1:${port}` });
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['put', () => store.put('k', new Uint8Array(10))],
      ['get', () => store.get('k')],
      ['size', () => store.size('k')],
      ['list', () => store.list('')],
      ['delete', () => store.delete('k')],
    ];
    for (const [name, call] of calls) {
      const t0 = performance.now();
      await assert.rejects(call(), (err: unknown) => {
        coded(ErrorCode.UNAVAILABLE, 'ECONNREFUSED')(err);
        assert.equal((err as AofError).details?.['key'], name === 'list' ? '' : 'k');
        return true;
      });
      const ms = performance.now() - t0;
      assert.ok(ms < 1000, `${name} took ${ms.toFixed(0)} ms`);
    }
  });

  test('a frozen server (SIGSTOP) fails a call within maxAttempts x requestTimeoutMs; the store works once it thaws', async (t) => {
    if (!server.controllable) return t.skip(server.skipReason ?? '');
    const requestTimeoutMs = 400;
    const store = await openS3(server.config('paused'), { requestTimeoutMs, maxAttempts: 2 });
    await store.put('k', payloadFor(14, 1000));
    server.pause();
    let ms: number;
    try {
      const t0 = performance.now();
      await assert.rejects(store.get('k'), coded(ErrorCode.UNAVAILABLE, 'TimeoutError'));
      ms = performance.now() - t0;
    } finally {
      server.resume();
    }
    t.diagnostic(`frozen server: get failed after ${ms.toFixed(0)} ms (requestTimeoutMs ${requestTimeoutMs}, 2 attempts)`);
    assert.ok(ms >= requestTimeoutMs, `failed after ${ms.toFixed(0)} ms, before the timeout`);
    assert.ok(ms < 2 * requestTimeoutMs + 1000, `failed after ${ms.toFixed(0)} ms`);
    assert.ok(sameBytes((await store.get('k'))!, payloadFor(14, 1000)));
  });

  test('a multipart upload whose part fails stops, rejects with the part\'s error and leaves no object', async () => {
    // One part at a time, so parts are still pending when the upload disappears under it.
    const store = await openS3(server.config('mpu-abort'), { ...tuned, partConcurrency: 1 });
    const listUploads = async (): Promise<Array<{ Key?: string | undefined; UploadId?: string | undefined }>> =>
      (await admin.send(new ListMultipartUploadsCommand({ Bucket: server.bucket, Prefix: `${server.runPrefix}/mpu-abort/` }))).Uploads ?? [];
    const putting = store.put('big', payloadFor(17, 25 * MIB)).then(
      () => null,
      (err: unknown) => err,
    );
    let uploads = await listUploads();
    const d = new Deadline('the multipart upload to appear in the listing', 20_000);
    while (uploads.length === 0) {
      d.check();
      uploads = await listUploads();
    }
    // Another party aborts the upload (as a lifecycle rule would): the next part gets NoSuchUpload.
    await admin.send(new AbortMultipartUploadCommand({ Bucket: server.bucket, Key: uploads[0]!.Key!, UploadId: uploads[0]!.UploadId! }));
    const err = await putting;
    coded(ErrorCode.UNAVAILABLE)(err);
    // S3 says NoSuchUpload; moto 5.2 answers a bare HTTP 500 page.
    assert.match(String((err as AofError).details?.['storeCode']), /^(NoSuchUpload|HTTP_500)$/);
    assert.equal((err as AofError).details?.['key'], 'big');
    assert.deepEqual(await listUploads(), []);
    assert.equal(await store.get('big'), null);
  });

  test('a killed server is AOF_ERR_UNAVAILABLE; restarted, it answers again (empty: moto keeps nothing)', async (t) => {
    if (!server.controllable) return t.skip(server.skipReason ?? '');
    const store = await openS3(server.config('restart'));
    await store.put('k', payloadFor(15, 100));
    await server.stop();
    await assert.rejects(store.put('k', payloadFor(15, 100)), coded(ErrorCode.UNAVAILABLE, 'ECONNREFUSED'));
    await server.start();
    assert.equal(await store.get('k'), null);
    await store.put('k', payloadFor(15, 100));
    assert.ok(sameBytes((await store.get('k'))!, payloadFor(15, 100)));
  });
});
