/**
 * Rebuilding a root from Tier 2 alone (a new machine pointed at the same bucket and prefix).
 *
 * 1. `restoreManifest`: when the local manifest directory holds no chunk and no snapshot, every
 *    replicated manifest file (src/tier2/manifest-replica.ts) is copied down before the manifest
 *    is opened, so the ordinary replay rebuilds the catalog. The files land in a sibling staging
 *    directory (fsynced) that is renamed into place in one step: a crash mid-restore leaves no
 *    manifest at all, and the next open restores again from scratch.
 * 2. Stream recovery (src/tier0/recovery.ts, `rebuilt`) turns uploaded segments into TIER2 ones and
 *    drops what Tier 2 never received.
 * 3. `adoptUploadedObjects`: segments uploaded after the last manifest sync are found by listing
 *    the stream's objects; each one that continues the stream is verified (header, footer, frame
 *    index by ranged GETs) and recorded, its frame index too, which shrinks the loss window to
 *    segments never uploaded.
 */
import { readdir, rename, rm } from 'node:fs/promises';
import { makeDirectory } from '../make-directory.js';
import { fsyncDir, writeFileAtomically } from '../durable-file.js';
import { dirname, join } from 'node:path';
import { ManifestRecordType, type ManifestRecord } from '../format/manifest.js';
import { TIER1_FOOTER_BYTES, decodeTier1Footer } from '../format/tier1.js';
import { recordedIndexOf } from '../format/recorded-index.js';
import { AofError } from '../errors.js';
import { Segment, SegmentTier } from '../tier0/segment.js';
import { sealedRecord } from '../manifest/records.js';
import { type ObjectStore } from './object-store.js';
import { fetchTier1Meta } from './remote-meta.js';
import { isManifestObjectName, MANIFEST_PREFIX, parseSegmentKey, RESTORE_SUFFIX, segmentPath, streamPrefix, tier1Path } from '../format/root-layout.js';


/**
 * Copies the replicated manifest into `dir` when `dir` holds none. Returns the number of files
 * restored (0: the local manifest exists, or Tier 2 holds none: a fresh root).
 * @throws AOF_ERR_UNAVAILABLE if the store cannot be listed or read; AOF_ERR_IO on local writes
 */
export async function restoreManifest(dir: string, store: ObjectStore): Promise<number> {
  const local = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw AofError.io('list manifest directory', dir, err);
  });
  if (local.some(isManifestObjectName)) return 0;
  const names = (await store.list(MANIFEST_PREFIX)).map((o) => o.key.slice(MANIFEST_PREFIX.length)).filter(isManifestObjectName);
  if (names.length === 0) return 0;
  const staging = dir + RESTORE_SUFFIX;
  try {
    await rm(staging, { recursive: true, force: true });
    await makeDirectory(staging);
  } catch (err) {
    throw AofError.io('create manifest staging directory', staging, err);
  }
  let restored = 0;
  for (const name of names) {
    const bytes = await store.get(MANIFEST_PREFIX + name);
    if (bytes === null) continue; // pruned by the writer between list and get
    try {
      await writeFileAtomically(join(staging, name), bytes);
    } catch (err) {
      throw AofError.io('restore manifest file', join(staging, name), err);
    }
    restored++;
  }
  try {
    await fsyncDir(staging);
    await rm(dir, { recursive: true, force: true }); // empty (or only temp files): nothing to lose
    await rename(staging, dir);
    await fsyncDir(dirname(dir));
  } catch (err) {
    throw AofError.io('install restored manifest', dir, err);
  }
  return restored;
}


/** Segments adopted from the bucket listing, and the manifest records that describe them. */
export interface AdoptedObjects {
  segments: Segment[];
  records: ManifestRecord[];
  nextId: number;
  /**
   * Keys of objects past a gap (a later segment uploaded while an earlier one never was): their
   * ids are about to be given out again, so they must go before anything could adopt them.
   */
  stale: string[];
}

/**
 * Finds the stream's objects that continue it at `nextId` (uploaded after the last manifest sync)
 * and returns them as TIER2 segments, stopping at the first gap; objects past the gap are listed
 * as stale.
 * @throws AOF_ERR_UNAVAILABLE, AOF_ERR_CORRUPT (an object that does not verify)
 */
export async function adoptUploadedObjects(store: ObjectStore, dir: string, stream: string, nextId: number): Promise<AdoptedObjects> {
  const out: AdoptedObjects = { segments: [], records: [], nextId, stale: [] };
  const objects = (await store.list(streamPrefix(stream)))
    .map((o) => ({ ...o, parsed: parseSegmentKey(o.key) }))
    .filter((o) => o.parsed !== null && o.parsed.baseId >= nextId)
    .sort((a, b) => a.parsed!.baseId - b.parsed!.baseId);
  let gap = false;
  for (const object of objects) {
    if (gap || object.parsed!.baseId !== out.nextId) {
      gap = true;
      out.stale.push(object.key);
      continue;
    }
    const tail = await store.get(object.key, { offset: Math.max(0, object.size - TIER1_FOOTER_BYTES), length: TIER1_FOOTER_BYTES });
    if (tail === null || tail.length !== TIER1_FOOTER_BYTES) {
      gap = true;
      out.stale.push(object.key);
      continue;
    }
    const footer = decodeTier1Footer(tail);
    const meta = await fetchTier1Meta(store, object.key, object.size, footer.frameCount);
    const id = object.parsed!.baseId;
    if (meta.header.baseId !== id) throw AofError.corrupt(`tier 2 object ${object.key} holds base id ${meta.header.baseId}`, { key: object.key });
    const seg = Segment.restored(id, segmentPath(dir, id), tier1Path(dir, id), {
      count: meta.header.recordCount,
      dataBytes: meta.header.dataBytes,
      tier: SegmentTier.TIER2,
      dataCrc: meta.header.dataCrc,
      maxTimestamp: meta.header.createdAt,
      compressedBytes: object.size,
      frameCount: meta.index.length,
      frameIndex: meta.index,
      uploaded: true,
      key: object.key,
    });
    out.segments.push(seg);
    out.records.push(
      sealedRecord(stream, seg),
      { type: ManifestRecordType.COMPRESSION_DONE, stream, baseId: id, fields: { compressedBytes: object.size, frameCount: seg.frameCount } },
      { type: ManifestRecordType.UPLOADED, stream, baseId: id, fields: { objectBytes: object.size } },
      { type: ManifestRecordType.EVICTED, stream, baseId: id, fields: {} },
    );
    // The index just read, recorded as an upload would have: the next process reads it in one GET.
    const frames = recordedIndexOf(meta.index);
    if (frames !== null) out.records.push({ type: ManifestRecordType.FRAME_INDEX, stream, baseId: id, fields: { frameCount: meta.index.length }, frames });
    out.nextId = seg.endId;
  }
  return out;
}
