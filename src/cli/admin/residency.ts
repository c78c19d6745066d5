/**
 * The residency map: where every segment of every stream is, from the catalog (the manifest read
 * offline) and the files on disk. The catalog knows sealed segments; the disk also has the
 * active (unsealed) tail and files a crash left before their manifest record.
 *
 * Tiers, as the seed's residency dump numbers them: 0 = raw segment file (the arena's backing
 * file: active, sealed, or compression failed), 1 = local Tier 1 file (`.t1`), 2 = remote only
 * (Tier 2 object, local copy evicted). null = no usable copy (needs recovery without an upload,
 * or the retention tombstone).
 */
import { readdir } from 'node:fs/promises';
import { OpenMode, isRealDirectory, listFiles, openFile } from '../../safe-fs.js';
import { join } from 'node:path';
import { scanFrames } from '../../format/record.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, tryDecodeFooter } from '../../format/segment.js';
import { FLAG_TIER1_EVICTED, FLAG_UPLOADED, SegmentState, type CatalogEntry } from '../../format/snapshot.js';
import type { Catalog } from '../../manifest/catalog.js';
import { isTempName, parseSegmentFileName, parseTier1FileName, segmentFileName, STREAMS_DIR, tier1FileName } from '../../format/root-layout.js';

export type Tier = 0 | 1 | 2 | null;

export interface SegmentRow {
  stream: string;
  baseId: number;
  /** First and last record id (last is null for an empty segment). */
  firstId: number;
  lastId: number | null;
  records: number;
  tier: Tier;
  /** sealed, tier1, evicted, compression-failed, needs-recovery, deleted; or, for files the catalog does not record: active, unrecorded. */
  state: string;
  /** Bytes of record frames (the raw data region). */
  rawBytes: number;
  /** Size of the Tier 1 file / Tier 2 object, 0 while raw. */
  compressedBytes: number;
  uploaded: boolean;
  evicted: boolean;
  /** Local files present, relative to the root. */
  files: string[];
  /** Whether the catalog records the segment (false for the active tail and crash leftovers). */
  inCatalog: boolean;
}

export interface StreamResidency {
  name: string;
  segments: SegmentRow[];
}

const STATE_NAMES: Readonly<Record<number, string>> = {
  [SegmentState.SEALED]: 'sealed',
  [SegmentState.TIER1]: 'tier1',
  [SegmentState.COMPRESSION_FAILED]: 'compression-failed',
  [SegmentState.NEEDS_RECOVERY]: 'needs-recovery',
  [SegmentState.DELETED]: 'deleted',
};

export function stateName(state: number): string {
  return STATE_NAMES[state] ?? `unknown(${state})`;
}

