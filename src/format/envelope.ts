/**
 * The 64-byte envelope every file header and footer shares (segment header and footer, Tier 1
 * header and footer, manifest chunk header, snapshot header):
 *
 * ```
 * 0   8   magic     8 ASCII bytes naming the structure ("AOF2SEG\0", "AOF2END\0", ...)
 * 8   2   version   u16 LE, the structure's format version
 * 10  2   length    u16 LE = 64, the structure's own length
 * 12  48  fields    the structure's own (see its format file)
 * 60  4   crc       u32 LE, zlib.crc32 of bytes [0, 60)
 * ```
 *
 * One order of checks for every structure, so every decoder classifies damage the same way:
 * 1. truncated input, wrong magic: AOF_ERR_CORRUPT;
 * 2. CRC: AOF_ERR_CORRUPT. Checked before the version, so a flipped version bit is damage and only
 *    an intact header can claim to be newer;
 * 3. version newer than this build: AOF_ERR_INCOMPATIBLE (written by a newer aof2: refuse, never
 *    repair or delete); an older one than the structure still reads (0: no aof2 ever wrote it) is
 *    AOF_ERR_CORRUPT;
 * 4. declared length other than 64: AOF_ERR_CORRUPT (a CRC-intact header of another shape came from
 *    a different writer, not from this format).
 *
 * Plain functions over caller-owned bytes; no allocation beyond a DataView per call (these run
 * once per file or per flush, never per record).
 */
import { crc32 } from 'node:zlib';
import { AofError, ErrorCode } from '../errors.js';
import { viewOf } from './bytes.js';

export const ENVELOPE_BYTES = 64;
export const ENVELOPE_MAGIC_BYTES = 8;
export const ENVELOPE_VERSION_OFFSET = 8;
export const ENVELOPE_LENGTH_OFFSET = 10;
/** First byte of the structure's own fields. */
export const ENVELOPE_FIELDS_OFFSET = 12;
/** Offset of the CRC, which covers every byte before it. */
export const ENVELOPE_CRC_OFFSET = 60;

/** What an envelope holds: its magic, the version this build writes, and a name for messages. */
export interface EnvelopeSpec {
  /** Exactly 8 ASCII characters. */
  readonly magic: string;
  /** The newest version: what the writer puts in (unless told otherwise) and the highest the reader accepts. */
  readonly version: number;
  /**
   * The oldest version the reader still accepts (default `version`): versions in
   * [oldestVersion, version] check out, and the decoder reads the version to tell them apart.
   */
  readonly oldestVersion?: number;
  /** For error messages: "segment header", "tier 1 footer", ... */
  readonly what: string;
}

/**
 * Zeroes `bytes[off, off + 64)` and writes magic, version and length. The caller then writes its
 * fields (offsets 12 to 59) and calls {@link sealEnvelope}.
 * @returns a DataView over the whole of `bytes` (offsets are absolute, as the caller's are)
 */
export function beginEnvelope(bytes: Uint8Array, off: number, spec: EnvelopeSpec): DataView {
  bytes.fill(0, off, off + ENVELOPE_BYTES);
  for (let i = 0; i < ENVELOPE_MAGIC_BYTES; i++) bytes[off + i] = spec.magic.charCodeAt(i);
  const view = viewOf(bytes);
  view.setUint16(off + ENVELOPE_VERSION_OFFSET, spec.version, true);
  view.setUint16(off + ENVELOPE_LENGTH_OFFSET, ENVELOPE_BYTES, true);
  return view;
}

/** Writes the CRC of `bytes[off, off + 60)` at `off + 60`; returns the offset after the envelope. */
export function sealEnvelope(bytes: Uint8Array, off: number): number {
  viewOf(bytes).setUint32(off + ENVELOPE_CRC_OFFSET, crc32(bytes.subarray(off, off + ENVELOPE_CRC_OFFSET)), true);
  return off + ENVELOPE_BYTES;
}

