/**
 * Upload worker (a piscina task module): copies one complete Tier 1 file to the object store under
 * its deterministic key, and confirms it, so that the engine may then record it as uploaded and
 * treat the local file as an evictable cache copy.
 *
 *   1. read the whole local file; its length must be `expectedBytes` and its header, footer and
 *      frame index must decode (decodeTier1Image): a damaged file is AOF_ERR_CORRUPT with
 *      details.path and is never uploaded (Tier 2 must not become a second copy of damage);
 *   2. `store.put(key, bytes)`: atomic on every backend (whole object or nothing);
 *   3. the `upload` failpoint (see below);
 *   4. `store.size(key)` must equal the file's length: a store that acknowledges a put it did not
 *      keep (or keeps short) must not make the local copy evictable, so that is AOF_ERR_UNAVAILABLE
 *      and the engine retries;
 *   5. reply `{ objectBytes, frameIndex }`: the frame index decoded in step 1, compact
 *      (src/format/recorded-index.ts), which the engine records in the manifest with UPLOADED so a
 *      later cold read needs no index GETs; it describes exactly the bytes put.
 *
 * Where the failpoint sits, and why there: after the put, before the confirmation. A crash or an
 * injected error there leaves a complete, correct object that the engine has not been told about:
 * the case only chaos can produce on demand (a failed put is what any outage already exercises),
 * and the one idempotence must handle. The key is deterministic, so the retry rewrites identical
 * bytes under the same key: no duplicate, no orphan once the retry succeeds, and nothing is ever
 * recorded as uploaded without step 4. A crash at any earlier point leaves nothing at the key
 * (puts are atomic), so one point per task (as workers/failpoints.ts expects) covers the
 * interesting half of the space; real crashes cover the rest.
 *
 * Trade-offs: the file is read whole (a Tier 1 file is one compressed segment, a few MiB; a put
 * needs the whole body anyway, and a streamed body would cost retries their atomicity on some
 * stores). The frames themselves are not decompressed to check them: that would cost a full
 * decompression per upload, and a damaged frame is still caught by its CRC on every read, from
 * either tier. Stores are opened once per configuration per thread (workers/store-cache.ts).
 */
import { AofError, ErrorCode } from '../src/errors.js';
import { readRegularFile } from '../src/safe-fs.js';
import { decodeTier1Image, withPath } from '../src/format/tier1-file.js';
import { type ObjectStore } from '../src/tier2/object-store.js';
import { withObjectKey } from '../src/tier2/remote-meta.js';
import { TIER1_FOOTER_BYTES, TIER1_HEADER_BYTES, type FrameIndexEntry } from '../src/format/tier1.js';
import { recordedIndexOf } from '../src/format/recorded-index.js';
import { toWorkerError } from '../src/worker-error.js';
import { checkFailpointsConfig, failpoint } from './failpoints.js';
import { storeFor } from './store-cache.js';
import type { UploadResult, UploadTask } from './tier2-protocol.js';
import { parseSegmentKey } from '../src/format/root-layout.js';

function checkTask(task: UploadTask): void {
  if (typeof task.path !== 'string' || task.path === '') throw AofError.invalidArgument('upload task: path must be a file path', { field: 'path' });
  if (typeof task.key !== 'string' || task.key === '') throw AofError.invalidArgument('upload task: key must be an object key', { field: 'key' });
  const min = TIER1_HEADER_BYTES + TIER1_FOOTER_BYTES;
  if (!Number.isSafeInteger(task.expectedBytes) || task.expectedBytes < min) {
    throw AofError.invalidArgument(`upload task: expectedBytes must be an integer >= ${min} (a Tier 1 file), got ${task.expectedBytes}`, {
      field: 'expectedBytes',
      value: task.expectedBytes,
    });
  }
}

/** Reads and validates the local file (step 1 of the module comment): its bytes and its frame index. */
async function readLocal(task: UploadTask): Promise<{ bytes: Uint8Array; index: FrameIndexEntry[] }> {
  let bytes: Uint8Array;
  try {
    bytes = await readRegularFile(task.path);
  } catch (err) {
    throw err instanceof AofError ? err : AofError.io('read tier 1 file for upload', task.path, err);
  }
  if (bytes.length !== task.expectedBytes) {
    throw AofError.corrupt(`tier 1 file ${task.path} is ${bytes.length} bytes; the catalog says ${task.expectedBytes}`, {
      path: task.path,
      expected: task.expectedBytes,
      actual: bytes.length,
    });
  }
  let baseId: number;
  let index: FrameIndexEntry[];
  try {
    const meta = decodeTier1Image(bytes);
    baseId = meta.header.baseId;
    index = meta.index;
  } catch (err) {
    throw withPath(err, task.path, 'read tier 1 file for upload');
  }
  // A segment key names its base id: uploading another segment's file under it would be a caller
  // bug that silently swaps data between segments, so it is refused before anything is written.
  const parsed = parseSegmentKey(task.key);
  if (parsed !== null && parsed.baseId !== baseId) {
    throw AofError.invalidArgument(`upload task: ${task.path} holds segment ${baseId}, but key ${task.key} names segment ${parsed.baseId}`, {
      path: task.path,
      key: task.key,
      baseId,
    });
  }
  return { bytes, index };
}

/**
 * Uploads and confirms one Tier 1 file (see the module comment). Exported for in-thread use
 * (tests); the pool calls the default export, which opens the store and flattens errors.
 * @throws AOF_ERR_INVALID_ARGUMENT on an impossible task, or a segment key naming another segment
 * @throws AOF_ERR_CORRUPT (details.path) if the local file has the wrong length or does not decode;
 *   nothing is uploaded then
 * @throws AOF_ERR_INCOMPATIBLE (details.path) if the local file was written by a newer aof2
 * @throws AOF_ERR_IO (details.path) if the local file cannot be read
 * @throws AOF_ERR_UNAVAILABLE (details.key) if the store fails, or does not hold exactly the bytes
 *   after the put
 * @throws AOF_ERR_INJECTED from the `upload` failpoint (after the put, before the confirmation)
 */
export async function uploadObject(task: UploadTask, store: ObjectStore): Promise<UploadResult> {
  checkTask(task);
  const { bytes, index } = await readLocal(task);
  try {
    await store.put(task.key, bytes);
  } catch (err) {
    throw withObjectKey(err, task.key, store.location, 'put');
  }
  failpoint('upload', 'after-put');
  let objectBytes: number | null;
  try {
    objectBytes = await store.size(task.key);
  } catch (err) {
    throw withObjectKey(err, task.key, store.location, 'check size of');
  }
  if (objectBytes !== bytes.length) {
    throw new AofError(
      ErrorCode.UNAVAILABLE,
      `tier 2: after a put of ${bytes.length} bytes, ${task.key} at ${store.location} ${objectBytes === null ? 'is missing' : `holds ${objectBytes} bytes`}`,
      { details: { key: task.key, location: store.location, path: task.path, expectedBytes: bytes.length, objectBytes, storeCode: 'SIZE_MISMATCH' } },
    );
  }
  return { objectBytes, frameIndex: recordedIndexOf(index) };
}

/**
 * Piscina entry point.
 * @throws a plain SerializedAofError (rebuild with `fromWorkerRejection`), see workers/tier2-protocol.ts
 */
export default async function upload(task: UploadTask): Promise<UploadResult> {
  try {
    checkFailpointsConfig();
    return await uploadObject(task, await storeFor(task.store));
  } catch (err) {
    // A plain object on purpose: structured clone would strip an AofError's code and details.
    throw toWorkerError(err, { action: 'upload segment', path: task.path });
  }
}
