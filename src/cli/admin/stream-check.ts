/**
 * Does each stream's manifest catalog agree with its segment files about which ids exist? Shared
 * by `verify` and `dump`, so neither prints a root as healthy while the engine would refuse it or
 * while acknowledged records are gone.
 *
 * Per stream, in id order (the retention tombstone aside):
 * - a segment the manifest records has its local file where its state says it should (raw file for
 *   sealed and compression-failed, `.t1` for a local Tier 1 copy), and that file holds the records
 *   the manifest recorded: a footer (or Tier 1 header) with fewer records means acknowledged ids
 *   are missing, one with more means the files and the manifest tell different histories;
 * - every segment starts where the previous one ends, counted from the files where they exist:
 *   a gap means missing ids, an overlap means two segments claim the same ids. The one expected
 *   break is a crash leftover: a file the manifest does not record, after an unsealed segment,
 *   holds only records never acknowledged (the next open removes it), so it is a note;
 * - an unsealed segment (the active tail) is a torn tail or damage by the engine's own rule
 *   (verify-files.ts verifySegment, format/record.ts inspectFrames).
 *
 * Read-only. Messages name the stream, the segment and the ids.
 */
import { OpenMode, openFile } from '../../safe-fs.js';
import { join } from 'node:path';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, tryDecodeFooter } from '../../format/segment.js';
import { TIER1_HEADER_BYTES, decodeTier1Header } from '../../format/tier1.js';
import { type Problem } from './problem.js';
import type { SegmentRow, StreamResidency } from './residency.js';
import { verifySegment } from './verify-files.js';
import { SEGMENT_FILE_SUFFIX, TIER1_FILE_SUFFIX } from '../../format/root-layout.js';

export interface StreamCheck {
  problems: Problem[];
  notes: string[];
}

/** First `n` bytes of a file (fewer if it is shorter), and its size. */
async function readHead(path: string, n: number, fromEnd = false): Promise<{ bytes: Uint8Array; size: number }> {
  const fh = await openFile(path, OpenMode.READ);
  try {
    const size = (await fh.stat()).size;
    const len = Math.min(n, size);
    const bytes = new Uint8Array(len);
    if (len > 0) await fh.read(bytes, 0, len, fromEnd ? size - len : 0);
    return { bytes, size };
  } finally {
    await fh.close();
  }
}

/** Records the local file of a recorded segment holds, by its footer or Tier 1 header; null when unreadable (verify reports the damage itself). */
async function fileRecords(root: string, row: SegmentRow): Promise<number | null> {
  const seg = row.files.find((f) => f.endsWith(SEGMENT_FILE_SUFFIX));
  if (seg !== undefined && (row.state === 'sealed' || row.state === 'compression-failed' || row.files.every((f) => !f.endsWith(TIER1_FILE_SUFFIX)))) {
    const { bytes, size } = await readHead(join(root, seg), SEGMENT_FOOTER_BYTES, true);
    const footer = tryDecodeFooter(bytes);
    if (footer === null || footer.baseId !== row.baseId || SEGMENT_HEADER_BYTES + footer.dataBytes + SEGMENT_FOOTER_BYTES !== size) return null;
    return footer.recordCount;
  }
  const t1 = row.files.find((f) => f.endsWith(TIER1_FILE_SUFFIX));
  if (t1 !== undefined) {
    try {
      const header = decodeTier1Header((await readHead(join(root, t1), TIER1_HEADER_BYTES)).bytes);
      return header.baseId === row.baseId ? header.recordCount : null;
    } catch {
      return null;
    }
  }
  return null;
}

function ids(first: number, count: number): string {
  return count <= 0 ? 'no ids' : count === 1 ? `id ${first}` : `ids ${first}..${first + count - 1}`;
}

/**
 * Checks every stream of `streams` (the residency map); `unsealed` false skips the frame-level
 * check of active segments (verify checks every file itself).
 */
export async function checkStreams(root: string, streams: readonly StreamResidency[], unsealed = true): Promise<StreamCheck> {
  const problems: Problem[] = [];
  const notes: string[] = [];
  for (const s of streams) {
    const dir = `streams/${s.name}`;
    const say = (message: string, file = dir): void => {
      problems.push({ file, offset: 0, length: 0, message: `stream ${s.name}: ${message}` });
    };
    let prevEnd: number | null = null;
    let prevUnsealed = false;
    for (const row of s.segments) {
      if (row.state === 'deleted') continue;
      const has = (suffix: string): boolean => row.files.some((f) => f.endsWith(suffix));
      const where = `segment ${row.baseId}`;
      let records = row.records;
      if (row.inCatalog) {
        if ((row.state === 'sealed' || row.state === 'compression-failed') && !has(SEGMENT_FILE_SUFFIX)) {
          say(`${where} is recorded as ${row.state} (${ids(row.baseId, row.records)}) but its raw file is missing`);
        }
        if (row.state === 'tier1' && row.tier === 1 && !has(TIER1_FILE_SUFFIX)) say(`${where} is recorded in Tier 1 (${ids(row.baseId, row.records)}) but its .t1 file is missing`);
        if (row.state === 'needs-recovery' && !row.uploaded) say(`${where} needs recovery and has no Tier 2 copy: ${ids(row.baseId, row.records)} cannot be read`);
        const held = await fileRecords(root, row);
        if (held !== null && held !== row.records) {
          say(
            `the manifest records ${where} as ${ids(row.baseId, row.records)} (${row.records} records), its file holds ${ids(row.baseId, held)} (${held} records)` +
              (held < row.records ? `: acknowledged ${ids(row.baseId + held, row.records - held)} are missing` : ''),
            row.files[0] ?? dir,
          );
          records = held;
        }
      } else if (row.state === 'active' && unsealed) {
        const file = row.files.find((f) => f.endsWith(SEGMENT_FILE_SUFFIX))!;
        const { bytes } = await readHead(join(root, file), Number.MAX_SAFE_INTEGER);
        const check = verifySegment(file, bytes, row.baseId, undefined);
        for (const p of check.problems) problems.push({ ...p, message: `stream ${s.name}: ${p.message}` });
      }
      if (prevEnd !== null && row.baseId !== prevEnd) {
        if (prevUnsealed && !row.inCatalog) {
          notes.push(`stream ${s.name}: ${where} does not continue the unsealed segment before it (which ends at id ${prevEnd - 1}): a crash leftover of records never acknowledged; the next open removes it`);
        } else if (row.baseId > prevEnd) {
          say(`${where} starts at id ${row.baseId} but the segment before it ends at id ${prevEnd - 1}: ${ids(prevEnd, row.baseId - prevEnd)} are missing`);
        } else {
          say(`${where} starts at id ${row.baseId} but the segment before it ends at id ${prevEnd - 1}: ${ids(row.baseId, prevEnd - row.baseId)} are claimed twice`);
        }
      }
      prevEnd = row.baseId + records;
      prevUnsealed = row.state === 'active';
    }
  }
  return { problems, notes };
}
