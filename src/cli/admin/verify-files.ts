/**
 * Byte-level checks of one raw segment file or one Tier 1 file, for `aof2-admin verify`. Unlike
 * the engine's readers, which stop at the first fault, these keep going where the format allows
 * and report every damaged range with its file offset, so an operator sees the extent of the damage.
 */
import { crc32 } from 'node:zlib';
import type { Codec } from '../../codec/zstd.js';
import { viewOf } from '../../format/bytes.js';
import {
  RECORD_CRC_OFFSET,
  RECORD_HEADER_BYTES,
  describeFrameDamage,
  droppedRecordsText,
  frameCrc,
  frameLength,
  inspectFrames,
  readFramePayloadLength,
  scanFrames,
} from '../../format/record.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, decodeHeader, tryDecodeFooter } from '../../format/segment.js';
import type { CatalogEntry } from '../../format/snapshot.js';
import {
  TIER1_FOOTER_BYTES,
  TIER1_HEADER_BYTES,
  TIER1_INDEX_ENTRY_BYTES,
  decodeFrameIndex,
  decodeTier1Footer,
  decodeTier1Header,
  tier1FileBytes,
} from '../../format/tier1.js';
import { decodeFrame } from '../../format/tier1-file.js';
import { errorMessage, offsetOf, rethrowIncompatible, type Problem } from './problem.js';

export interface FileCheck {
  file: string;
  kind: 'segment' | 'tier1';
  bytes: number;
  /** Records whose CRC was checked and held. */
  records: number;
  /** Tier 1 frames decompressed and checked. */
  frames: number;
  /** Not damage, but worth saying (an unsealed tail). */
  notes: string[];
  problems: Problem[];
}

/**
 * Walks record frames in `bytes[start, end)` (file offsets), checking each frame's CRC. A frame
 * whose CRC fails is reported and skipped by its length (the length field is outside the CRC, so a
 * sane length is still the best guess for where the next frame starts); a length that runs past
 * the end stops the walk.
 */
function checkRecords(file: string, bytes: Uint8Array, start: number, end: number, problems: Problem[], base = 0): number {
  const v = viewOf(bytes);
  let off = start;
  let good = 0;
  let index = 0;
  while (off < end) {
    if (end - off < RECORD_HEADER_BYTES) {
      problems.push({ file, offset: base + off, length: end - off, message: `record ${index}: ${end - off} stray bytes, shorter than a record header` });
      break;
    }
    const len = readFramePayloadLength(v, off);
    const frame = frameLength(len);
    if (frame > end - off) {
      problems.push({ file, offset: base + off, length: end - off, message: `record ${index} claims ${len} payload bytes, past the end of the data` });
      break;
    }
    const stored = v.getUint32(off + RECORD_CRC_OFFSET, true);
    const actual = frameCrc(bytes, off, len);
    if (stored !== actual) {
      problems.push({
        file,
        offset: base + off,
        length: frame,
        message: `record ${index} fails its CRC (stored 0x${stored.toString(16).padStart(8, '0')}, computed 0x${actual.toString(16).padStart(8, '0')})`,
      });
    } else good++;
    off += frame;
    index++;
  }
  return good;
}

function crossCheck(file: string, problems: Problem[], at: number, what: string, actual: number, expected: number | undefined): void {
  if (expected !== undefined && actual !== expected) problems.push({ file, offset: at, length: 0, message: `${what} is ${actual}, the manifest says ${expected}` });
}

/**
 * Checks a raw segment image: header, footer, every record CRC, the data CRC, and (when the
 * catalog records the segment) the counts against the manifest. An unsealed file the catalog does
 * not record is the active tail or a crash's torn tail: scanned, noted, not an error.
 */
