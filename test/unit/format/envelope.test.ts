/**
 * src/format/envelope.ts: the 64-byte header/footer envelope every format shares. The format
 * decoders' own tests cover each structure; this pins the shared rules once: the bytes, the order
 * of the checks, and which failure is which code.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { AofError, ErrorCode } from '../../../src/errors.js';
import {
  ENVELOPE_BYTES,
  ENVELOPE_CRC_OFFSET,
  ENVELOPE_LENGTH_OFFSET,
  ENVELOPE_VERSION_OFFSET,
  beginEnvelope,
  checkEnvelope,
  isEnvelope,
  sealEnvelope,
  type EnvelopeSpec,
} from '../../../src/format/envelope.js';

const SPEC: EnvelopeSpec = { magic: 'AOF2TST\0', version: 3, what: 'test header' };

/** An envelope at offset `off` of a larger buffer, with one field written. */
function image(off = 0): Uint8Array {
  const bytes = new Uint8Array(off + ENVELOPE_BYTES + 5).fill(0xcc);
  beginEnvelope(bytes, off, SPEC).setUint32(off + 12, 0xdeadbeef, true);
  assert.equal(sealEnvelope(bytes, off), off + ENVELOPE_BYTES);
  return bytes;
}

/** Sets a u16 and re-seals, so only the field under test is wrong. */
function resealed(field: number, value: number): Uint8Array {
  const bytes = image();
  new DataView(bytes.buffer).setUint16(field, value, true);
  sealEnvelope(bytes, 0);
  return bytes;
}

function throwsCode(bytes: Uint8Array, code: string, message: RegExp, off = 0): void {
  assert.throws(
    () => checkEnvelope(bytes, off, SPEC),
    (err: unknown) => err instanceof AofError && err.code === code && message.test(err.message),
  );
  assert.equal(isEnvelope(bytes, off, SPEC), false);
}

describe('64-byte envelope', () => {
  test('writes magic, version, length, zeroed fields and the CRC of bytes [0, 60); touches nothing else', () => {
    const bytes = image(8);
    const v = new DataView(bytes.buffer);
    assert.equal(Buffer.from(bytes.subarray(8, 16)).toString('latin1'), SPEC.magic);
    assert.equal(v.getUint16(8 + ENVELOPE_VERSION_OFFSET, true), 3);
    assert.equal(v.getUint16(8 + ENVELOPE_LENGTH_OFFSET, true), 64);
    assert.equal(v.getUint32(8 + 12, true), 0xdeadbeef);
    assert.ok(bytes.subarray(8 + 16, 8 + ENVELOPE_CRC_OFFSET).every((b) => b === 0), 'fields not written are zero');
    assert.equal(v.getUint32(8 + ENVELOPE_CRC_OFFSET, true), crc32(bytes.subarray(8, 8 + ENVELOPE_CRC_OFFSET)));
    assert.ok(bytes.subarray(0, 8).every((b) => b === 0xcc) && bytes.subarray(8 + 64).every((b) => b === 0xcc));
    assert.equal(checkEnvelope(bytes, 8, SPEC).getUint32(8 + 12, true), 0xdeadbeef);
    assert.ok(isEnvelope(bytes, 8, SPEC));
  });

  test('truncated, wrong magic, CRC, older version and declared length are AOF_ERR_CORRUPT; a newer version is AOF_ERR_INCOMPATIBLE', () => {
    throwsCode(image().subarray(0, 63), ErrorCode.CORRUPT, /test header truncated: expected 64 bytes, got 63/);
    throwsCode(image(), ErrorCode.CORRUPT, /truncated: expected 64 bytes, got 5/, 64);
    const magic = image();
    magic[3] = 0x58;
    sealEnvelope(magic, 0);
    throwsCode(magic, ErrorCode.CORRUPT, /wrong magic/);
    for (let i = 8; i < ENVELOPE_BYTES; i++) {
      const flipped = image();
      flipped[i] = flipped[i]! ^ 0x10;
      throwsCode(flipped, ErrorCode.CORRUPT, /CRC mismatch/);
    }
    throwsCode(resealed(ENVELOPE_VERSION_OFFSET, 4), ErrorCode.INCOMPATIBLE, /version 4 is newer than this aof2 understands \(3\)/);
    throwsCode(resealed(ENVELOPE_VERSION_OFFSET, 0), ErrorCode.CORRUPT, /version 0 is not supported/);
    throwsCode(resealed(ENVELOPE_VERSION_OFFSET, 2), ErrorCode.CORRUPT, /version 2 is not supported/);
    throwsCode(resealed(ENVELOPE_LENGTH_OFFSET, 128), ErrorCode.CORRUPT, /declares 128 bytes \(expected 64\)/);
  });

  test('the CRC is checked before the version: a flipped version bit is damage, never "newer"', () => {
    const bytes = image();
    new DataView(bytes.buffer).setUint16(ENVELOPE_VERSION_OFFSET, 4, true);
    throwsCode(bytes, ErrorCode.CORRUPT, /CRC mismatch/);
  });
});
