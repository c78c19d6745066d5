/**
 * The zstd codec behind Tier 1, in every implementation this runtime offers (the addon always;
 * zlib's from Node 22.15): the level reaches the compressor (the JS wrapper of @mongodb-js/zstd 1.2
 * would drop it), frames are independent, every kind of bad input is AOF_ERR_CORRUPT, never a
 * crash or wrong bytes, and a frame written by one implementation reads with the other. Then how
 * `tier1.codec` is resolved, and what a runtime without zlib's zstd says.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import { AUTO_ORDER, ZSTD_CODEC_ID, checkImplementation, loadZstd, offeredImplementations, resolveCodec, type ZstdImplementation } from '../../../src/codec/zstd.js';
import { resolveConfig } from '../../../src/config.js';
import { AofError, ErrorCode } from '../../../src/errors.js';
import { CODEC_ZSTD } from '../../../src/format/tier1.js';
import { seededRandom } from '../../../src/seeded-random.js';
import { sameBytes } from '../../../support/tmp.js';
import { jsonLikePayload } from '../../../support/tier1.js';

function jsonBlock(records: number): Uint8Array {
  const rand = seededRandom(5);
  const out = new Uint8Array(records * 1024);
  for (let i = 0; i < records; i++) out.set(jsonLikePayload(i, 1024, rand), i * 1024);
  return out;
}

/** zlib has zstd from Node 22.15 (and 23.8): checked here by version, independently of the code under test. */
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const ZLIB_HAS_ZSTD = major > 23 || (major === 23 && minor >= 8) || (major === 22 && minor >= 15);
const OFFERED = offeredImplementations();
const data = jsonBlock(256); // 256 KiB, one frame's worth

test('the implementations offered follow the runtime: zlib from Node 22.15, the addon everywhere', () => {
  assert.deepEqual(OFFERED, ZLIB_HAS_ZSTD ? ['zstd-addon', 'zstd-zlib'] : ['zstd-addon']);
  assert.equal(typeof (zlib as unknown as Record<string, unknown>)['zstdCompress'] === 'function', ZLIB_HAS_ZSTD);
});

for (const implementation of OFFERED) {
  describe(`zstd codec (${implementation})`, () => {
    const codec = loadZstd(implementation);

    test('is loaded once per thread, with the id the Tier 1 header stores', () => {
      assert.equal(loadZstd(implementation), codec);
      assert.equal(codec.implementation, implementation);
      assert.equal(codec.id, ZSTD_CODEC_ID);
      assert.equal(codec.id, CODEC_ZSTD);
    });

    test('round-trips, and the level reaches the compressor (higher level, smaller output)', async () => {
      const l1 = await codec.compress(data, 1);
      const l19 = await codec.compress(data, 19);
      assert.ok(l19.length < l1.length, `level 19 (${l19.length}) should beat level 1 (${l1.length})`);
      assert.ok(sameBytes(await codec.decompress(l1, data.length), data));
      assert.ok(sameBytes(await codec.decompress(l19, data.length), data));
    });

    test('compresses straight from SharedArrayBuffer memory and from subarrays', async () => {
      const sab = new SharedArrayBuffer(data.length + 100);
      new Uint8Array(sab, 100).set(data);
      const c = await codec.compress(new Uint8Array(sab, 100, data.length), 3);
      assert.ok(sameBytes(await codec.decompress(c, data.length), data));
      const part = await codec.compress(data.subarray(1000, 5000), 3);
      assert.ok(sameBytes(await codec.decompress(part, 4000), data.subarray(1000, 5000)));
    });

    test('frames are independent: each decodes alone', async () => {
      const a = await codec.compress(data.subarray(0, 1000), 3);
      const b = await codec.compress(data.subarray(1000, 3000), 3);
      assert.ok(sameBytes(await codec.decompress(b, 2000), data.subarray(1000, 3000)));
      assert.ok(sameBytes(await codec.decompress(a, 1000), data.subarray(0, 1000)));
      const empty = await codec.compress(new Uint8Array(0), 3);
      assert.equal((await codec.decompress(empty, 0)).length, 0);
    });

    test('levels outside [1, 22] and non-integers are AOF_ERR_INVALID_ARGUMENT (the addon would clamp silently)', async () => {
      for (const level of [0, -1, 23, 1.5, Number.NaN]) {
        await assert.rejects(codec.compress(data, level), { code: ErrorCode.INVALID_ARGUMENT });
      }
    });

    test('garbage, empty input, truncated frames and a wrong expected length are AOF_ERR_CORRUPT', async () => {
      const c = await codec.compress(data, 3);
      // Too short: the addon reports the actual length afterwards, zlib stops at its output bound.
      const short = implementation === 'zstd-addon' ? /decompressed to 262144 bytes, expected 262143/ : /does not decompress to 262143 bytes/;
      const cases: [Uint8Array, number, RegExp][] = [
        [new TextEncoder().encode('not zstd at all'), data.length, /does not decompress/],
        [new Uint8Array(0), 0, /does not decompress.*never empty/],
        // Node 22's zlib returns what it decoded of a truncated frame without an error (24 says
        // "unexpected end of file"): the length check catches it.
        [c.subarray(0, c.length - 7), data.length, /does not decompress|decompressed to \d+ bytes, expected 262144/],
        [c, data.length - 1, short],
        [c, data.length + 1, /decompressed to 262144 bytes, expected 262145/],
      ];
      for (const [input, expected, message] of cases) {
        await assert.rejects(codec.decompress(input, expected), (err: AofError) => {
          assert.ok(err instanceof AofError);
          assert.equal(err.code, ErrorCode.CORRUPT);
          assert.match(err.message, message);
          return true;
        });
      }
    });
  });
}

