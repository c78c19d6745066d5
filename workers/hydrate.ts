/**
 * Hydrate worker (a piscina task module): brings one zstd frame of a Tier 1 file back into shared
 * memory, so a point read costs one frame (typically 256 KiB of records), never the segment; or a
 * few consecutive frames at once (`task.following`: a scan's read-ahead from Tier 2, where one
 * request for several frames costs little more than one for a frame). The file is either local
 * (Tier 1) or an object in Tier 2 holding it byte for byte: only step 1 differs, so both tiers
 * share the decode checks, the failpoint and the publication.
 *
 *   1. exactly the frames' compressed bytes, from the first one's `fileOffset` to the last one's
 *      end: one positional read of the local file, or one ranged GET of the object (never the
 *      whole object);
 *   2. decompress each frame, check its length against `entry.rawBytes` and crc32 against
 *      `entry.rawCrc`;
 *   3. the `hydrate` failpoint (before shared memory is touched: a crash here publishes nothing);
 *   4. copy each frame's raw bytes to `sab[targetOffset, targetOffset + rawBytes)` (a run of its
 *      own, whose START is the frame's rawOffset: docs/tier0-windows.md, stage 3), then
 *      `Atomics.add` the progress word and `Atomics.notify` it.
 *
 * Race note: the main thread publishes the run (CLEAN, a range of the segment) only after this
 * task's promise resolved, i.e. after the worker's plain stores and its message (which orders
 * them), so a reader never sees a partly copied frame (of a task of several, nothing is
 * published before all are copied). The progress word is for waiters
 * (`Atomics.waitAsync` on the main thread): it only says "something changed".
 *
 * Trade-offs: the local compressed read is synchronous (this thread has nothing else to do, and it
 * saves a libuv pool hop); the ranged GET is asynchronous (network or store I/O); decompression is asynchronous (native, on the libuv pool) and lands in a fresh
 * buffer that is then copied into the SAB, because the binding cannot decompress into caller
 * memory: one extra memcpy per frame, small next to zstd's own cost.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { OpenMode, openFileSync } from '../src/safe-fs-sync.js';
import { checkImplementation, loadZstd, type Codec } from '../src/codec/zstd.js';
import { ZSTD_BINDING } from '../src/codec/zstd-addon.js';
import { AofError } from '../src/errors.js';
import { RECORD_CRC_OFFSET, RECORD_HEADER_BYTES, RECORD_LENGTH_OFFSET, RECORD_TIMESTAMP_OFFSET, frameCrc, frameLength } from '../src/format/record.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES } from '../src/format/segment.js';
import { checkSealedFile, type RecordedSegment } from '../src/format/sealed-check.js';
import { decodeFrame, withPath } from '../src/format/tier1-file.js';
import { missingObject, withObjectKey } from '../src/tier2/remote-meta.js';
import { toWorkerError } from '../src/worker-error.js';
import { checkFailpointsConfig, failpoint } from './failpoints.js';
import { storeFor } from './store-cache.js';
import type { ChunkLoadResult, ChunkLoadTask, HydrateFrame, HydrateResult, HydrateSource, HydrateTask, WarmTask } from './tier1-protocol.js';

/** The task's frames in file order: `entry`, then `following`. */
function framesOf(task: HydrateTask): HydrateFrame[] {
  const first: HydrateFrame = { entry: task.entry, targetOffset: task.targetOffset };
  return task.following === undefined || task.following.length === 0 ? [first] : [first, ...task.following];
}

function checkTask(task: HydrateTask): HydrateFrame[] {
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
  if (task.following !== undefined && !Array.isArray(task.following)) {
    throw AofError.invalidArgument('hydrate task: following must be an array of { entry, targetOffset }', { field: 'following' });
  }
  const bytes = task.sab.byteLength;
  const words = bytes >>> 2;
  int('progressIndex', task.progressIndex, 0, words - 1);
  const frames = framesOf(task);
  frames.forEach((frame, i) => {
    const at = i === 0 ? '' : `following[${i - 1}].`;
    const { entry, targetOffset } = frame;
    int(`${at}entry.rawBytes`, entry.rawBytes, 0, bytes);
    int(`${at}entry.compressedBytes`, entry.compressedBytes, 1, 0xffff_ffff);
    int(`${at}entry.fileOffset`, entry.fileOffset, 0, Number.MAX_SAFE_INTEGER);
    int(`${at}targetOffset`, targetOffset, 0, bytes - entry.rawBytes);
    // One request reads the span: a gap or an overlap would hand a frame another frame's bytes.
    const previous = frames[i - 1];
    if (previous !== undefined && entry.fileOffset !== previous.entry.fileOffset + previous.entry.compressedBytes) {
      throw AofError.invalidArgument(`hydrate task: ${at}entry.fileOffset must be ${previous.entry.fileOffset + previous.entry.compressedBytes} (where the frame before ends), got ${entry.fileOffset}`, {
        field: `${at}entry.fileOffset`,
        value: entry.fileOffset,
      });
    }
    // A control word inside a target region would be overwritten by record bytes: a caller bug.
    const end = targetOffset + entry.rawBytes;
    if (task.progressIndex * 4 < end && task.progressIndex * 4 + 4 > targetOffset) {
      throw AofError.invalidArgument(`hydrate task: progressIndex ${task.progressIndex} lies inside the target region [${targetOffset}, ${end})`, {
        field: 'progressIndex',
        value: task.progressIndex,
      });
    }
  });
  return frames;
}

