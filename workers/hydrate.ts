/**
 * Hydrate worker (a piscina task module): brings one zstd frame of a Tier 1 file back into shared
 * memory, so a point read costs one frame (typically 256 KiB of records), never the segment. The
 * file is either local (Tier 1) or an object in Tier 2 holding it byte for byte: only step 1
 * differs, so both tiers share the decode checks, the failpoint and the publication.
 *
 *   1. exactly `entry.compressedBytes` at `entry.fileOffset`: one positional read of the local
 *      file, or one ranged GET of the object (never the whole object);
 *   2. decompress, check the length against `entry.rawBytes` and crc32 against `entry.rawCrc`;
 *   3. the `hydrate` failpoint (before shared memory is touched: a crash here publishes nothing);
 *   4. copy the raw bytes to `sab[targetOffset, targetOffset + rawBytes)`, then publish:
 *      `Atomics.or` the bitmap bit, `Atomics.add` the progress word, `Atomics.notify` it.
 *
 * Race note: the copy is plain stores and the bitmap update is a sequentially consistent atomic
 * after them, so a reader that sees the bit with `Atomics.load` also sees every byte of the frame.
 * The progress word is for waiters (`Atomics.waitAsync` on the main thread): it only says
 * "something changed", the bitmap says what.
 *
 * Trade-offs: the local compressed read is synchronous (this thread has nothing else to do, and it
 * saves a libuv pool hop); the ranged GET is asynchronous (network or store I/O); decompression is asynchronous (native, on the libuv pool) and lands in a fresh
 * buffer that is then copied into the SAB, because the binding cannot decompress into caller
 * memory: one extra memcpy of at most a frame, small next to zstd's own cost.
 */
import { closeSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { OpenMode, openFileSync } from '../src/safe-fs.js';
import { ZSTD_BINDING, loadZstd, type Codec } from '../src/codec/zstd.js';
import { AofError } from '../src/errors.js';
import { scanFrames } from '../src/format/record.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, tryDecodeFooter } from '../src/format/segment.js';
import type { FrameIndexEntry } from '../src/format/tier1.js';
import { decodeFrame, withPath } from '../src/format/tier1-file.js';
import { missingObject, withObjectKey } from '../src/tier2/remote-meta.js';
import { toWorkerError } from '../src/worker-error.js';
import { checkFailpointsConfig, failpoint } from './failpoints.js';
import { storeFor } from './store-cache.js';
import type { HydrateResult, HydrateSource, HydrateTask, SegmentLoadTask, WarmTask } from './tier1-protocol.js';

function checkTask(task: HydrateTask): void {
  const int = (name: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw AofError.invalidArgument(`hydrate task: ${name} must be an integer in [${min}, ${max}], got ${v}`, { field: name, value: v });
    }
  };
  const src = task.source as HydrateSource | undefined;
  const sourceOk =
    src?.kind === 'file'
      ? typeof src.path === 'string' && src.path !== ''
      : src?.kind === 'object' && typeof src.key === 'string' && src.key !== '' && typeof src.store === 'object' && src.store !== null;
  if (!sourceOk) {
    throw AofError.invalidArgument("hydrate task: source must be { kind: 'file', path } or { kind: 'object', store, key }", { field: 'source' });
  }
  const bytes = task.sab.byteLength;
  const words = bytes >>> 2;
  int('entry.rawBytes', task.entry.rawBytes, 0, bytes);
  int('entry.compressedBytes', task.entry.compressedBytes, 1, 0xffff_ffff);
  int('entry.fileOffset', task.entry.fileOffset, 0, Number.MAX_SAFE_INTEGER);
  int('targetOffset', task.targetOffset, 0, bytes - task.entry.rawBytes);
  int('bitmapIndex', task.bitmapIndex, 0, words - 1);
  int('bitmapBit', task.bitmapBit, 0, 31);
  int('progressIndex', task.progressIndex, 0, words - 1);
  // Control words inside the target region would be overwritten by record bytes: a caller bug.
  const end = task.targetOffset + task.entry.rawBytes;
  for (const [name, word] of [['bitmapIndex', task.bitmapIndex], ['progressIndex', task.progressIndex]] as const) {
    if (word * 4 < end && word * 4 + 4 > task.targetOffset) {
      throw AofError.invalidArgument(`hydrate task: ${name} ${word} lies inside the target region [${task.targetOffset}, ${end})`, { field: name, value: word });
    }
  }
}

