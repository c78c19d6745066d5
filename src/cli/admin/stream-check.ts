/**
 * Does each stream's manifest catalog agree with its segment files about which ids exist? Shared
 * by `verify` and `dump`, so neither prints a root as healthy while the engine would refuse it or
 * while acknowledged records are gone.
 *
 * The verdict about ids is the engine's own: the stream's files and catalog go through recovery's
 * decision table (src/tier0/recovery-plan.ts `planRecovery`, the facts read by recovery.ts
 * `readStreamFacts`, both read-only), collecting every refusal instead of stopping at the first:
 * - a segment file holding fewer records than the manifest recorded ("acknowledged ids ... are
 *   missing"), and a segment that does not start where the previous one ends after a sealed one
 *   ("ids ... are missing", "ids ... are claimed twice"), are problems;
 * - any other refusal (damaged header of a file the catalog lacks, damaged unsealed data, ...) is
 *   a note naming what the next open refuses: the file checks report the damage itself;
 * - a raw file the catalog records as sealed is not read by the engine at open (lazy footers):
 *   when it does not agree with the catalog (`plan.atFirstRead`), the note says that the stream
 *   opens and reads of that segment fail; one holding fewer records than recorded is a problem;
 * - what the next open removes (files after an unsealed segment that do not continue it: records
 *   never acknowledged; an unfinished compression; an evicted copy; files below the retention
 *   floor) and re-records (a file holding more records than recorded) are notes.
 * On top of that, per row: a segment the manifest records has its local file where its state says
 * it should (raw file for sealed and compression-failed, `.t1` for a local Tier 1 copy) and a
 * `.t1` file's header counts the records the manifest recorded; an unsealed segment (the active
 * tail) is a torn tail or damage by the engine's own rule (verify-files.ts verifySegment).
 *
 * Read-only. Messages name the stream, the segment and the ids.
 */
import { join } from 'node:path';
import { ManifestRecordType } from '../../format/manifest.js';
import { TIER1_HEADER_BYTES, decodeTier1Header } from '../../format/tier1.js';
import type { Catalog } from '../../manifest/catalog.js';
import { OpenMode, openFile } from '../../safe-fs.js';
import type { RemovalReason } from '../../tier0/recovery-plan.js';
import { type Problem } from './problem.js';
import { readStreamPlan, type SegmentRow, type StreamResidency } from './residency.js';
import { verifySegment } from './verify-files.js';
import { SEGMENT_FILE_SUFFIX, STREAMS_DIR, TIER1_FILE_SUFFIX, segmentFileName } from '../../format/root-layout.js';

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

/** Records a segment's local Tier 1 file holds, by its header; null when unreadable (verify reports the damage itself). */
async function tier1Records(root: string, row: SegmentRow): Promise<number | null> {
  const t1 = row.files.find((f) => f.endsWith(TIER1_FILE_SUFFIX));
  if (t1 === undefined) return null;
  try {
    const header = decodeTier1Header((await readHead(join(root, t1), TIER1_HEADER_BYTES)).bytes);
    return header.baseId === row.baseId ? header.recordCount : null;
  } catch {
    return null;
  }
}

function ids(first: number, count: number): string {
  return count <= 0 ? 'no ids' : count === 1 ? `id ${first}` : `ids ${first}..${first + count - 1}`;
}

const REMOVAL_TEXT: Record<RemovalReason, string> = {
  temp: 'a temp file of an interrupted write',
  expired: 'below the retention floor (a crash before its removal)',
  'after-unsealed': 'it does not continue the unsealed segment before it: a crash leftover of records never acknowledged',
  'raw-beside-tier1': 'a raw copy beside its recorded Tier 1 file',
  'unfinished-compression': 'an unfinished compression (the segment is compressed again)',
  'evicted-copy': 'a local copy of a segment Tier 2 holds',
  empty: 'an unsealed segment with no record',
  'headerless-tail': 'a tail file whose header never reached the disk, with no record',
};

/**
 * Checks every stream of `streams` (the residency map) against `catalog`; `unsealed` false skips
 * the frame-level check of active segments (verify checks every file itself).
 */
