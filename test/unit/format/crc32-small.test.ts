import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { SMALL_CRC_MAX_BYTES, crc32Small } from '../../../src/format/crc32-small.js';
import { seededRandom } from '../../../src/seeded-random.js';

test('crc32Small equals zlib.crc32 for every length up to past the threshold, at every alignment', () => {
  const rnd = seededRandom(12);
  const bytes = new Uint8Array(new SharedArrayBuffer(4096));
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rnd() * 256);
  for (let len = 0; len <= SMALL_CRC_MAX_BYTES + 64; len++) {
    for (let start = 0; start < 9; start++) {
      assert.equal(crc32Small(bytes, start, start + len), crc32(bytes.subarray(start, start + len)), `len ${len} start ${start}`);
    }
  }
});

test('crc32Small of the standard check string and of all-ones bytes', () => {
  assert.equal(crc32Small(new TextEncoder().encode('123456789'), 0, 9), 0xcbf43926);
  const ones = new Uint8Array(64).fill(0xff);
  assert.equal(crc32Small(ones, 0, 64), crc32(ones));
});