/** Why an envelope does not check out (0: it does), in the order the checks run. */
const Fault = { NONE: 0, TRUNCATED: 1, MAGIC: 2, CRC: 3, NEWER: 4, OLDER: 5, LENGTH: 6 } as const;
type FaultValue = (typeof Fault)[keyof typeof Fault];

function faultOf(bytes: Uint8Array, off: number, spec: EnvelopeSpec): FaultValue {
  if (bytes.length - off < ENVELOPE_BYTES) return Fault.TRUNCATED;
  for (let i = 0; i < ENVELOPE_MAGIC_BYTES; i++) if (bytes[off + i] !== spec.magic.charCodeAt(i)) return Fault.MAGIC;
  const view = viewOf(bytes);
  if (view.getUint32(off + ENVELOPE_CRC_OFFSET, true) !== crc32(bytes.subarray(off, off + ENVELOPE_CRC_OFFSET))) return Fault.CRC;
  const version = view.getUint16(off + ENVELOPE_VERSION_OFFSET, true);
  if (version > spec.version) return Fault.NEWER;
  if (version < (spec.oldestVersion ?? spec.version)) return Fault.OLDER;
  if (view.getUint16(off + ENVELOPE_LENGTH_OFFSET, true) !== ENVELOPE_BYTES) return Fault.LENGTH;
  return Fault.NONE;
}

/** Whether `bytes[off, off + 64)` is an intact envelope of `spec` (same checks as {@link checkEnvelope}, no error). */
export function isEnvelope(bytes: Uint8Array, off: number, spec: EnvelopeSpec): boolean {
  return faultOf(bytes, off, spec) === Fault.NONE;
}

/**
 * Checks the envelope at `off` in the order the module comment gives.
 * @returns a DataView over the whole of `bytes`, for the caller to read its fields
 * @throws AOF_ERR_CORRUPT (truncated, magic, CRC, version 0 or older, declared length);
 *   AOF_ERR_INCOMPATIBLE (a newer version)
 */
export function checkEnvelope(bytes: Uint8Array, off: number, spec: EnvelopeSpec): DataView {
  const fault = faultOf(bytes, off, spec);
  if (fault === Fault.NONE) return viewOf(bytes);
  const { what } = spec;
  if (fault === Fault.TRUNCATED) {
    throw AofError.corrupt(`${what} truncated: expected ${ENVELOPE_BYTES} bytes, got ${Math.max(0, bytes.length - off)}`, { offset: off });
  }
  if (fault === Fault.MAGIC) throw AofError.corrupt(`${what} has wrong magic`, { offset: off });
  const view = viewOf(bytes);
  if (fault === Fault.CRC) {
    const stored = view.getUint32(off + ENVELOPE_CRC_OFFSET, true);
    const actual = crc32(bytes.subarray(off, off + ENVELOPE_CRC_OFFSET));
    throw AofError.corrupt(`${what} CRC mismatch`, { offset: off + ENVELOPE_CRC_OFFSET, stored, actual });
  }
  const version = view.getUint16(off + ENVELOPE_VERSION_OFFSET, true);
  if (fault === Fault.NEWER) {
    throw new AofError(ErrorCode.INCOMPATIBLE, `${what} version ${version} is newer than this aof2 understands (${spec.version})`, {
      details: { offset: off + ENVELOPE_VERSION_OFFSET, version },
    });
  }
  if (fault === Fault.OLDER) {
    const expected = spec.oldestVersion === undefined ? `${spec.version}` : `${spec.oldestVersion} to ${spec.version}`;
    throw AofError.corrupt(`${what} version ${version} is not supported (expected ${expected})`, { offset: off + ENVELOPE_VERSION_OFFSET, version });
  }
  const declared = view.getUint16(off + ENVELOPE_LENGTH_OFFSET, true);
  throw AofError.corrupt(`${what} declares ${declared} bytes (expected ${ENVELOPE_BYTES})`, { offset: off + ENVELOPE_LENGTH_OFFSET, declared });
}
