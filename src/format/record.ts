/**
 * Record frame: the unit appended to a segment. The same bytes live in the arena slot and in the
 * segment file's data region, so flushing is a plain positional write of the slot.
 *
 * ```
 * offset  size  field
 * 0       4     payloadLength   u32 LE, bytes of payload (not counting padding)
 * 4       4     crc32           u32 LE, zlib.crc32 of bytes [8, 16 + payloadLength): timestamp + payload.
 *                               Written by the flush worker just before the bytes go to disk; 0 in
 *                               the arena until then (readers of the arena never look at it).
 * 8       8     timestamp       f64 LE, milliseconds since the Unix epoch
 * 16      n     payload
 * 16+n    p     zero padding to the next multiple of RECORD_ALIGN (8)
 * ```
 *
 * The alignment rule is the one rule used everywhere (writer, flusher, scanner, recovery):
 * every frame starts at a multiple of 8 from the start of the data region. {@link frameLength} is
 * the only place that computes it. (The original implementation padded on write and not on scan.)
 */
import { crc32 } from 'node:zlib';
import { AofError } from '../errors.js';

export const RECORD_ALIGN = 8;
export const RECORD_HEADER_BYTES = 16;
export const RECORD_LENGTH_OFFSET = 0;
export const RECORD_CRC_OFFSET = 4;
export const RECORD_TIMESTAMP_OFFSET = 8;
export const RECORD_PAYLOAD_OFFSET = 16;

/**
 * Bytes a record with `payloadLength` bytes of payload occupies, header and padding included.
 * Exact for every length up to 2^53: only the padding is computed with 32-bit bit operations
 * (`-n & 7` keeps the low bits right after ToInt32 wraps). Masking the whole sum instead wraps for
 * lengths >= 2^31 - 23, which a corrupt u32 length field or a 2 GiB payload reaches: the frame came
 * out 0 or negative, so scanFrames looped forever and append skipped its too-large check.
 */
export function frameLength(payloadLength: number): number {
  return RECORD_HEADER_BYTES + payloadLength + (-payloadLength & (RECORD_ALIGN - 1));
}

/** CRC of one frame as stored at RECORD_CRC_OFFSET: covers timestamp and payload. */
export function frameCrc(bytes: Uint8Array, frameOffset: number, payloadLength: number): number {
  return crc32(bytes.subarray(frameOffset + RECORD_TIMESTAMP_OFFSET, frameOffset + RECORD_PAYLOAD_OFFSET + payloadLength));
}

/** Result of {@link scanFrames}: how much of a data region holds valid frames. */
export interface ScanResult {
  /** Number of valid frames from the start. */
  count: number;
  /** Bytes covered by those frames (the next frame would start here). */
  validBytes: number;
  /** Smallest and largest timestamp seen (NaN when count is 0). */
  minTimestamp: number;
  maxTimestamp: number;
  /** Why the scan stopped before `end`, or null when every byte up to `end` was valid frames. */
  stopReason: string | null;
}

/**
 * Walks frames in `bytes[start, end)` checking length bounds and CRC, and stops at the first frame
 * that does not check out. Used at recovery to find the valid prefix of an unsealed (possibly torn)
 * tail. Never throws on bad data: a torn tail is expected after a crash.
 */
export function scanFrames(bytes: Uint8Array, start: number, end: number): ScanResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = start;
  let count = 0;
  let minTimestamp = Number.NaN;
  let maxTimestamp = Number.NaN;
  let stopReason: string | null = null;
  while (off < end) {
    if (end - off < RECORD_HEADER_BYTES) {
      stopReason = `partial header at ${off - start}`;
      break;
    }
    const len = view.getUint32(off + RECORD_LENGTH_OFFSET, true);
    const frame = frameLength(len);
    if (len === 0 && view.getUint32(off + RECORD_CRC_OFFSET, true) === 0 && view.getFloat64(off + RECORD_TIMESTAMP_OFFSET, true) === 0) {
      stopReason = `zero fill at ${off - start}`;
      break;
    }
    if (frame > end - off) {
      stopReason = `frame at ${off - start} claims ${len} payload bytes, past the end`;
      break;
    }
    const stored = view.getUint32(off + RECORD_CRC_OFFSET, true);
    if (stored !== frameCrc(bytes, off, len)) {
      stopReason = `crc mismatch at ${off - start}`;
      break;
    }
    const ts = view.getFloat64(off + RECORD_TIMESTAMP_OFFSET, true);
    if (count === 0 || ts < minTimestamp) minTimestamp = ts;
    if (count === 0 || ts > maxTimestamp) maxTimestamp = ts;
    count++;
    off += frame;
  }
  return { count, validBytes: off - start, minTimestamp, maxTimestamp, stopReason };
}

/**
 * Offset (relative to `start`) of the frame with index `index`, found by hopping over frame
 * lengths; the caller guarantees the region holds at least `index` valid frames.
 * @throws AOF_ERR_CORRUPT if a length points outside the region
 */
export function frameOffsetOf(bytes: Uint8Array, start: number, end: number, index: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = start;
  for (let i = 0; i < index; i++) {
    const len = view.getUint32(off + RECORD_LENGTH_OFFSET, true);
    off += frameLength(len);
    if (off > end) {
      throw AofError.corrupt(`frame ${i} runs past the end of the segment data`, { offset: off - start, index: i });
    }
  }
  return off - start;
}