describe('zstd implementations are interchangeable', { skip: OFFERED.length < 2 ? 'zlib has no zstd on this runtime' : false }, () => {
  test('a frame written by either decodes with the other, at every level the engine uses', async () => {
    const pairs: [ZstdImplementation, ZstdImplementation][] = [
      ['zstd-addon', 'zstd-zlib'],
      ['zstd-zlib', 'zstd-addon'],
    ];
    for (const [writer, reader] of pairs) {
      for (const level of [1, 3, 9, 19]) {
        const frame = await loadZstd(writer).compress(data, level);
        assert.ok(sameBytes(await loadZstd(reader).decompress(frame, data.length), data), `${writer} level ${level} -> ${reader}`);
      }
    }
  });
});

describe('tier1.codec', () => {
  const root = '/tmp/aof2-config-never-created';

  test("'auto' is the first of AUTO_ORDER that works: the addon, which loads here (zlib's zstd only where it does not)", () => {
    assert.deepEqual(AUTO_ORDER, ['zstd-addon', 'zstd-zlib']);
    assert.equal(resolveCodec('auto'), 'zstd-addon');
    assert.equal(resolveCodec('auto', { probe: false }), 'zstd-addon');
    assert.equal(loadZstd().implementation, 'zstd-addon');
    assert.equal(resolveConfig({ root }).tier1.codec, 'zstd-addon');
    assert.equal(resolveConfig({ root, tier1: { codec: 'auto' } }).tier1.codec, 'zstd-addon');
    assert.equal(resolveConfig({ root, tier1: { enabled: false } }).tier1.codec, 'zstd-addon');
    // Where the addon cannot load: test/integration/tier1-codec.test.ts hides it from a child process.
  });

  test('an implementation asked for is the one used', () => {
    assert.equal(resolveConfig({ root, tier1: { codec: 'zstd-addon' } }).tier1.codec, 'zstd-addon');
    if (ZLIB_HAS_ZSTD) assert.equal(resolveConfig({ root, tier1: { codec: 'zstd-zlib' } }).tier1.codec, 'zstd-zlib');
  });

  test("'zstd-zlib' on a runtime without it is AOF_ERR_UNSUPPORTED_PLATFORM, naming the Node version", { skip: ZLIB_HAS_ZSTD ? 'this runtime has zlib zstd' : false }, () => {
    for (const attempt of [() => resolveConfig({ root, tier1: { codec: 'zstd-zlib' } }), () => loadZstd('zstd-zlib')]) {
      assert.throws(attempt, (err: unknown) => {
        assert.ok(err instanceof AofError);
        assert.equal(err.code, ErrorCode.UNSUPPORTED_PLATFORM);
        assert.match(err.message, /needs Node >= 22\.15.*this is Node v20/);
        return true;
      });
    }
  });

  test('anything else is AOF_ERR_INVALID_ARGUMENT naming the option; a task with a bad codec is refused too', () => {
    for (const bad of ['zstd', 'ZSTD-ZLIB', 1, null, true]) {
      assert.throws(() => resolveConfig({ root, tier1: { codec: bad } }), (err: unknown) => {
        assert.ok(err instanceof AofError);
        assert.equal(err.code, ErrorCode.INVALID_ARGUMENT);
        assert.match(err.message, /tier1\.codec must be 'auto', 'zstd-addon', 'zstd-zlib'/);
        return true;
      });
      assert.throws(() => checkImplementation(bad, 'compress task'), { code: ErrorCode.INVALID_ARGUMENT, message: /compress task: codec must be/ });
    }
    assert.throws(() => checkImplementation('auto', 'hydrate task'), { code: ErrorCode.INVALID_ARGUMENT }, "tasks carry a resolved implementation, never 'auto'");
  });
});
