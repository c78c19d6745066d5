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
import { SMALL_CRC_MAX_BYTES, crc32Small } from './crc32-small.js';
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

/**
 * Writes one frame into the arena (the append hot path, src/log.ts): payload length, a zero CRC
 * (the flush worker fills it in), the timestamp and the payload, and zeroes the padding.
 *
 * Hot-path contract: no allocation and no DataView. `u8`, `u32` and `f64` are the caller's
 * preallocated views over the same buffer starting at the same byte, `at` is a byte offset in
 * them and a multiple of 8 (every frame starts 8-aligned: the alignment rule), and `frame` is
 * `frameLength(payload.length)`, which the caller already computed for its capacity check. Small
 * and monomorphic so V8 inlines it into the caller (measured: native-free-bench append-sync).
 *
 * Little-endian by construction: typed arrays use the platform's byte order, and aof2 runs only
 * on little-endian hosts (every platform Node supports today); the DataView-based readers below
 * spell the order out.
 */
export function encodeFrameInto(u8: Uint8Array, u32: Uint32Array, f64: Float64Array, at: number, frame: number, payload: Uint8Array, timestamp: number): void {
  // The frame's last 8-byte word first: it holds the padding, which must not carry stale bytes of
  // an older segment from a reused slot onto disk (header or payload overwrite their part of it).
  f64[(at + frame - RECORD_ALIGN) >>> 3] = 0;
  u32[(at + RECORD_LENGTH_OFFSET) >>> 2] = payload.length;
  u32[(at + RECORD_CRC_OFFSET) >>> 2] = 0;
  f64[(at + RECORD_TIMESTAMP_OFFSET) >>> 3] = timestamp;
  u8.set(payload, at + RECORD_PAYLOAD_OFFSET);
}

/** Payload length of the frame at 8-aligned byte offset `at` of word views (see {@link encodeFrameInto}). */
export function framePayloadLengthAt(u32: Uint32Array, at: number): number {
  return u32[(at + RECORD_LENGTH_OFFSET) >>> 2]!;
}

/** Timestamp of the frame at 8-aligned byte offset `at` of word views. */
export function frameTimestampAt(f64: Float64Array, at: number): number {
  return f64[(at + RECORD_TIMESTAMP_OFFSET) >>> 3]!;
}

/** Payload length of the frame at `off` (any alignment), read little-endian. */
export function readFramePayloadLength(view: DataView, off: number): number {
  return view.getUint32(off + RECORD_LENGTH_OFFSET, true);
}

/** Timestamp of the frame at `off`, read little-endian. */
export function readFrameTimestamp(view: DataView, off: number): number {
  return view.getFloat64(off + RECORD_TIMESTAMP_OFFSET, true);
}

/** Offset of the frame after the one at `off` (its length field trusted: validate with {@link scanFrames} first). */
export function nextFrameOffset(view: DataView, off: number): number {
  return off + frameLength(view.getUint32(off + RECORD_LENGTH_OFFSET, true));
}

/** Computes the frame's CRC and stores it at RECORD_CRC_OFFSET (the flush worker, before the bytes go to disk); returns it. */
export function sealFrameCrc(bytes: Uint8Array, view: DataView, off: number, payloadLength: number): number {
  const crc = frameCrc(bytes, off, payloadLength);
  view.setUint32(off + RECORD_CRC_OFFSET, crc, true);
  return crc;
}

/**
 * Writes a whole frame, CRC included, at `bytes[off, ...)` and returns the offset after it. Not
 * for the hot path (a DataView per call): for tests, fixtures and benchmarks that build segment
 * images without the engine.
 */