/** One positional read of the frame's compressed bytes from a local file. */
function readCompressed(entry: FrameIndexEntry, path: string): Uint8Array {
  const out = new Uint8Array(entry.compressedBytes);
  let fd: number;
  try {
    fd = openFileSync(path, OpenMode.READ);
  } catch (err) {
    throw err instanceof AofError ? err : AofError.io('open tier 1 file', path, err);
  }
  try {
    let got = 0;
    while (got < out.length) {
      // One call in practice; the loop only covers the short reads POSIX allows.
      const n = readSync(fd, out, got, out.length - got, entry.fileOffset + got);
      if (n === 0) {
        throw AofError.corrupt(`tier 1 file ends inside frame at ${entry.fileOffset} (read ${got} of ${out.length} bytes)`, { path, fileOffset: entry.fileOffset });
      }
      got += n;
    }
    return out;
  } catch (err) {
    throw err instanceof AofError ? err : AofError.io('read tier 1 frame', path, err);
  } finally {
    closeSync(fd);
  }
}

/**
 * One ranged GET of the frame's compressed bytes from a Tier 2 object, decoded.
 *
 * Two different answers for "not the bytes I asked for", on purpose: no object at all (null) is
 * AOF_ERR_UNAVAILABLE, because nothing is wrong with any data: the object is simply not there
 * (deleted by retention, not uploaded yet, another bucket), and the engine may look elsewhere or
 * later. An object that is there but ends inside the frame is AOF_ERR_CORRUPT: the store clamps a
 * range at the end, so a short answer means the object is shorter than the index it was read
 * with (truncated, or replaced by something else), and fetching again returns the same bytes.
 */
async function fetchFrame(task: HydrateTask, source: Extract<HydrateSource, { kind: 'object' }>, codec: Codec): Promise<Uint8Array> {
  const { entry } = task;
  const store = await storeFor(source.store);
  try {
    const compressed = await store.get(source.key, { offset: entry.fileOffset, length: entry.compressedBytes });
    if (compressed === null) throw missingObject(source.key, store.location, 'hydrate frame');
    if (compressed.length < entry.compressedBytes) {
      throw AofError.corrupt(`tier 1 object ends inside frame at ${entry.fileOffset} (got ${compressed.length} of ${entry.compressedBytes} bytes)`, {
        fileOffset: entry.fileOffset,
        expected: entry.compressedBytes,
        actual: compressed.length,
      });
    }
    return await decodeFrame(compressed, entry, codec);
  } catch (err) {
    throw withObjectKey(err, source.key, store.location, 'read tier 1 frame from');
  }
}

/**
 * Loads one frame into shared memory and publishes it (see the module comment). Exported for
 * in-thread use; the pool calls the default export, which flattens errors.
 * @throws AOF_ERR_INVALID_ARGUMENT on an impossible task (target outside the SAB, bad word index or
 *   bit, a malformed source), or an unusable store configuration
 * @throws AOF_ERR_CORRUPT (details.path for a file, details.key for an object) if the frame is
 *   short, not valid zstd, or fails its length or CRC check
 * @throws AOF_ERR_INJECTED from the `hydrate` failpoint
 * @throws AOF_ERR_IO if the local file cannot be opened or read
 * @throws AOF_ERR_UNAVAILABLE (details.key) if the object does not exist or the store fails
 */
export async function hydrateFrame(task: HydrateTask, codec: Codec): Promise<HydrateResult> {
  checkTask(task);
  let raw: Uint8Array;
  const { source } = task;
  if (source.kind === 'object') {
    raw = await fetchFrame(task, source, codec);
  } else {
    try {
      raw = await decodeFrame(readCompressed(task.entry, source.path), task.entry, codec);
    } catch (err) {
      throw withPath(err, source.path, 'read tier 1 frame');
    }
  }
  failpoint('hydrate', 'before-publish');
  new Uint8Array(task.sab, task.targetOffset, raw.length).set(raw);
  const ctrl = new Int32Array(task.sab, 0, task.sab.byteLength >>> 2);
  Atomics.or(ctrl, task.bitmapIndex, 1 << task.bitmapBit);
  Atomics.add(ctrl, task.progressIndex, 1);
  Atomics.notify(ctrl, task.progressIndex);
  return { rawBytes: raw.length };
}

/**
 * Piscina entry point.
 * @throws a plain SerializedAofError (rebuild with `fromWorkerRejection`), see workers/tier1-protocol.ts
 */
export default async function hydrate(task: HydrateTask): Promise<HydrateResult> {
  try {
    checkFailpointsConfig();
    return await hydrateFrame(task, loadZstd());
  } catch (err) {
    // A plain object on purpose: structured clone would strip an AofError's code and details.
    // For an object the key stands in for the path: it is what names the bytes.
    const where = task.source?.kind === 'object' ? task.source.key : String(task.source?.path);
    throw toWorkerError(err, { action: 'hydrate frame', path: where });
  }
}

/**
 * Piscina entry point of the warm-up task (`pool.run(task, { name: 'warm' })`) the read path runs
 * when the manager opens: starting this thread and loading the zstd binding is most of the first
 * cold read's cost (~80-150 ms on the project's VMs), so it is paid in `open()` instead. The
 * binding is loaded only when Tier 1 is on (`task.codec`): without it no frame is decompressed, and
 * a process that never compresses loads no native addon.
 * @throws a plain SerializedAofError (rebuild with `fromWorkerRejection`) if the binding cannot load
 */