export function verifySegment(file: string, bytes: Uint8Array, baseId: number, entry: CatalogEntry | undefined): FileCheck {
  const check: FileCheck = { file, kind: 'segment', bytes: bytes.length, records: 0, frames: 0, notes: [], problems: [] };
  const problems = check.problems;
  let durableBytes = 0;
  try {
    const header = decodeHeader(bytes);
    durableBytes = header.durableBytes ?? 0;
    if (header.baseId !== baseId) problems.push({ file, offset: 16, length: 8, message: `header base id ${header.baseId}, file name says ${baseId}` });
  } catch (err) {
    rethrowIncompatible(err, file);
    problems.push({ file, offset: Math.min(offsetOf(err) ?? 0, SEGMENT_HEADER_BYTES), length: SEGMENT_HEADER_BYTES, message: errorMessage(err) });
  }
  const footerAt = bytes.length - SEGMENT_FOOTER_BYTES;
  const footer = footerAt >= SEGMENT_HEADER_BYTES ? tryDecodeFooter(bytes, footerAt) : null;
  if (footer !== null && bytes.length === SEGMENT_HEADER_BYTES + footer.dataBytes + SEGMENT_FOOTER_BYTES) {
    const dataEnd = SEGMENT_HEADER_BYTES + footer.dataBytes;
    check.records = checkRecords(file, bytes, SEGMENT_HEADER_BYTES, dataEnd, problems);
    const frames = scanFrames(bytes, SEGMENT_HEADER_BYTES, dataEnd);
    if (problems.length === 0 && frames.count !== footer.recordCount) {
      problems.push({ file, offset: footerAt + 12, length: 4, message: `footer counts ${footer.recordCount} records, the data holds ${frames.count}` });
    }
    const dataCrc = crc32(bytes.subarray(SEGMENT_HEADER_BYTES, dataEnd));
    if (dataCrc !== footer.dataCrc) {
      problems.push({ file, offset: SEGMENT_HEADER_BYTES, length: footer.dataBytes, message: `data CRC 0x${dataCrc.toString(16).padStart(8, '0')} differs from the footer's 0x${footer.dataCrc.toString(16).padStart(8, '0')}` });
    }
    if (footer.baseId !== baseId) problems.push({ file, offset: footerAt + 16, length: 8, message: `footer base id ${footer.baseId}, file name says ${baseId}` });
    if (entry !== undefined) {
      crossCheck(file, problems, footerAt + 12, 'record count', footer.recordCount, entry.recordCount);
      crossCheck(file, problems, footerAt + 24, 'data bytes', footer.dataBytes, entry.dataBytes);
      crossCheck(file, problems, footerAt + 28, 'data CRC', footer.dataCrc, entry.dataCrc);
    }
    return check;
  }
  if (entry !== undefined) {
    // The manifest says sealed: the footer must be there.
    problems.push({
      file,
      offset: Math.max(0, footerAt),
      length: SEGMENT_FOOTER_BYTES,
      message: `no valid footer, but the manifest records this segment as sealed (${entry.recordCount} records, ${entry.dataBytes} data bytes)`,
    });
    check.records = checkRecords(file, bytes, SEGMENT_HEADER_BYTES, Math.min(bytes.length, SEGMENT_HEADER_BYTES + entry.dataBytes), problems);
    return check;
  }
  // Unsealed: the same rule as recovery (format/record.ts inspectFrames) tells a torn tail, which
  // the next open trims, from damage, which it refuses.
  const scan = inspectFrames(bytes, Math.min(SEGMENT_HEADER_BYTES, bytes.length), bytes.length, durableBytes);
  check.records = scan.count;
  if (scan.damage !== null) {
    const d = scan.damage;
    problems.push({
      file,
      offset: SEGMENT_HEADER_BYTES + d.badOffset,
      length: scan.tailBytes,
      message:
        `unsealed segment is damaged: ${describeFrameDamage(d, SEGMENT_HEADER_BYTES)}; ${scan.count} valid record(s) before it (ids ${baseId}..${baseId + scan.count - 1}); ` +
        `the engine refuses to open the stream; aof2-admin repair --accept-loss would drop ${droppedRecordsText(d)} record(s) from id ${baseId + scan.count} (${scan.tailBytes} bytes)`,
    });
    return check;
  }
  check.notes.push(
    `unsealed (the active segment, or a tail torn by a crash): ${scan.count} valid record(s) in ${scan.validBytes} bytes` +
      (scan.stopReason === null ? '' : `, then ${scan.stopReason.replace(/ at (\d+)$/, (_m, at: string) => ` at file offset ${SEGMENT_HEADER_BYTES + Number(at)}`)}`) +
      '; the next open trims it and gives it a footer',
  );
  return check;
}

/**
 * Checks a Tier 1 image: header, footer, size, frame index, then every frame decompressed and its
 * CRC checked, every record inside it, the whole data CRC, and the manifest's figures.
 */