export function encodeFrame(bytes: Uint8Array, off: number, payload: Uint8Array, timestamp: number): number {
  const frame = frameLength(payload.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  bytes.fill(0, off + RECORD_PAYLOAD_OFFSET + payload.length, off + frame);
  view.setUint32(off + RECORD_LENGTH_OFFSET, payload.length, true);
  view.setFloat64(off + RECORD_TIMESTAMP_OFFSET, timestamp, true);
  bytes.set(payload, off + RECORD_PAYLOAD_OFFSET);
  sealFrameCrc(bytes, view, off, payload.length);
  return off + frame;
}

/** One decoded frame: `payload` is a view into the decoded bytes (valid while they are), not a copy. */
export interface DecodedFrame {
  timestamp: number;
  payload: Uint8Array;
  /** Offset of the next frame. */
  next: number;
}

/** Reads the frame at `off` without checking its CRC (for data already validated, e.g. by {@link scanFrames}). */
export function decodeFrame(bytes: Uint8Array, off: number): DecodedFrame {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = readFramePayloadLength(view, off);
  return {
    timestamp: readFrameTimestamp(view, off),
    payload: bytes.subarray(off + RECORD_PAYLOAD_OFFSET, off + RECORD_PAYLOAD_OFFSET + len),
    next: off + frameLength(len),
  };
}

/**
 * CRC of one frame as stored at RECORD_CRC_OFFSET: covers timestamp and payload. Small frames (the
 * common case: one per record, written by the flush worker) in place in JavaScript, larger ones
 * through zlib (src/format/crc32-small.ts says why and where the two cross).
 */
export function frameCrc(bytes: Uint8Array, frameOffset: number, payloadLength: number): number {
  const start = frameOffset + RECORD_TIMESTAMP_OFFSET;
  const end = frameOffset + RECORD_PAYLOAD_OFFSET + payloadLength;
  return end - start <= SMALL_CRC_MAX_BYTES ? crc32Small(bytes, start, end) : crc32(bytes.subarray(start, end));
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

/**
 * Pre-filter of {@link findFrame}. The engine stamps every record with `Date.now()`: an integer
 * number of milliseconds between 0 and the largest Date (8.64e15). Eight random bytes pass that
 * test with a probability of about 2^-12, and a length that fits the region with about
 * region / 2^32: together they leave the CRC to check at a tiny share of the offsets of a garbage
 * tail, so the search stays linear. Zero fill is rejected without a CRC.
 */
const MAX_DATE_MS = 8.64e15;

function isPlausibleFrame(view: DataView, off: number, end: number): boolean {
  const len = view.getUint32(off + RECORD_LENGTH_OFFSET, true);
  if (frameLength(len) > end - off) return false;
  const ts = view.getFloat64(off + RECORD_TIMESTAMP_OFFSET, true);
  // A zeroed header (len 0, crc 0, ts 0) is zero fill, never a frame.
  if (ts === 0 && len === 0 && view.getUint32(off + RECORD_CRC_OFFSET, true) === 0) return false;
  return Number.isInteger(ts) && ts >= 0 && ts <= MAX_DATE_MS;
}

/**
 * Offset (relative to `start`) of the first valid frame at an 8-aligned offset in
 * `bytes[start + from, end)`, or -1. Valid means what {@link scanFrames} accepts: its length fits
 * and its CRC matches; candidates are pre-filtered (plausible timestamp, length that fits) so only
 * a few CRCs are computed over a garbage tail.
 */
export function findFrame(bytes: Uint8Array, start: number, end: number, from: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = start + from + (-from & (RECORD_ALIGN - 1));
  for (let off = first; end - off >= RECORD_HEADER_BYTES; off += RECORD_ALIGN) {
    if (!isPlausibleFrame(view, off, end)) continue;
    const len = view.getUint32(off + RECORD_LENGTH_OFFSET, true);
    if (view.getUint32(off + RECORD_CRC_OFFSET, true) === frameCrc(bytes, off, len)) return off - start;
  }
  return -1;
}

/** Where the valid prefix of an unsealed data region stops for a reason other than a torn tail. */
export interface FrameDamage {
  /** Offset (relative to the region start) of the first frame that does not check out. */
  badOffset: number;
  /**
   * Offset of the first valid frame after it, or -1 when the damage is detected only because it
   * lies below `durableBytes` (nothing valid follows).
   */
  nextValidOffset: number;
  /** Valid frames from `nextValidOffset` to the end, resynchronising past further bad stretches. */
  validFramesAfter: number;
  /**
   * Records lost if the region is cut at `badOffset`, when that is exact: the bad stretches each
   * hold exactly one frame of the length its header claims. null when a damaged length field makes
   * the count unknowable (then at least `1 + validFramesAfter`).
   */
  droppedRecords: number | null;
  /** `durableBytes` the inspection was given (0: unknown). */
  durableBytes: number;
}

/** Result of {@link inspectFrames}: the valid prefix, and whether what follows is a torn tail or damage. */
export interface FrameInspection extends ScanResult {
  /** Bytes past the valid prefix (0 when the region is all valid frames). */
  tailBytes: number;
  /** null: clean or a torn tail, safe to cut at `validBytes`; else the damage that forbids it. */
  damage: FrameDamage | null;
}

/**
 * The one rule that tells a torn tail from damage in an unsealed data region `bytes[start, end)`
 * (used by recovery, `aof2-admin verify`, `aof2-admin repair` and the corruption fuzz):
 *
 * - torn tail: past the last valid frame there is less than a frame header, or zeros or garbage in
 *   which no valid frame follows; a crash mid-write leaves exactly that (the flush worker writes
 *   each segment sequentially, so after a kill -9 the file is always a prefix of what it wrote);
 * - damage: a bad frame with a valid frame after it, or a valid prefix shorter than
 *   `durableBytes`, the length the flush worker recorded as fsynced (segment header) — bytes that
 *   were acknowledged as durable cannot be a torn write.
 *
 * Pure: reads `bytes` only. Linear in the region size for garbage and zero-filled tails.
 */
export function inspectFrames(bytes: Uint8Array, start: number, end: number, durableBytes = 0): FrameInspection {
  const scan = scanFrames(bytes, start, end);
  const tailBytes = end - start - scan.validBytes;
  if (tailBytes === 0 && scan.validBytes >= durableBytes) return { ...scan, tailBytes, damage: null };
  const next = tailBytes === 0 ? -1 : findFrame(bytes, start, end, scan.validBytes + 1);
  if (next < 0 && scan.validBytes >= durableBytes) return { ...scan, tailBytes, damage: null };
  // Damage: count what cutting here would drop, walking valid runs and resynchronising.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let validAfter = 0;
  let stretches = 0;
  let exact = true;
  let bad = scan.validBytes;
  let at = next;
  while (at >= 0) {
    stretches++;
    // Exact when the bad frame's own length field leads straight to the next valid frame.
    if (end - (start + bad) < RECORD_HEADER_BYTES || bad + frameLength(view.getUint32(start + bad + RECORD_LENGTH_OFFSET, true)) !== at) exact = false;
    const run = scanFrames(bytes, start + at, end);
    validAfter += run.count;
    bad = at + run.validBytes;
    if (bad >= end - start) break;
    at = findFrame(bytes, start, end, bad + 1);
    if (at < 0) exact = false; // a torn or damaged tail after the last valid run: count unknown
  }
  if (next < 0) exact = false;
  return {
    ...scan,
    tailBytes,
    damage: { badOffset: scan.validBytes, nextValidOffset: next, validFramesAfter: validAfter, droppedRecords: exact ? stretches + validAfter : null, durableBytes },
  };
}

/**
 * Why {@link inspectFrames} called a region damaged, in words, with offsets shifted by `base`
 * (the region's file offset): one wording for the engine's error and the admin CLI.
 */
export function describeFrameDamage(damage: FrameDamage, base: number): string {
  const bad = base + damage.badOffset;
  if (damage.nextValidOffset >= 0) {
    return `the frame at file offset ${bad} does not check out, yet a valid frame follows at file offset ${base + damage.nextValidOffset} (damage, not a torn write)`;
  }
  return `the valid frames stop at file offset ${bad}, below the ${damage.durableBytes} data bytes the writer recorded as durable (damage, not a torn write)`;
}

/** How many records cutting at the damage drops, in words ("3", "at least 3"). */
export function droppedRecordsText(damage: FrameDamage): string {
  return damage.droppedRecords === null ? `at least ${1 + damage.validFramesAfter}` : String(damage.droppedRecords);
}