/** Tier of a catalog entry (see the file comment). */
export function tierOf(entry: CatalogEntry): Tier {
  const uploaded = (entry.flags & FLAG_UPLOADED) !== 0;
  switch (entry.state) {
    case SegmentState.SEALED:
    case SegmentState.COMPRESSION_FAILED:
      return 0;
    case SegmentState.TIER1:
      return (entry.flags & FLAG_TIER1_EVICTED) !== 0 ? 2 : 1;
    case SegmentState.NEEDS_RECOVERY:
      return uploaded ? 2 : null;
    default:
      return null;
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    // Not through a link: the engine refuses a symlinked stream directory or segment file (and
    // would not open the stream), so its tools refuse them too instead of listing them as healthy.
    if (!(await isRealDirectory(dir))) return [];
    return (await listFiles(dir, (n) => isTempName(n) || parseSegmentFileName(n) !== null || parseTier1FileName(n) !== null)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw err;
  }
}

/** Streams on disk (directories under streams/) or in the catalog, ascending. */
export async function streamNames(root: string, catalog: Catalog): Promise<string[]> {
  const names = new Set(catalog.streams());
  try {
    if (!(await isRealDirectory(join(root, STREAMS_DIR)))) return [...names].sort();
    for (const e of await readdir(join(root, STREAMS_DIR), { withFileTypes: true })) if (e.isDirectory()) names.add(e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return [...names].sort();
}

/** Counts of a raw file the catalog does not record: footer when sealed, else a frame scan. */
async function describeRawFile(path: string): Promise<{ records: number; rawBytes: number; sealed: boolean }> {
  const fh = await openFile(path, OpenMode.READ);
  try {
    const size = (await fh.stat()).size;
    if (size >= SEGMENT_HEADER_BYTES + SEGMENT_FOOTER_BYTES) {
      const tail = new Uint8Array(SEGMENT_FOOTER_BYTES);
      await fh.read(tail, 0, SEGMENT_FOOTER_BYTES, size - SEGMENT_FOOTER_BYTES);
      const footer = tryDecodeFooter(tail);
      if (footer !== null && size === SEGMENT_HEADER_BYTES + footer.dataBytes + SEGMENT_FOOTER_BYTES) {
        return { records: footer.recordCount, rawBytes: footer.dataBytes, sealed: true };
      }
    }
    const bytes = new Uint8Array(Math.max(0, size));
    if (size > 0) await fh.read(bytes, 0, size, 0);
    const scan = scanFrames(bytes, Math.min(SEGMENT_HEADER_BYTES, size), size);
    return { records: scan.count, rawBytes: scan.validBytes, sealed: false };
  } finally {
    await fh.close();
  }
}

/** The residency of every stream (or of `only`), segments in ascending id order. */
export async function readResidency(root: string, catalog: Catalog, only: string | null = null): Promise<StreamResidency[]> {
  const out: StreamResidency[] = [];
  for (const name of await streamNames(root, catalog)) {
    if (only !== null && name !== only) continue;
    const dirRel = `${STREAMS_DIR}/${name}`;
    const files = new Set(await listDir(join(root, STREAMS_DIR, name)));
    const rows = new Map<number, SegmentRow>();
    for (const entry of catalog.entries(name)) {
      const seg = segmentFileName(entry.baseId);
      const t1 = tier1FileName(entry.baseId);
      const tier = tierOf(entry);
      const compressed = entry.state === SegmentState.TIER1 || entry.state === SegmentState.NEEDS_RECOVERY ? entry.compressedBytes : 0;
      rows.set(entry.baseId, {
        stream: name,
        baseId: entry.baseId,
        firstId: entry.baseId,
        lastId: entry.recordCount > 0 ? entry.baseId + entry.recordCount - 1 : null,
        records: entry.recordCount,
        tier,
        // "evicted" rather than the catalog's TIER1: the local copy is gone, Tier 2 holds it.
        state: entry.state === SegmentState.TIER1 && (entry.flags & FLAG_TIER1_EVICTED) !== 0 ? 'evicted' : stateName(entry.state),
        rawBytes: entry.dataBytes,
        compressedBytes: compressed,
        uploaded: (entry.flags & FLAG_UPLOADED) !== 0,
        evicted: (entry.flags & FLAG_TIER1_EVICTED) !== 0,
        files: [seg, t1].filter((f) => files.has(f)).map((f) => `${dirRel}/${f}`),
        inCatalog: true,
      });
    }
    // Files the catalog does not record: the active tail, or a crash between a file and its record.
    for (const file of files) {
      const rawId = parseSegmentFileName(file);
      const t1Id = parseTier1FileName(file);
      const baseId = rawId ?? t1Id;
      if (baseId === null || rows.has(baseId)) continue;
      if (rawId !== null) {
        const raw = await describeRawFile(join(root, STREAMS_DIR, name, file));
        rows.set(baseId, {
          stream: name,
          baseId,
          firstId: baseId,
          lastId: raw.records > 0 ? baseId + raw.records - 1 : null,
          records: raw.records,
          tier: 0,
          state: raw.sealed ? 'unrecorded' : 'active',
          rawBytes: raw.rawBytes,
          compressedBytes: 0,
          uploaded: false,
          evicted: false,
          files: [`${dirRel}/${file}`, ...(files.has(tier1FileName(baseId)) ? [`${dirRel}/${tier1FileName(baseId)}`] : [])],
          inCatalog: false,
        });
      } else {
        rows.set(baseId, {
          stream: name,
          baseId,
          firstId: baseId,
          lastId: null,
          records: 0,
          tier: 1,
          state: 'unrecorded',
          rawBytes: 0,
          compressedBytes: 0,
          uploaded: false,
          evicted: false,
          files: [`${dirRel}/${file}`],
          inCatalog: false,
        });
      }
    }
    out.push({ name, segments: [...rows.values()].sort((a, b) => a.baseId - b.baseId) });
  }
  return out;
}