export async function verifyTier1(file: string, bytes: Uint8Array, baseId: number, entry: CatalogEntry | undefined, codec: Codec): Promise<FileCheck> {
  const check: FileCheck = { file, kind: 'tier1', bytes: bytes.length, records: 0, frames: 0, notes: [], problems: [] };
  const problems = check.problems;
  if (bytes.length < TIER1_HEADER_BYTES + TIER1_FOOTER_BYTES) {
    problems.push({ file, offset: 0, length: bytes.length, message: `tier 1 file is ${bytes.length} bytes, shorter than a header and a footer` });
    return check;
  }
  let header;
  try {
    header = decodeTier1Header(bytes, 0);
  } catch (err) {
    rethrowIncompatible(err, file);
    problems.push({ file, offset: Math.min(offsetOf(err) ?? 0, TIER1_HEADER_BYTES), length: TIER1_HEADER_BYTES, message: errorMessage(err) });
  }
  const footerAt = bytes.length - TIER1_FOOTER_BYTES;
  let footer;
  try {
    footer = decodeTier1Footer(bytes, footerAt);
  } catch (err) {
    rethrowIncompatible(err, file);
    problems.push({ file, offset: footerAt, length: TIER1_FOOTER_BYTES, message: errorMessage(err) });
  }
  if (header === undefined || footer === undefined) return check;
  if (header.baseId !== baseId) problems.push({ file, offset: 16, length: 8, message: `header base id ${header.baseId}, file name says ${baseId}` });
  const described = tier1FileBytes(footer.indexOffset, footer.frameCount);
  if (described !== bytes.length) {
    problems.push({ file, offset: footerAt + 12, length: 12, message: `the footer describes a ${described}-byte file, the file is ${bytes.length} bytes` });
    return check;
  }
  let index;
  try {
    index = decodeFrameIndex(bytes.subarray(footer.indexOffset, footer.indexOffset + footer.frameCount * TIER1_INDEX_ENTRY_BYTES), footer, header);
  } catch (err) {
    const entryNo = (err as { details?: Record<string, unknown> }).details?.['entry'];
    const at = footer.indexOffset + (typeof entryNo === 'number' ? entryNo * TIER1_INDEX_ENTRY_BYTES : 0);
    problems.push({ file, offset: at, length: typeof entryNo === 'number' ? TIER1_INDEX_ENTRY_BYTES : footer.frameCount * TIER1_INDEX_ENTRY_BYTES, message: errorMessage(err) });
    return check;
  }
  let dataCrc = 0;
  let dataIntact = true;
  for (let i = 0; i < index.length; i++) {
    const e = index[i]!;
    let raw: Uint8Array;
    try {
      raw = await decodeFrame(bytes.subarray(e.fileOffset, e.fileOffset + e.compressedBytes), e, codec);
    } catch (err) {
      dataIntact = false;
      problems.push({ file, offset: e.fileOffset, length: e.compressedBytes, message: `frame ${i} (records ${e.firstRecord}..${e.firstRecord + e.recordCount - 1}): ${errorMessage(err)}` });
      continue;
    }
    check.frames++;
    dataCrc = crc32(raw, dataCrc);
    // Records inside a frame that passed its CRC: a mismatch here is a writer bug, reported at the frame.
    const before = problems.length;
    check.records += checkRecords(file, raw, 0, raw.length, problems);
    for (let p = before; p < problems.length; p++) {
      const prob = problems[p]!;
      problems[p] = { file, offset: e.fileOffset, length: e.compressedBytes, message: `frame ${i}, raw offset ${e.rawOffset + prob.offset}: ${prob.message}` };
    }
  }
  if (dataIntact && dataCrc !== header.dataCrc) {
    problems.push({ file, offset: 32, length: 4, message: `records hash to 0x${dataCrc.toString(16).padStart(8, '0')}, the header says 0x${header.dataCrc.toString(16).padStart(8, '0')}` });
  }
  if (entry !== undefined) {
    crossCheck(file, problems, 24, 'record count', header.recordCount, entry.recordCount);
    crossCheck(file, problems, 28, 'data bytes', header.dataBytes, entry.dataBytes);
    crossCheck(file, problems, 32, 'data CRC', header.dataCrc, entry.dataCrc);
    if (entry.compressedBytes > 0) crossCheck(file, problems, 0, 'file size', bytes.length, entry.compressedBytes);
  }
  return check;
}