/** The file span the frames take: from the first one's start to the last one's end. */
function spanOf(frames: HydrateFrame[]): { offset: number; length: number } {
  const first = frames[0]!.entry;
  const last = frames[frames.length - 1]!.entry;
  return { offset: first.fileOffset, length: last.fileOffset + last.compressedBytes - first.fileOffset };
}

/** One positional read of the frames' compressed bytes from a local file. */
function readCompressed(frames: HydrateFrame[], path: string): Uint8Array {
  const span = spanOf(frames);
  const out = new Uint8Array(span.length);
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
      const n = readSync(fd, out, got, out.length - got, span.offset + got);
      if (n === 0) {
        throw AofError.corrupt(`tier 1 file ends inside frame at ${span.offset} (read ${got} of ${out.length} bytes)`, { path, fileOffset: span.offset });
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
 * One ranged GET of the frames' compressed bytes from a Tier 2 object, each frame decoded.
 *
 * Two different answers for "not the bytes I asked for", on purpose: no object at all (null) is
 * AOF_ERR_UNAVAILABLE, because nothing is wrong with any data: the object is simply not there
 * (deleted by retention, not uploaded yet, another bucket), and the engine may look elsewhere or
 * later. An object that is there but ends inside the span is AOF_ERR_CORRUPT: the store clamps a
 * range at the end, so a short answer means the object is shorter than the index it was read
 * with (truncated, or replaced by something else), and fetching again returns the same bytes.
 */
async function fetchFrames(frames: HydrateFrame[], source: Extract<HydrateSource, { kind: 'object' }>, codec: Codec): Promise<Uint8Array[]> {
  const span = spanOf(frames);
  const store = await storeFor(source.store);
  try {
    const compressed = await store.get(source.key, span);
    if (compressed === null) throw missingObject(source.key, store.location, 'hydrate frame');
    if (compressed.length < span.length) {
      throw AofError.corrupt(`tier 1 object ends inside frame at ${span.offset} (got ${compressed.length} of ${span.length} bytes)`, {
        fileOffset: span.offset,
        expected: span.length,
        actual: compressed.length,
      });
    }
    return await decodeFrames(compressed, frames, codec);
  } catch (err) {
    throw withObjectKey(err, source.key, store.location, 'read tier 1 frame from');
  }
}

/** Each frame of the span decompressed and checked (length, CRC) on its own; concurrently (the codec runs on the libuv pool). */
function decodeFrames(compressed: Uint8Array, frames: HydrateFrame[], codec: Codec): Promise<Uint8Array[]> {
  const base = frames[0]!.entry.fileOffset;
  return Promise.all(frames.map(({ entry }) => decodeFrame(compressed.subarray(entry.fileOffset - base, entry.fileOffset - base + entry.compressedBytes), entry, codec)));
}

/**
 * Loads the task's frame (or frames) into shared memory and publishes it (see the module comment).
 * Exported for in-thread use; the pool calls the default export, which flattens errors.
 * @throws AOF_ERR_INVALID_ARGUMENT on an impossible task (target outside the SAB, bad word index or
 *   bit, a malformed source, following frames that do not continue the one before), or an
 *   unusable store configuration
 * @throws AOF_ERR_CORRUPT (details.path for a file, details.key for an object) if a frame is
 *   short, not valid zstd, or fails its length or CRC check
 * @throws AOF_ERR_INJECTED from the `hydrate` failpoint
 * @throws AOF_ERR_IO if the local file cannot be opened or read
 * @throws AOF_ERR_UNAVAILABLE (details.key) if the object does not exist or the store fails
 */
export async function hydrateFrame(task: HydrateTask, codec: Codec): Promise<HydrateResult> {
  const frames = checkTask(task);
  let raws: Uint8Array[];
  const { source } = task;
  if (source.kind === 'object') {
    raws = await fetchFrames(frames, source, codec);
  } else {
    try {
      raws = await decodeFrames(readCompressed(frames, source.path), frames, codec);
    } catch (err) {
      throw withPath(err, source.path, 'read tier 1 frame');
    }
  }
  failpoint('hydrate', 'before-publish');
  let rawBytes = 0;
  raws.forEach((raw, i) => {
    new Uint8Array(task.sab, frames[i]!.targetOffset, raw.length).set(raw);
    rawBytes += raw.length;
  });
  const ctrl = new Int32Array(task.sab, 0, task.sab.byteLength >>> 2);
  Atomics.add(ctrl, task.progressIndex, 1);
  Atomics.notify(ctrl, task.progressIndex);
  return { rawBytes };
}

/**
 * Piscina entry point.
 * @throws a plain SerializedAofError (rebuild with `fromWorkerRejection`), see workers/tier1-protocol.ts
 */
export default async function hydrate(task: HydrateTask): Promise<HydrateResult> {
  try {
    checkFailpointsConfig();
    return await hydrateFrame(task, loadZstd(checkImplementation(task.codec, 'hydrate task')));
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
 * codec is loaded only when Tier 1 is on (`task.codec` not null): without it no frame is
 * decompressed, and a process that never compresses loads no native addon (nor, with zlib's zstd,
 * does one that does).
 * @throws a plain SerializedAofError (rebuild with `fromWorkerRejection`) if the codec cannot load
 */
export function warm(task: WarmTask): void {
  try {
    checkFailpointsConfig();
    if (task.codec !== null) loadZstd(checkImplementation(task.codec, 'warm task'));
  } catch (err) {
    throw toWorkerError(err, { action: 'warm up the hydrate worker', path: task.codec === 'zstd-addon' ? ZSTD_BINDING : 'node:zlib' });
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
 * Checks a sealed segment file recovery trusted from the catalog against what it recorded: two
 * 64-byte reads (header, footer) and an fstat, once per segment (lazy footers).
 * @throws AOF_ERR_CORRUPT (details.footerCheck) when they disagree; AOF_ERR_INCOMPATIBLE for a
 *   header written by a newer aof2
 */
function checkSealed(fd: number, path: string, recorded: RecordedSegment): void {
  const size = fstatSync(fd).size;
  const head = new Uint8Array(Math.min(SEGMENT_HEADER_BYTES, size));
  const foot = new Uint8Array(Math.min(SEGMENT_FOOTER_BYTES, size));
  readFully(fd, head, 0);
  readFully(fd, foot, size - foot.length);
  const problem = checkSealedFile(path, size, head, foot, recorded);
  if (problem !== null) throw problem;
}

/**
 * Loads the chunk of a raw segment holding record `task.record` into shared memory (see
 * ChunkLoadTask): reads `capacity` bytes at a time from the known boundary `from`, straight into
 * the run, walks and CRC-checks the frames of each step, and stops at the step that holds the
 * record. Steps end on frame boundaries, so the next step (and the next chunk a reader asks for)
 * starts on one; each step's end is reported in `learned` for the segment's boundary index.
 * Exported for in-thread use (the tests); the pool calls the `loadChunk` export, which flattens
 * errors.
 *
 * Why here and not on the main thread: the walk touches every byte from the boundary to the record
 * (CRC), which on the main thread would stall every appender and reader. The read is synchronous
 * for the same reason as the frame read above: this thread has nothing else to do.
 *
 * The footer: checked only when the task carries `sealed` (the segment's first load after recovery
 * trusted it from the catalog: lazy footers), before any frame is read: the file's length, header
 * and footer must agree with what the catalog recorded (src/format/sealed-check.ts). Otherwise
 * not: a chunk is part of the data region, which the footer's data CRC covers only whole; every
 * frame's own CRC covers exactly the bytes returned (and an open segment has no footer yet).
 *
 * @throws AOF_ERR_CORRUPT (details.path, details.offset: the file offset of the bad frame) if a
 *   frame below `limit` fails its CRC, is zero-filled, or runs past `limit`, or the file is
 *   shorter than `limit`; (details.footerCheck) if the file does not agree with `task.sealed`
 * @throws AOF_ERR_IO if the file cannot be opened or read; AOF_ERR_UNSAFE_PATH for a link
 */
export function loadChunkInto(task: ChunkLoadTask): ChunkLoadResult {
  const { path, limit, capacity } = task;
  const int = (name: string, v: number, min: number, max: number): void => {
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      throw AofError.invalidArgument(`chunk load task: ${name} must be an integer in [${min}, ${max}], got ${v}`, { field: name, value: v });
    }
  };
  int('capacity', capacity, RECORD_HEADER_BYTES, task.sab.byteLength);
  int('targetOffset', task.targetOffset, 0, task.sab.byteLength - capacity);
  int('limit', limit, 0, Number.MAX_SAFE_INTEGER);
  int('from', task.from, 0, limit);
  int('fromRecord', task.fromRecord, 0, Number.MAX_SAFE_INTEGER);
  int('record', task.record, task.fromRecord, Number.MAX_SAFE_INTEGER);
  const sealed = task.sealed ?? null;
  if (sealed !== null) {
    int('sealed.baseId', sealed.baseId, 0, Number.MAX_SAFE_INTEGER);
    int('sealed.recordCount', sealed.recordCount, 0, 0xffff_ffff);
    int('sealed.dataBytes', sealed.dataBytes, limit, limit);
    int('sealed.dataCrc', sealed.dataCrc, 0, 0xffff_ffff);
  }
  let fd: number;
  try {
    fd = openFileSync(path, OpenMode.READ);
  } catch (err) {
    throw err instanceof AofError ? err : AofError.io('hydrate segment', path, err);
  }
  try {
    if (sealed !== null) checkSealed(fd, path, sealed);
    const run = new Uint8Array(task.sab, task.targetOffset, capacity);
    const view = new DataView(task.sab, task.targetOffset, capacity);
    const learned: number[] = [];
    let off = task.from;
    let rec = task.fromRecord;
    for (;;) {
      const want = Math.min(capacity, limit - off);
      const corrupt = (at: number, why: string): AofError =>
        AofError.corrupt(`segment ${path}: ${why} at data offset ${off + at}`, { path, offset: SEGMENT_HEADER_BYTES + off + at });
      if (want <= 0) throw corrupt(0, `record ${task.record} is past the ${rec} records in the ${limit} data bytes`);
      const got = readFully(fd, run.subarray(0, want), SEGMENT_HEADER_BYTES + off);
      if (got !== want) throw corrupt(got, `file ends (${limit} data bytes expected)`);
      // Walk whole frames; the step ends before the first frame that does not fit in it.
      const last = off + want === limit; // this step reaches the end of the readable data
      let at = 0;
      let count = 0;
      while (at < want) {
        if (want - at < RECORD_HEADER_BYTES) {
          if (last) throw corrupt(at, 'torn frame header');
          break;
        }
        const len = view.getUint32(at + RECORD_LENGTH_OFFSET, true);
        const frame = frameLength(len);
        if (len === 0 && view.getUint32(at + RECORD_CRC_OFFSET, true) === 0 && view.getFloat64(at + RECORD_TIMESTAMP_OFFSET, true) === 0) {
          throw corrupt(at, 'zero fill below the written length');
        }
        if (frame > want - at) {
          if (off + at + frame > limit) throw corrupt(at, `frame of ${len} payload bytes runs past the ${limit} data bytes`);
          if (count === 0) return { start: off, first: rec, end: off, endRecord: rec, needBytes: frame, learned };
          break;
        }
        if (view.getUint32(at + RECORD_CRC_OFFSET, true) !== frameCrc(run, at, len)) throw corrupt(at, 'frame CRC mismatch');
        at += frame;
        count++;
      }
      if (task.record < rec + count) return { start: off, first: rec, end: off + at, endRecord: rec + count, needBytes: 0, learned };
      off += at;
      rec += count;
      learned.push(off, rec);
    }
  } catch (err) {
    throw err instanceof AofError ? err : AofError.io('hydrate segment', path, err);
  } finally {
    closeSync(fd);
  }
}

/**
 * Piscina entry point for raw chunk loads (`pool.run(task, { name: 'loadChunk' })`). No
 * failpoint: the `hydrate` failpoints have always meant frame fills, and the chaos suites count
 * them as such.
 * @throws a plain SerializedAofError (rebuild with `fromWorkerRejection`)
 */
export function loadChunk(task: ChunkLoadTask): ChunkLoadResult {
  try {
    return loadChunkInto(task);
  } catch (err) {
    throw toWorkerError(err, { action: 'hydrate segment', path: String(task.path) });
  }
}
