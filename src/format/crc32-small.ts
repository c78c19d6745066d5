/**
 * CRC-32 (the zlib polynomial, the same value as `zlib.crc32`) of a short byte range, in
 * JavaScript, for the per-record CRC of small frames.
 *
 * Why not `zlib.crc32` for everything: every frame's CRC covers its own bytes, so the flush worker
 * computes one per record. `zlib.crc32` needs a view of exactly those bytes, so each call costs a
 * `subarray` (an allocation) plus a call into C++; at ~190 B that is about 1 µs per record on the
 * project's VMs, measured in a worker waking every 10 ms as the flush worker does at low rates.
 * This table-driven loop (slicing by 8, 8 KiB of tables) reads the shared bytes in place: about
 * 0.44 µs at 188 B, but 2.4 µs at 1 KiB where zlib (SIMD) takes 1.2 µs. So it is used only for
 * ranges up to {@link SMALL_CRC_MAX_BYTES}; callers fall back to zlib above that.
 * (docs/decisions.md, "Per-record CRC of small frames in JavaScript".)
 */

/** Up to this many bytes the loop below beats a `subarray` + `zlib.crc32` call (measured crossover ~400 B). */
export const SMALL_CRC_MAX_BYTES = 320;

/** Table k (k = 0..7) at [k * 256, k * 256 + 256): CRC of byte n followed by k zero bytes. */
const TABLES = buildTables();

function buildTables(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(k - 1) * 256 + n]!;
      t[k * 256 + n] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
}

/** `zlib.crc32(bytes.subarray(start, end))`, computed in place (no view is made). */
export function crc32Small(bytes: Uint8Array, start: number, end: number): number {
  const t = TABLES;
  let crc = -1;
  let i = start;
  for (; end - i >= 8; i += 8) {
    const a = crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    crc =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + bytes[i + 4]!]! ^
      t[512 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
  }
  for (; i < end; i++) crc = t[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