export function warm(task: WarmTask): void {
  try {
    checkFailpointsConfig();
    if (task.codec) loadZstd();
  } catch (err) {
    throw toWorkerError(err, { action: 'warm up the hydrate worker', path: ZSTD_BINDING });
  }
}

/** Reads until `out` is full or the file ends; returns the bytes read (POSIX allows short reads). */
function readFully(fd: number, out: Uint8Array, position: number): number {
  let got = 0;
  while (got < out.length) {
    const n = readSync(fd, out, got, out.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * Loads a raw segment's data region into shared memory and checks it: against the footer for a
 * sealed segment, frame by frame (length bounds and CRC) for one the flush worker still has open
 * (see SegmentLoadTask). Exported for in-thread use (the unit tests); the pool calls the
 * `loadSegment` export, which flattens errors.
 *
 * Why here and not on the main thread: the CRC walks every byte of the segment (megabytes), which
 * on the main thread stalls every appender and reader for as long. The read is synchronous for
 * the same reason as the frame read above: this thread has nothing else to do.
 *
 * @throws AOF_ERR_CORRUPT (details.path; details.stored and details.actual for a CRC mismatch) if
 *   the file is shorter than the catalog says, has no footer, or its data fails the CRC; for an
 *   open segment (details.path, details.offset) if its frames do not check out
 * @throws AOF_ERR_IO if the file cannot be opened or read; AOF_ERR_UNSAFE_PATH for a link
 */
export function loadSegmentInto(task: SegmentLoadTask): void {
  const { path, dataBytes } = task;
  if (!Number.isInteger(dataBytes) || dataBytes < 0 || !Number.isInteger(task.targetOffset) || task.targetOffset < 0 || task.targetOffset + dataBytes > task.sab.byteLength) {
    throw AofError.invalidArgument(`segment load task: target [${task.targetOffset}, +${dataBytes}) is outside the shared memory`, { field: 'targetOffset', value: task.targetOffset });
  }
  let fd: number;
  try {
    fd = openFileSync(path, OpenMode.READ);
  } catch (err) {
    throw err instanceof AofError ? err : AofError.io('hydrate segment', path, err);
  }
  try {
    const target = new Uint8Array(task.sab, task.targetOffset, dataBytes);
    const bytesRead = readFully(fd, target, SEGMENT_HEADER_BYTES);
    if (task.check === 'frames') {
      checkFrames(task, target, bytesRead);
      return;
    }
    const tail = new Uint8Array(SEGMENT_FOOTER_BYTES);
    readFully(fd, tail, SEGMENT_HEADER_BYTES + dataBytes);
    const footer = tryDecodeFooter(tail);
    if (bytesRead !== dataBytes || footer === null || footer.dataBytes !== dataBytes) {
      throw AofError.corrupt(`segment ${path} changed on disk: footer missing or length differs`, { path });
    }
    const actual = crc32(target);
    if (actual !== footer.dataCrc) {
      throw AofError.corrupt(`segment ${path} data CRC mismatch`, { path, stored: footer.dataCrc, actual });
    }
  } catch (err) {
    throw err instanceof AofError ? err : AofError.io('hydrate segment', path, err);
  } finally {
    closeSync(fd);
  }
}

/** The written prefix of an open segment: `recordCount` valid frames, exactly `dataBytes` of them. */
function checkFrames(task: SegmentLoadTask, target: Uint8Array, bytesRead: number): void {
  const { path, dataBytes } = task;
  if (bytesRead !== dataBytes) {
    throw AofError.corrupt(`segment ${path} holds ${bytesRead} of the ${dataBytes} data bytes written to it`, { path, offset: SEGMENT_HEADER_BYTES + bytesRead });
  }
  const scan = scanFrames(target, 0, dataBytes);
  if (scan.validBytes !== dataBytes || scan.count !== task.recordCount) {
    throw AofError.corrupt(`segment ${path}: ${scan.count} of ${task.recordCount} frames check out (${scan.stopReason ?? 'too few frames'})`, {
      path,
      offset: SEGMENT_HEADER_BYTES + scan.validBytes,
    });
  }
}

/**
 * Piscina entry point for raw segment loads (`pool.run(task, { name: 'loadSegment' })`). No
 * failpoint: the `hydrate` failpoints have always meant frame fills, and the chaos suites count
 * them as such.
 * @throws a plain SerializedAofError (rebuild with `fromWorkerRejection`)
 */
export function loadSegment(task: SegmentLoadTask): void {
  try {
    loadSegmentInto(task);
  } catch (err) {
    throw toWorkerError(err, { action: 'hydrate segment', path: String(task.path) });
  }
}
