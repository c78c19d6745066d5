/**
 * The frame index the manifest records for a segment uploaded to Tier 2 (the FRAME_INDEX record,
 * src/format/manifest.ts, and the catalog snapshot from version 2, src/format/snapshot.ts), so the
 * first read of a record of a segment only Tier 2 holds is one ranged GET of its frame, not two
 * GETs for the index first (docs/decisions.md, "Frame indexes in the manifest").
 *
 * A compact form of the Tier 1 file's own index (src/format/tier1.ts): per frame only what cannot
 * be derived, 16 bytes instead of 32. Every entry, little-endian:
 * ```
 * 0   4  recordCount      u32  records in the frame
 * 4   4  rawBytes         u32  raw bytes of the frame (whole record frames, a multiple of 8)
 * 8   4  compressedBytes  u32  bytes of the zstd frame in the file
 * 12  4  rawCrc           u32  zlib.crc32 of the frame's raw bytes (checked after decompression)
 * ```
 * The rest of each Tier 1 index entry follows by prefix sums, because a Tier 1 file (version 1)
 * tiles everything in order: `firstRecord` = the records of the frames before it, `rawOffset` = their
 * raw bytes, `fileOffset` = 64 (the header) + their compressed bytes. The expansion
 * ({@link expandRecordedIndex}) checks the same invariants as `decodeFrameIndex` and ties the sums to
 * the segment as the catalog knows it (records, raw bytes, file size), so an index that does not
 * describe the object is refused before any frame is fetched with it.
 *
 * Trade-offs: 16 bytes per frame (256 bytes for a default 4 MiB segment of 256 KiB frames) in the
 * manifest, the snapshot and memory, for one round trip less on the first read of every Tier 2
 * segment; segments of more than {@link MAX_RECORDED_FRAMES} frames are not recorded (their reads
 * fetch the index from the object, as before), which bounds a record at 64 KiB.
 */
import { AofError } from '../errors.js';
import { viewOf as view } from './bytes.js';
import { TIER1_FOOTER_BYTES, TIER1_HEADER_BYTES, TIER1_INDEX_ENTRY_BYTES, checkPossibleFrame, type FrameIndexEntry } from './tier1.js';

export const RECORDED_INDEX_ENTRY_BYTES = 16;
/**
 * Most frames a recorded index holds: a 1 GiB segment (the largest `tier0.segmentBytes`) at the
 * default 256 KiB frames. Past it the index is not recorded (a record would pass 64 KiB).
 */
export const MAX_RECORDED_FRAMES = 4096;
const U32 = 0xffff_ffff;

/**
 * The compact form of a validated Tier 1 index (decodeFrameIndex's output), or null when it has
 * more than {@link MAX_RECORDED_FRAMES} frames (then nothing is recorded).
 * @throws AOF_ERR_INVALID_ARGUMENT if a field does not fit a u32 (never from a decoded index)
 */
export function recordedIndexOf(entries: readonly FrameIndexEntry[]): Uint8Array | null {
  if (entries.length > MAX_RECORDED_FRAMES) return null;
  const out = new Uint8Array(entries.length * RECORDED_INDEX_ENTRY_BYTES);
  const v = view(out);
  entries.forEach((e, i) => {
    for (const [name, value] of [
      ['recordCount', e.recordCount],
      ['rawBytes', e.rawBytes],
      ['compressedBytes', e.compressedBytes],
      ['rawCrc', e.rawCrc],
    ] as const) {
      if (!Number.isInteger(value) || value < 0 || value > U32) {
        throw AofError.invalidArgument(`recorded frame index: ${name} of frame ${i} must be a u32, got ${value}`, { field: name, value, frame: i });
      }
    }
    const o = i * RECORDED_INDEX_ENTRY_BYTES;
    v.setUint32(o, e.recordCount, true);
    v.setUint32(o + 4, e.rawBytes, true);
    v.setUint32(o + 8, e.compressedBytes, true);
    v.setUint32(o + 12, e.rawCrc, true);
  });
  return out;
}

/** The segment as the catalog knows it: what a recorded index must describe exactly. */
export interface RecordedIndexSegment {
  frameCount: number;
  recordCount: number;
  dataBytes: number;
  /** Size of the Tier 1 file (and of its Tier 2 object). */
  fileBytes: number;
}

/**
 * Expands a recorded index into the Tier 1 index entries it stands for (fresh objects), checking it
 * against `seg`.
 * @throws AOF_ERR_CORRUPT when the bytes cannot be `seg`'s index: a length other than 16 per frame,
 *   an empty or misaligned frame, or sums that miss the segment's records, raw bytes or file size
 */
export function expandRecordedIndex(bytes: Uint8Array, seg: RecordedIndexSegment): FrameIndexEntry[] {
  if (bytes.length !== seg.frameCount * RECORDED_INDEX_ENTRY_BYTES) {
    throw AofError.corrupt(`recorded frame index is ${bytes.length} bytes; ${seg.frameCount} frames take ${seg.frameCount * RECORDED_INDEX_ENTRY_BYTES}`, {
      bytes: bytes.length,
      frameCount: seg.frameCount,
    });
  }
  const v = view(bytes);
  const entries: FrameIndexEntry[] = [];
  let firstRecord = 0;
  let rawOffset = 0;
  let fileOffset = TIER1_HEADER_BYTES;
  for (let i = 0; i < seg.frameCount; i++) {
    const o = i * RECORDED_INDEX_ENTRY_BYTES;
    const e: FrameIndexEntry = {
      firstRecord,
      recordCount: v.getUint32(o, true),
      rawOffset,
      rawBytes: v.getUint32(o + 4, true),
      fileOffset,
      compressedBytes: v.getUint32(o + 8, true),
      rawCrc: v.getUint32(o + 12, true),
    };
    checkPossibleFrame(e, i, 'recorded frame index'); // the same rule as decodeFrameIndex
    firstRecord += e.recordCount;
    rawOffset += e.rawBytes;
    fileOffset += e.compressedBytes;
    entries.push(e);
  }
  const fileBytes = fileOffset + seg.frameCount * TIER1_INDEX_ENTRY_BYTES + TIER1_FOOTER_BYTES;
  if (firstRecord !== seg.recordCount || rawOffset !== seg.dataBytes || fileBytes !== seg.fileBytes) {
    throw AofError.corrupt('recorded frame index does not describe the segment', {
      records: firstRecord,
      expectedRecords: seg.recordCount,
      rawBytes: rawOffset,
      expectedRawBytes: seg.dataBytes,
      fileBytes,
      expectedFileBytes: seg.fileBytes,
    });
  }
  return entries;
}
