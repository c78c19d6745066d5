/**
 * Tier 1 metadata (header, frame index, footer) of a segment that lives only in Tier 2, read with
 * two ranged GETs instead of downloading the object.
 *
 * ```
 * object offset                     fetched by
 * 0 .. 64                           GET #1  header
 * 64 .. indexOffset                 (frames: never fetched here)
 * objectBytes - (32F + 64) .. end   GET #2  frame index (32 bytes per frame) + footer, asking for
 *                                           one byte more than that (see below)
 * ```
 * Both ranges are known up front from the catalog (object size and frame count), so the two GETs
 * run in parallel: one round trip of latency instead of the two a local reader pays (footer,
 * then index). The bytes are then validated exactly like a local file
 * (`decodeTier1HeadAndTail` in src/format/tier1-file.ts shares readTier1Meta's checks), plus one
 * more: the footer's frame count must be the catalog's.
 *
 * The extra byte is how the object's size gets checked without a third request (readTier1Meta
 * checks the file's size with fstat): stores clamp a range at the object's end, so the tail GET
 * returns exactly the tail only if the object ends where the catalog says. One byte more means a
 * longer object (a valid file followed by anything else would otherwise pass unnoticed), less
 * means a shorter one.
 *
 * Error mapping, and why: a missing object is AOF_ERR_UNAVAILABLE (nothing is wrong with the
 * data; it is not there: deleted by retention, not uploaded yet, another bucket; the caller may
 * try another copy or later); bytes that are there but do not decode, or an object shorter than
 * the catalog says, are AOF_ERR_CORRUPT (fetching again returns the same bytes, so retrying cannot
 * help). Every error names the object in `details.key`.
 */
import { AofError, ErrorCode } from '../errors.js';
import { TIER1_FOOTER_BYTES, TIER1_HEADER_BYTES, TIER1_INDEX_ENTRY_BYTES } from '../format/tier1.js';
import { decodeTier1HeadAndTail, type Tier1Meta } from '../format/tier1-file.js';
import type { ObjectStore } from './object-store.js';

/**
 * Re-raises an error met while working on object `key`: a coded error keeps its code and gains
 * `details.key` (and `details.location`, the store); anything else (a backend breaking the
 * ObjectStore contract, which promises coded errors) becomes AOF_ERR_UNAVAILABLE, so the caller
 * retries it like an outage rather than trusting it.
 */
export function withObjectKey(err: unknown, key: string, location: string, action: string): AofError {
  if (err instanceof AofError) {
    if (err.details?.['key'] !== undefined) return err;
    return new AofError(err.code, `${location} ${key}: ${err.message}`, { cause: err, details: { ...err.details, key, location } });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new AofError(ErrorCode.UNAVAILABLE, `tier 2: ${action} ${key} at ${location} failed: ${message}`, { cause: err, details: { key, location } });
}

/** AOF_ERR_UNAVAILABLE for an object that is not in the store. */
export function missingObject(key: string, location: string, action: string): AofError {
  return new AofError(ErrorCode.UNAVAILABLE, `tier 2: ${action}: no object ${key} at ${location}`, { details: { key, location, storeCode: 'NoSuchKey' } });
}

/**
 * Fetches and validates the metadata of the Tier 1 object `key` (see the module comment).
 * `objectBytes` and `frameCount` come from the catalog (the upload's confirmed size and the
 * compression's frame count). The result equals what readTier1Meta returns for the same file
 * (`fileBytes` is `objectBytes`) and is owned by the caller.
 * @throws AOF_ERR_INVALID_ARGUMENT if objectBytes and frameCount cannot describe a Tier 1 file
 * @throws AOF_ERR_UNAVAILABLE (details.key) if there is no such object, or the store fails
 * @throws AOF_ERR_CORRUPT (details.key) if the object is shorter than objectBytes, fails any check
 *   readTier1Meta makes (its size included), or holds a frame count other than `frameCount`
 * @throws AOF_ERR_INCOMPATIBLE (details.key) if the object was written by a newer aof2
 */
export async function fetchTier1Meta(store: ObjectStore, key: string, objectBytes: number, frameCount: number): Promise<Tier1Meta> {
  if (!Number.isInteger(frameCount) || frameCount < 0 || frameCount > 0xffff_ffff) {
    throw AofError.invalidArgument(`fetchTier1Meta: frameCount must be an integer in [0, 2^32), got ${frameCount}`, { key, frameCount });
  }
  const tailBytes = frameCount * TIER1_INDEX_ENTRY_BYTES + TIER1_FOOTER_BYTES;
  if (!Number.isSafeInteger(objectBytes) || objectBytes < TIER1_HEADER_BYTES + tailBytes) {
    throw AofError.invalidArgument(`fetchTier1Meta: an object of ${objectBytes} bytes cannot hold a header and a ${frameCount}-frame index and footer`, {
      key,
      objectBytes,
      frameCount,
    });
  }
  const where = store.location;
  try {
    const [head, tail] = await Promise.all([
      store.get(key, { offset: 0, length: TIER1_HEADER_BYTES }),
      store.get(key, { offset: objectBytes - tailBytes, length: tailBytes + 1 }),
    ]);
    if (head === null || tail === null) throw missingObject(key, where, 'read tier 1 metadata');
    if (head.length !== TIER1_HEADER_BYTES || tail.length !== tailBytes) {
      // Ranges are clamped at the object's end: a short answer means a shorter object, the extra
      // byte arriving means a longer one.
      const how = tail.length > tailBytes ? 'longer' : 'shorter';
      throw AofError.corrupt(`tier 1 object is ${how} than the catalog's ${objectBytes} bytes (got ${head.length} of ${TIER1_HEADER_BYTES} header and ${tail.length} of ${tailBytes} tail bytes)`, {
        objectBytes,
        headBytes: head.length,
        tailBytes: tail.length,
      });
    }
    const meta = decodeTier1HeadAndTail(head, tail, objectBytes);
    if (meta.footer.frameCount !== frameCount) {
      throw AofError.corrupt(`tier 1 object has ${meta.footer.frameCount} frames; the catalog says ${frameCount}`, { frameCount: meta.footer.frameCount, expected: frameCount });
    }
    return meta;
  } catch (err) {
    throw withObjectKey(err, key, where, 'read tier 1 metadata');
  }
}
