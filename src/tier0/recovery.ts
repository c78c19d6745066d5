/**
 * Rebuilds a stream's segment list from its directory when the stream is opened.
 *
 * - Sealed segments (valid footer, exact file length) are trusted without reading their records.
 * - An unsealed segment (crash before its footer) is scanned frame by frame; the valid prefix is
 *   kept, the torn tail truncated, and a footer written so it is sealed from now on.
 * - Ids must be dense: each segment starts where the previous ended. A segment after an unsealed
 *   (scanned) one that does not continue it holds only records that were never acknowledged as
 *   durable (durableId is a contiguous prefix), so it is removed. That holds whether or not the scan
 *   trimmed bytes: the flusher may have created the next file before writing the last frames of the
 *   previous one, leaving a file that ends cleanly on a frame boundary yet short of the next base
 *   id. A gap after a sealed (footer-trusted) segment is corruption.
 * - Empty or headerless tail files (a crash right after creation) are removed.
 */
import { open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { AofError, ErrorCode } from '../errors.js';
import { scanFrames } from '../format/record.js';
import {
  SEGMENT_FOOTER_BYTES,
  SEGMENT_HEADER_BYTES,
  decodeHeader,
  encodeFooterInto,
  parseSegmentFileName,
  segmentFileName,
  tryDecodeFooter,
} from '../format/segment.js';
import { Segment } from './segment.js';

export interface RecoveredStream {
  segments: Segment[];
  nextId: number;
  /** What recovery did, for logs and tests. */
  report: RecoveryReport;
}

export interface RecoveryReport {
  trustedSegments: number;
  scannedSegments: number;
  scannedBytes: number;
  trimmedBytes: number;
  removedFiles: string[];
}

export async function recoverStream(dir: string, segmentBytes: number): Promise<RecoveredStream> {
  const names = (await readdir(dir)).filter((n) => parseSegmentFileName(n) !== null).sort();
  const report: RecoveryReport = { trustedSegments: 0, scannedSegments: 0, scannedBytes: 0, trimmedBytes: 0, removedFiles: [] };
  const segments: Segment[] = [];
  let nextId = names.length > 0 ? parseSegmentFileName(names[0]!)! : 0;
  /** Set once a segment was recovered by scanning: its true end is unknown, so later gaps are expected. */
  let afterUnsealed = false;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const path = join(dir, name);
    const fileId = parseSegmentFileName(name)!;
    const isLast = i === names.length - 1;
    if (fileId !== nextId) {
      if (!afterUnsealed) {
        throw AofError.corrupt(`segment ${path} starts at id ${fileId} but the previous segment ends at ${nextId}`, {
          path,
          expected: nextId,
          actual: fileId,
        });
      }
      await removeFile(path, report);
      continue;
    }
    const scannedBefore = report.scannedSegments;
    const seg = await recoverSegment(path, fileId, segmentBytes, isLast, report);
    if (seg === null) continue;
    if (report.scannedSegments > scannedBefore) afterUnsealed = true;
    if (seg.count === 0) {
      await removeFile(path, report);
      continue;
    }
    segments.push(seg);
    nextId = seg.endId;
  }
  return { segments, nextId, report };
}

async function removeFile(path: string, report: RecoveryReport): Promise<void> {
  await unlink(path);
  report.removedFiles.push(path);
}

async function recoverSegment(
  path: string,
  fileId: number,
  segmentBytes: number,
  isLast: boolean,
  report: RecoveryReport,
): Promise<Segment | null> {
  const fh = await open(path, 'r+');
  try {
    const size = (await fh.stat()).size;
    const head = new Uint8Array(SEGMENT_HEADER_BYTES);
    await fh.read(head, 0, SEGMENT_HEADER_BYTES, 0);
    let header;
    try {
      if (size < SEGMENT_HEADER_BYTES) throw AofError.corrupt('segment shorter than its header', { path, size });
      header = decodeHeader(head);
    } catch (err) {
      // A tail file whose header never made it to disk cannot hold an acknowledged record.
      if (isLast && err instanceof AofError && err.code === ErrorCode.CORRUPT) {
        await fh.close();
        await removeFile(path, report);
        return null;
      }
      throw withPath(err, path);
    }
    if (header.baseId !== fileId) {
      throw AofError.corrupt(`segment ${path} header says base id ${header.baseId}, file name says ${fileId}`, { path });
    }
    if (size >= SEGMENT_HEADER_BYTES + SEGMENT_FOOTER_BYTES) {
      const tail = new Uint8Array(SEGMENT_FOOTER_BYTES);
      await fh.read(tail, 0, SEGMENT_FOOTER_BYTES, size - SEGMENT_FOOTER_BYTES);
      const footer = tryDecodeFooter(tail);
      if (footer !== null && footer.baseId === fileId && SEGMENT_HEADER_BYTES + footer.dataBytes + SEGMENT_FOOTER_BYTES === size) {
        checkFits(path, footer.dataBytes, segmentBytes);
        report.trustedSegments++;
        return new Segment(fileId, path, footer.recordCount, footer.dataBytes, true);
      }
    }
    // Unsealed: scan what is there, keep the valid prefix, seal it.
    const dataLen = size - SEGMENT_HEADER_BYTES;
    const data = new Uint8Array(dataLen);
    if (dataLen > 0) await fh.read(data, 0, dataLen, SEGMENT_HEADER_BYTES);
    const scan = scanFrames(data, 0, dataLen);
    report.scannedSegments++;
    report.scannedBytes += dataLen;
    report.trimmedBytes += dataLen - scan.validBytes;
    checkFits(path, scan.validBytes, segmentBytes);
    const footer = new Uint8Array(SEGMENT_FOOTER_BYTES);
    encodeFooterInto(footer, 0, {
      recordCount: scan.count,
      baseId: fileId,
      dataBytes: scan.validBytes,
      dataCrc: crc32(data.subarray(0, scan.validBytes)),
      minTimestamp: scan.minTimestamp,
      maxTimestamp: scan.maxTimestamp,
      sealedAt: Date.now(),
    });
    await fh.truncate(SEGMENT_HEADER_BYTES + scan.validBytes);
    await fh.write(footer, 0, SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES + scan.validBytes);
    await fh.datasync();
    return new Segment(fileId, path, scan.count, scan.validBytes, true);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

function checkFits(path: string, dataBytes: number, segmentBytes: number): void {
  if (dataBytes > segmentBytes) {
    throw AofError.invalidArgument(
      `segment ${path} holds ${dataBytes} bytes of records but tier0.segmentBytes is ${segmentBytes}; reopen with a segmentBytes at least that large`,
      { path, dataBytes, segmentBytes },
    );
  }
}

function withPath(err: unknown, path: string): unknown {
  if (err instanceof AofError) {
    return new AofError(err.code, `${path}: ${err.message}`, { cause: err, details: { ...err.details, path } });
  }
  return AofError.io('read segment', path, err);
}

/** Path of the segment file starting at `baseId` in stream directory `dir`. */
export function segmentPath(dir: string, baseId: number): string {
  return join(dir, segmentFileName(baseId));
}
