/**
 * Turns the manifest replicated in a Tier 2 store into what an aof2 from before FRAME_INDEX records
 * wrote: every FRAME_INDEX record is taken out of every chunk (the header's committed length,
 * record count and CRC recomputed, as that writer would have written them). Tests then rebuild
 * from the store and meet segments whose frame index the manifest does not hold: the old data the
 * read path must still serve (and record the index of).
 *
 * Chunks only: a snapshot's watermark is an offset into a chunk, which dropping records would
 * move, so a store holding a snapshot is refused (the tests' manifests are far below
 * `snapshotEvery`).
 */
import { crc32 } from 'node:zlib';
import {
  CHUNK_HEADER_BYTES,
  ManifestRecordType,
  decodeChunkHeader,
  decodeManifestRecord,
  encodeChunkHeaderInto,
  encodeManifestRecordInto,
  manifestRecordLength,
  type ManifestRecord,
} from '../src/format/manifest.js';
import { MANIFEST_PREFIX } from '../src/format/root-layout.js';
import type { ObjectStore } from '../src/tier2/object-store.js';

/** Rewrites the store's manifest chunks without FRAME_INDEX records; returns how many were dropped. */
export async function stripFrameIndexRecords(store: ObjectStore): Promise<number> {
  const objects = await store.list(MANIFEST_PREFIX);
  if (objects.some((o) => o.key.endsWith('.snap'))) throw new Error('stripFrameIndexRecords handles chunks only; the store holds a snapshot');
  let dropped = 0;
  for (const { key } of objects.filter((o) => o.key.endsWith('.mlog'))) {
    const bytes = await store.get(key);
    if (bytes === null) throw new Error(`manifest object ${key} vanished`);
    const header = decodeChunkHeader(bytes);
    const kept: ManifestRecord[] = [];
    let off = CHUNK_HEADER_BYTES;
    const end = CHUNK_HEADER_BYTES + header.committedBytes;
    while (off < end) {
      const r = decodeManifestRecord(bytes, off, end);
      if (!r.ok) throw new Error(`manifest object ${key}: a damaged record at ${off} (${r.reason})`);
      if (r.record.type === ManifestRecordType.FRAME_INDEX) dropped++;
      else kept.push(r.record);
      off = r.next;
    }
    let total = CHUNK_HEADER_BYTES;
    for (const r of kept) total += manifestRecordLength(r);
    const out = new Uint8Array(total);
    let p = CHUNK_HEADER_BYTES;
    for (const r of kept) p = encodeManifestRecordInto(out, p, r);
    encodeChunkHeaderInto(out, 0, {
      committedBytes: total - CHUNK_HEADER_BYTES,
      chunkSeq: header.chunkSeq,
      recordCount: kept.length,
      chunkCrc: crc32(out.subarray(CHUNK_HEADER_BYTES)),
      createdAt: header.createdAt,
    });
    await store.put(key, out);
  }
  return dropped;
}
