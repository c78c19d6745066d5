/**
 * The residency map: where every segment of every stream is, from the catalog (the manifest read
 * offline) and the files on disk. The catalog knows sealed segments; the disk also has the
 * active (unsealed) tail and files a crash left before their manifest record.
 *
 * Tiers, as the seed's residency dump numbers them: 0 = raw segment file (the arena's backing
 * file: active, sealed, or compression failed), 1 = local Tier 1 file (`.t1`), 2 = remote only
 * (Tier 2 object, local copy evicted). null = no usable copy (needs recovery without an upload,
 * or the retention tombstone).
 *
 * Which tier a segment is in is decided by recovery's own decision table (src/tier0/recovery-plan.ts,
 * on the facts recovery.ts `readStreamFacts` reads), run read-only: the tier the engine gives the
 * segment at its next open. Only a segment the table does not keep (a refused or leftover one)
 * falls back to what its catalog entry says ({@link tierOf}).
 */
import { readdir } from 'node:fs/promises';
import { isRealDirectory, listFiles } from '../../safe-fs.js';
import { join } from 'node:path';
import { FLAG_TIER1_EVICTED, FLAG_UPLOADED, SegmentState, type CatalogEntry } from '../../format/snapshot.js';
import type { Catalog } from '../../manifest/catalog.js';
import { planRecovery, type PlannedSegment, type RawFileFacts, type RecoveryPlan } from '../../tier0/recovery-plan.js';
import { readStreamFacts } from '../../tier0/recovery.js';
import { SegmentTier } from '../../tier0/segment.js';
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

/** Tier of a segment the decision table keeps. */
function plannedTier(p: PlannedSegment): Tier {
  if (p.tier === SegmentTier.RAW) return 0;
  if (p.tier === SegmentTier.TIER1) return 1;
  if (p.tier === SegmentTier.TIER2) return 2;
  return null;
}

/**
 * What the next open would decide for stream `name` (read-only): the facts of its files and the
 * decision table's plan, every refusal collected. segmentBytes is the largest possible: the admin
 * does not know the engine's configuration, and never refuses a file as too large for it.
 * @throws AOF_ERR_UNSAFE_PATH (a link among the stream's files), fs errors
 */
export async function readStreamPlan(root: string, name: string, catalog: Catalog): Promise<{ raw: ReadonlyMap<number, RawFileFacts>; plan: RecoveryPlan }> {
  const dir = join(root, STREAMS_DIR, name);
  const entries = new Map(catalog.entries(name).map((e) => [e.baseId, e]));
  const facts = (await isRealDirectory(dir))
    ? await readStreamFacts(dir, entries)
    : { listing: { raw: [], tier1: [], temp: [] }, raw: new Map<number, RawFileFacts>(), tier1: new Map() };
  const plan = planRecovery({ dir: `${STREAMS_DIR}/${name}`, stream: name, segmentBytes: Number.MAX_SAFE_INTEGER, catalog: entries, rebuilt: false, ...facts, now: 0, collectRefusals: true });
  return { raw: facts.raw, plan };
}

/** Counts of a raw file from its facts: the footer when sealed, else the valid frames. */
function describeRawFile(facts: RawFileFacts | undefined): { records: number; rawBytes: number; sealed: boolean } {
  if (facts?.footer != null) return { records: facts.footer.recordCount, rawBytes: facts.footer.dataBytes, sealed: true };
  return { records: facts?.scan?.count ?? 0, rawBytes: facts?.scan?.validBytes ?? 0, sealed: false };
}

/** The residency of every stream (or of `only`), segments in ascending id order. */
export async function readResidency(root: string, catalog: Catalog, only: string | null = null): Promise<StreamResidency[]> {
  const out: StreamResidency[] = [];
  for (const name of await streamNames(root, catalog)) {
    if (only !== null && name !== only) continue;
    const dirRel = `${STREAMS_DIR}/${name}`;
    const files = new Set(await listDir(join(root, STREAMS_DIR, name)));
    const { raw: rawFacts, plan } = await readStreamPlan(root, name, catalog);
    const planned = new Map(plan.segments.map((p) => [p.baseId, p]));
    const rows = new Map<number, SegmentRow>();
    for (const entry of catalog.entries(name)) {
      const seg = segmentFileName(entry.baseId);
      const t1 = tier1FileName(entry.baseId);
      const p = entry.state === SegmentState.DELETED ? undefined : planned.get(entry.baseId);
      const tier = p === undefined ? tierOf(entry) : plannedTier(p);
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
        const raw = describeRawFile(rawFacts.get(rawId));
        rows.set(baseId, {
          stream: name,
          baseId,
          firstId: baseId,
          lastId: raw.records > 0 ? baseId + raw.records - 1 : null,
          records: raw.records,
          tier: 0,
          // The tail a clean close left with a footer is still the active segment (the next open continues it).
          state: raw.sealed && planned.get(rawId)?.resume == null ? 'unrecorded' : 'active',
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