export async function checkStreams(root: string, streams: readonly StreamResidency[], catalog: Catalog, unsealed = true): Promise<StreamCheck> {
  const problems: Problem[] = [];
  const notes: string[] = [];
  for (const s of streams) {
    const dir = `${STREAMS_DIR}/${s.name}`;
    const say = (message: string, file = dir): void => {
      problems.push({ file, offset: 0, length: 0, message: `stream ${s.name}: ${message}` });
    };
    for (const row of s.segments) {
      if (row.state === 'deleted') continue;
      const has = (suffix: string): boolean => row.files.some((f) => f.endsWith(suffix));
      const where = `segment ${row.baseId}`;
      if (row.inCatalog) {
        if ((row.state === 'sealed' || row.state === 'compression-failed') && !has(SEGMENT_FILE_SUFFIX)) {
          say(`${where} is recorded as ${row.state} (${ids(row.baseId, row.records)}) but its raw file is missing`);
        }
        // Without an upload the records are nowhere else; with one the next open reads them from Tier 2.
        if (row.state === 'tier1' && !row.uploaded && !has(TIER1_FILE_SUFFIX)) say(`${where} is recorded in Tier 1 (${ids(row.baseId, row.records)}) but its .t1 file is missing`);
        if (row.state === 'needs-recovery' && !row.uploaded) say(`${where} needs recovery and has no Tier 2 copy: ${ids(row.baseId, row.records)} cannot be read`);
        // Raw files are the plan's (below); a Tier 1 file the engine trusts from the catalog is checked here.
        const held = row.state === 'tier1' && row.tier === 1 ? await tier1Records(root, row) : null;
        if (held !== null && held !== row.records) {
          say(
            `the manifest records ${where} as ${ids(row.baseId, row.records)} (${row.records} records), its file holds ${ids(row.baseId, held)} (${held} records)` +
              (held < row.records ? `: acknowledged ${ids(row.baseId + held, row.records - held)} are missing` : ''),
            row.files.find((f) => f.endsWith(TIER1_FILE_SUFFIX)) ?? dir,
          );
        }
      } else if (row.state === 'active' && unsealed) {
        const file = row.files.find((f) => f.endsWith(SEGMENT_FILE_SUFFIX))!;
        const { bytes } = await readHead(join(root, file), Number.MAX_SAFE_INTEGER);
        const check = verifySegment(file, bytes, row.baseId, undefined);
        for (const p of check.problems) problems.push({ ...p, message: `stream ${s.name}: ${p.message}` });
      }
    }

    // The engine's verdict on ids (recovery's decision table).
    const { plan } = await readStreamPlan(root, s.name, catalog);
    for (const r of [...plan.refusals, ...plan.atFirstRead]) {
      const file = `${dir}/${segmentFileName(r.baseId)}`;
      if (r.kind === 'fewer-records') {
        const recorded = r.expected!;
        const held = r.actual!;
        say(
          `the manifest records segment ${r.baseId} as ${ids(r.baseId, recorded)} (${recorded} records), its file holds ${ids(r.baseId, held)} (${held} records): acknowledged ${ids(r.baseId + held, recorded - held)} are missing`,
          file,
        );
      } else if (r.kind === 'gap') {
        const prevEnd = r.expected!;
        const where = `segment ${r.baseId} starts at id ${r.baseId} but the segment before it ends at id ${prevEnd - 1}`;
        if (r.baseId > prevEnd) say(`${where}: ${ids(prevEnd, r.baseId - prevEnd)} are missing`);
        else say(`${where}: ${ids(r.baseId, prevEnd - r.baseId)} are claimed twice`);
      } else if (plan.atFirstRead.includes(r)) {
        notes.push(`stream ${s.name}: the next open serves the stream, but every read of segment ${r.baseId} fails (${r.error.code}): ${r.error.message}`);
      } else {
        notes.push(`stream ${s.name}: the next open refuses segment ${r.baseId} (${r.error.code}): ${r.error.message}`);
      }
    }
    for (const r of plan.removals) {
      // verify notes a raw copy beside its Tier 1 file itself.
      if (r.reason === 'raw-beside-tier1') continue;
      notes.push(`stream ${s.name}: ${r.path}: ${REMOVAL_TEXT[r.reason]}; the next open removes it`);
    }
    for (const rec of plan.records) {
      const entry = catalog.get(s.name, rec.baseId);
      if (rec.type === ManifestRecordType.SEALED && entry !== undefined && entry.recordCount < rec.fields.recordCount) {
        notes.push(`stream ${s.name}: segment ${rec.baseId} holds ${rec.fields.recordCount} records, the manifest recorded ${entry.recordCount}; the next open re-records it`);
      }
    }
  }
  return { problems, notes };
}
