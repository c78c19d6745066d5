/**
 * Does a sealed raw segment file agree with what was recorded of it when it was sealed (the
 * manifest catalog's SEALED entry, or a compress task built from the segment)? One rule for every
 * place that first touches such a file's bytes:
 *
 * - workers/hydrate.ts, at a segment's first chunk load when recovery trusted the segment from the
 *   catalog without opening its file (lazy footers: docs/read-path.md);
 * - workers/compress.ts, before compressing from the file;
 * - src/tier0/recovery-plan.ts, on the facts aof2-admin reads, so the tool says which segments the
 *   engine will refuse to serve.
 *
 * Agreeing means: the file is exactly header + dataBytes + footer long, its header decodes and
 * names the base id, and its footer decodes and records the same base id, record count, data
 * length and data CRC. Records are not read here: each frame's own CRC covers what a load
 * returns, and compression checks the whole data CRC while it reads.
 */
import { AofError, ErrorCode } from '../errors.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, decodeHeader, tryDecodeFooter, type SegmentFooter } from './segment.js';

/** What is recorded of a sealed segment (the catalog entry's fields, or a compress task's). */
export interface RecordedSegment {
  baseId: number;
  recordCount: number;
  dataBytes: number;
  dataCrc: number;
}

/**
 * Why a sealed file does not agree (`details.footerCheck` of the AOF_ERR_CORRUPT):
 * - `header`: the header does not decode (a truncated file included);
 * - `base-id`: the header names another base id;
 * - `footer`: no valid footer of this segment where the length says it ends (a truncated or
 *   extended file, a damaged footer);
 * - `fewer-records`: the footer counts fewer records than recorded: acknowledged records are gone;
 * - `mismatch`: the footer records another record count, data length or data CRC.
 */
export type SealedFileProblem = 'header' | 'base-id' | 'footer' | 'fewer-records' | 'mismatch';

/** What was read of the file: its size, its decoded header (or why not) and its footer if valid. */
export interface SealedFileFacts {
  size: number;
  header: { ok: true; baseId: number } | { ok: false; error: AofError };
  /** A footer that decodes; null when there is none at `size - 64` (or the file is too short). */
  footer: SegmentFooter | null;
}

/** The problem with a sealed file, in words, or null when it agrees with `recorded`. */
export function sealedFileProblem(facts: SealedFileFacts, recorded: RecordedSegment): { problem: SealedFileProblem; why: string } | null {
  const { header, footer, size } = facts;
  if (!header.ok) return { problem: 'header', why: `its header is damaged (${header.error.message})` };
  if (header.baseId !== recorded.baseId) return { problem: 'base-id', why: `its header names base id ${header.baseId}` };
  const expectedSize = SEGMENT_HEADER_BYTES + recorded.dataBytes + SEGMENT_FOOTER_BYTES;
  if (footer === null || footer.baseId !== recorded.baseId || SEGMENT_HEADER_BYTES + footer.dataBytes + SEGMENT_FOOTER_BYTES !== size) {
    const length = size === expectedSize ? '' : ` (the file is ${size} bytes; sealed, it is ${expectedSize})`;
    return { problem: 'footer', why: `its footer is missing or damaged${length}` };
  }
  if (footer.recordCount < recorded.recordCount) return { problem: 'fewer-records', why: `its footer counts ${footer.recordCount} records` };
  if (footer.recordCount !== recorded.recordCount || footer.dataBytes !== recorded.dataBytes || footer.dataCrc !== recorded.dataCrc) {
    return {
      problem: 'mismatch',
      why: `its footer records ${footer.recordCount} records, ${footer.dataBytes} data bytes, data CRC ${footer.dataCrc} (recorded: ${recorded.dataBytes} data bytes, CRC ${recorded.dataCrc})`,
    };
  }
  return null;
}

/**
 * Checks a sealed file from its bytes: `head` and `foot` are its first and last (up to) 64 bytes,
 * `size` its length. Returns null when it agrees with `recorded`, else the AOF_ERR_CORRUPT to
 * report (details: path, footerCheck, size, recorded), or AOF_ERR_INCOMPATIBLE for a header
 * written by a newer aof2.
 */
export function checkSealedFile(path: string, size: number, head: Uint8Array, foot: Uint8Array, recorded: RecordedSegment): AofError | null {
  let header: SealedFileFacts['header'];
  try {
    if (size < SEGMENT_HEADER_BYTES) throw AofError.corrupt('segment shorter than its header', { path, size });
    header = { ok: true, baseId: decodeHeader(head).baseId };
  } catch (err) {
    // A header written by a newer aof2 is not damage: reported as it is (AOF_ERR_INCOMPATIBLE).
    if (err instanceof AofError && err.code !== ErrorCode.CORRUPT) return new AofError(err.code, `${path}: ${err.message}`, { cause: err, details: { ...err.details, path } });
    header = { ok: false, error: err instanceof AofError ? err : AofError.corrupt(String(err), { path }) };
  }
  const footer = size >= SEGMENT_HEADER_BYTES + SEGMENT_FOOTER_BYTES ? tryDecodeFooter(foot) : null;
  const found = sealedFileProblem({ size, header, footer }, recorded);
  if (found === null) return null;
  return AofError.corrupt(sealedFileMessage(path, recorded, found.why), {
    path,
    footerCheck: found.problem,
    size,
    recorded: { baseId: recorded.baseId, recordCount: recorded.recordCount, dataBytes: recorded.dataBytes, dataCrc: recorded.dataCrc },
  });
}

/** One wording for the engine's error and aof2-admin's note. */
export function sealedFileMessage(path: string, recorded: RecordedSegment, why: string): string {
  const last = recorded.baseId + recorded.recordCount - 1;
  return (
    `segment ${path} is recorded as sealed (ids ${recorded.baseId}..${last}, ${recorded.dataBytes} data bytes) but ${why}: ` +
    'its records are not served. Run aof2-admin verify; restore the file from Tier 2 or a backup (docs/operations.md)'
  );
}
