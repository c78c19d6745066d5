/**
 * The zstd codec behind Tier 1: the level reaches the native binding (the JS wrapper of
 * @mongodb-js/zstd 1.2 would drop it), frames are independent, and every kind of bad input is
 * AOF_ERR_CORRUPT, never a crash or wrong bytes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ZSTD_CODEC_ID, loadZstd } from '../../../src/codec/zstd.js';
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

describe('zstd codec', () => {
  const codec = loadZstd();
  const data = jsonBlock(256); // 256 KiB, one frame's worth

  test('is loaded once, with the id the Tier 1 header stores', () => {
    assert.equal(loadZstd(), codec);
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

  test('levels outside [1, 22] and non-integers are AOF_ERR_INVALID_ARGUMENT (the binding would clamp silently)', async () => {
    for (const level of [0, -1, 23, 1.5, Number.NaN]) {
      await assert.rejects(codec.compress(data, level), { code: ErrorCode.INVALID_ARGUMENT });
    }
  });

  test('garbage, truncated frames and a wrong expected length are AOF_ERR_CORRUPT', async () => {
    const c = await codec.compress(data, 3);
    const cases: [Uint8Array, number, RegExp][] = [
      [new TextEncoder().encode('not zstd at all'), data.length, /does not decompress/],
      [new Uint8Array(0), 0, /does not decompress/],
      [c.subarray(0, c.length - 7), data.length, /does not decompress/],
      [c, data.length - 1, /decompressed to 262144 bytes, expected 262143/],
      [c, data.length + 1, /expected 262145/],
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
