/**
 * Compress worker (a piscina task module): turns one sealed segment's data region into a Tier 1
 * file (src/format/tier1.ts) of independent zstd frames.
 *
 *   1. validate the task; for an arena source, check crc32(data) === dataCrc up front (the bytes
 *      are in memory, so a mismatch costs nothing to find before any work); for a file source,
 *      check its header and footer against the task, and the CRC as a running CRC while reading;
 *   2. walk record frames by their length fields, cutting a zstd frame before the record that would
 *      take it past `frameTarget` (never inside a record), compress each frame on its own, and write it
 *      to `targetPath.tmp` right after the header;
 *   3. append the frame index and footer, fdatasync, rename to `targetPath`, fsync the directory.
 *
 * Crash safety and idempotence: nothing but the rename ever touches `targetPath`, so it is either
 * absent or a complete, fsynced file. A retry opens the temp file with truncation and overwrites
 * whatever a crashed attempt left; a coded failure removes its temp file; only a crash (the
 * `compress` failpoint, a killed process) leaves a `.tmp` orphan, for the engine's startup sweep.
 *
 * Trade-offs: the native compressor runs on the libuv pool; a task keeps PIPELINE_DEPTH frames in
 * flight (compressing frame k while writing frame k-1), and further parallelism comes from running
 * several tasks (one per pool thread). Memory per task: a few frames plus one read window. The arena source is read in place (a view of
 * the SharedArrayBuffer, no copy through messages); the file source is read in windows of
 * FILE_WINDOW_BYTES, so a 1 GiB segment never needs 1 GiB of memory.
 */
import { closeSync, fdatasyncSync, fsyncSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { OpenMode, openFileSync } from '../src/safe-fs-sync.js';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { ZSTD_MAX_LEVEL, ZSTD_MIN_LEVEL, checkImplementation, loadZstd, type Codec } from '../src/codec/zstd.js';
import { AofError } from '../src/errors.js';
import { RECORD_HEADER_BYTES, RECORD_LENGTH_OFFSET, frameLength } from '../src/format/record.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES } from '../src/format/segment.js';
import { checkSealedFile } from '../src/format/sealed-check.js';
import {
  CODEC_ZSTD,
  TIER1_FOOTER_BYTES,
  TIER1_HEADER_BYTES,
  encodeFrameIndex,
  encodeTier1FooterInto,
  encodeTier1HeaderInto,
  type FrameIndexEntry,
} from '../src/format/tier1.js';
import { toWorkerError } from '../src/worker-error.js';
import { checkFailpointsConfig, failpoint, failpointDelay } from './failpoints.js';
import type { CompressResult, CompressTask } from './tier1-protocol.js';
import { tempPath } from '../src/format/root-layout.js';

/** Read window for file sources: large enough for few syscalls, small enough to bound memory. */
const FILE_WINDOW_BYTES = 4 * 1024 * 1024;
/**
 * Frames compressed concurrently within one task: while frame k is on the libuv pool, this thread
 * cuts, CRCs and writes its neighbours, and a single large segment can use two cores.
 */
const PIPELINE_DEPTH = 2;
/** Largest frameTarget accepted: a frame's raw bytes must fit the index's u32 fields with room to spare. */
const MAX_FRAME_TARGET = 1 << 30;

/**
 * Random access to the raw data region. A returned view stays valid (and unchanged) for the whole
 * task, which the frame pipeline relies on: the native compressor reads it after later calls.
 */
interface RawSource {
  view(start: number, end: number): Uint8Array;
  /** The little-endian u32 at `at` (a record's length field). */
  u32(at: number): number;
  close(): void;
}

function arenaSource(sab: SharedArrayBuffer, offset: number, dataBytes: number): RawSource {
  const region = new Uint8Array(sab, offset, dataBytes);
  const dv = new DataView(sab, offset, dataBytes);
  return { view: (start, end) => region.subarray(start, end), u32: (at) => dv.getUint32(at, true), close: () => undefined };
}

/**
 * Windowed positional reads of the data region of a segment file. Each refill allocates a fresh
 * window rather than reusing the last one, so views handed out earlier stay valid (see RawSource).
 */
function fileSource(fd: number, dataBytes: number, path: string): RawSource {
  let buf = new Uint8Array(0);
  let winStart = 0;
  let winEnd = 0;
  const source: RawSource = {
    view(start, end) {
      if (start >= winStart && end <= winEnd) return buf.subarray(start - winStart, end - winStart);
      const want = Math.min(dataBytes, Math.max(end, start + FILE_WINDOW_BYTES)) - start;
      buf = new Uint8Array(want);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, buf, got, want - got, SEGMENT_HEADER_BYTES + start + got);
        if (n === 0) throw AofError.corrupt(`segment file ${path} ends inside its data region`, { path, position: start + got });
        got += n;
      }
      winStart = start;
      winEnd = start + want;
      return buf.subarray(0, end - start);
    },
    u32(at) {
      const b = source.view(at, at + 4);
      return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
    },
    close: () => closeSync(fd),
  };
  return source;
}

function checkTask(task: CompressTask): void {
  const int = (name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw AofError.invalidArgument(`compress task: ${name} must be an integer in [${min}, ${max}], got ${v}`, { field: name, value: v });
    }
  };
  int('dataBytes', task.dataBytes, 0, 0xffff_ffff);
  int('recordCount', task.recordCount, 0, 0xffff_ffff);
  int('baseId', task.baseId, 0);
  int('dataCrc', task.dataCrc, 0, 0xffff_ffff);
  int('frameTarget', task.frameTarget, 1, MAX_FRAME_TARGET);
  int('level', task.level, ZSTD_MIN_LEVEL, ZSTD_MAX_LEVEL); // before any file exists (the codec checks it too)
  if (typeof task.targetPath !== 'string' || task.targetPath === '') throw AofError.invalidArgument('compress task: targetPath must be a path', {});
  if (task.source.kind === 'arena') {
    int('source.offset', task.source.offset, 0);
    if (task.source.offset + task.dataBytes > task.source.sab.byteLength) {
      throw AofError.invalidArgument('compress task: the data region runs past the end of the SharedArrayBuffer', {
        offset: task.source.offset,
        dataBytes: task.dataBytes,
        sabBytes: task.source.sab.byteLength,
      });
    }
  }
}

/**
 * Opens a sealed segment file and checks that it is the segment the task describes: the rule the
 * first read of a segment recovery trusted from the catalog uses too (src/format/sealed-check.ts).
 */
function openSegmentFile(task: CompressTask, path: string): RawSource {
  const fd = openFileSync(path, OpenMode.READ);
  try {
    const size = fstatSync(fd).size;
    const head = new Uint8Array(Math.min(SEGMENT_HEADER_BYTES, size));
    const foot = new Uint8Array(Math.min(SEGMENT_FOOTER_BYTES, size));
    if (readSync(fd, head, 0, head.length, 0) !== head.length || readSync(fd, foot, 0, foot.length, size - foot.length) !== foot.length) {
      throw AofError.corrupt(`segment file ${path} could not be read whole`, { path });
    }
    const mismatch = checkSealedFile(path, size, head, foot, task);
    if (mismatch !== null) throw mismatch;
    return fileSource(fd, task.dataBytes, path);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Compresses one segment into `task.targetPath` (see the module comment). Exported for in-thread
 * use (fixture generation, tests); the pool calls the default export, which flattens errors.
 * @throws AOF_ERR_INVALID_ARGUMENT on an impossible task
 * @throws AOF_ERR_CORRUPT if the data does not match `dataCrc`, its record frames do not tile
 *   `dataBytes` with exactly `recordCount` records, or a file source is not the described segment
 * @throws AOF_ERR_INJECTED from the `compress` failpoint
 * @throws Node fs errors (ENOSPC, EACCES...) unwrapped; the default export maps them to AOF_ERR_IO
 */
export async function compressSegment(task: CompressTask, codec: Codec): Promise<CompressResult> {
  checkTask(task);
  // An injected slow compressor (`compress.delay=<ms>`), before anything is read or written.
  await failpointDelay('compress');
  const source = task.source.kind === 'arena' ? arenaSource(task.source.sab, task.source.offset, task.dataBytes) : openSegmentFile(task, task.source.path);
  const tmpPath = tempPath(task.targetPath);
  let fd = -1;
  try {
    if (task.source.kind === 'arena') {
      const actual = crc32(source.view(0, task.dataBytes));
      if (actual !== task.dataCrc) {
        throw AofError.corrupt(`segment ${task.baseId} data in the arena does not match its CRC`, { baseId: task.baseId, stored: task.dataCrc, actual });
      }
    }
    // Truncates: a retry overwrites what a crashed attempt left, but never through a link.
    fd = openFileSync(tmpPath, OpenMode.REPLACE);
    const scratch = new Uint8Array(Math.max(TIER1_HEADER_BYTES, TIER1_FOOTER_BYTES));
    encodeTier1HeaderInto(scratch, 0, {
      codec: CODEC_ZSTD,
      level: task.level,
      baseId: task.baseId,
      recordCount: task.recordCount,
      dataBytes: task.dataBytes,
      dataCrc: task.dataCrc,
      frameTarget: task.frameTarget,
      createdAt: task.createdAt ?? Date.now(),
    });
    writeAll(fd, scratch.subarray(0, TIER1_HEADER_BYTES), 0);

    const index: FrameIndexEntry[] = [];
    const inFlight: { frame: Promise<Uint8Array>; entry: FrameIndexEntry }[] = [];
    let fileOffset = TIER1_HEADER_BYTES;
    /** Writes the oldest in-flight frame once compressed; frames land in order, back to back. */
    const writeOldest = async (): Promise<void> => {
      const { frame, entry } = inFlight.shift()!;
      const compressed = await frame;
      writeAll(fd, compressed, fileOffset);
      entry.fileOffset = fileOffset;
      entry.compressedBytes = compressed.length;
      index.push(entry);
      fileOffset += compressed.length;
    };
    let raw = 0;
    let record = 0;
    let runningCrc = 0;
    while (raw < task.dataBytes) {
      // Walk whole records while the frame stays within frameTarget (a record alone larger than it
      // makes a frame of its own); each step reads one length field. Within, not just past: a
      // frame read back takes an arena run of the next power of two, so a frame a record past
      // 256 KiB would take 512 KiB (docs/formats.md, "Tier 1 files").
      const start = raw;
      const first = record;
      while (raw < task.dataBytes) {
        if (task.dataBytes - raw < RECORD_HEADER_BYTES) {
          throw AofError.corrupt(`segment ${task.baseId}: partial record header at ${raw}`, { baseId: task.baseId, offset: raw });
        }
        const len = source.u32(raw + RECORD_LENGTH_OFFSET);
        const next = raw + frameLength(len);
        if (next > task.dataBytes) {
          throw AofError.corrupt(`segment ${task.baseId}: record ${record} at ${raw} claims ${len} payload bytes, past the end`, { baseId: task.baseId, offset: raw, record });
        }
        if (raw > start && next - start > task.frameTarget) break; // this record starts the next frame
        raw = next;
        record++;
      }
      const bytes = source.view(start, raw);
      const rawCrc = crc32(bytes);
      if (task.source.kind === 'file') runningCrc = crc32(bytes, runningCrc);
      const frame = codec.compress(bytes, task.level);
      // Marked handled at once: if this task fails while the frame is in flight, its rejection
      // must not become an unhandled rejection, which would kill the worker thread.
      frame.catch(() => undefined);
      inFlight.push({ frame, entry: { firstRecord: first, recordCount: record - first, rawOffset: start, rawBytes: raw - start, fileOffset: 0, compressedBytes: 0, rawCrc } });
      if (inFlight.length >= PIPELINE_DEPTH) await writeOldest();
    }
    while (inFlight.length > 0) await writeOldest();
    if (record !== task.recordCount) {
      throw AofError.corrupt(`segment ${task.baseId}: data holds ${record} records, expected ${task.recordCount}`, { baseId: task.baseId, records: record, expected: task.recordCount });
    }
    if (task.source.kind === 'file' && runningCrc !== task.dataCrc) {
      throw AofError.corrupt(`segment file ${task.source.path} data does not match its CRC`, { path: task.source.path, stored: task.dataCrc, actual: runningCrc });
    }
    // The chaos point: frames are on disk, the file is not complete, nothing is at targetPath.
    failpoint('compress', 'before-index');

    const indexBytes = encodeFrameIndex(index);
    const trailer = new Uint8Array(indexBytes.length + TIER1_FOOTER_BYTES);
    trailer.set(indexBytes, 0);
    encodeTier1FooterInto(trailer, indexBytes.length, {
      frameCount: index.length,
      indexOffset: fileOffset,
      indexCrc: crc32(indexBytes),
      recordCount: task.recordCount,
      baseId: task.baseId,
    });
    writeAll(fd, trailer, fileOffset);
    fdatasyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmpPath, task.targetPath);
    fsyncDir(dirname(task.targetPath));
    return { compressedBytes: fileOffset + trailer.length, frameCount: index.length, index };
  } catch (err) {
    if (fd >= 0) {
      // A coded failure leaves nothing behind; only a crash leaves an orphan. Cleanup errors are
      // swallowed: the first error is the one worth reporting.
      try {
        closeSync(fd);
        rmSync(tmpPath, { force: true });
      } catch {
        // reported below
      }
    }
    throw err;
  } finally {
    source.close();
  }
}

/**
 * Piscina entry point.
 * @throws a plain SerializedAofError (rebuild with `fromWorkerRejection`), see workers/tier1-protocol.ts
 */
export default async function compress(task: CompressTask): Promise<CompressResult> {
  try {
    checkFailpointsConfig();
    return await compressSegment(task, loadZstd(checkImplementation(task.codec, 'compress task')));
  } catch (err) {
    // A plain object on purpose: structured clone would strip an AofError's code and details.
    throw toWorkerError(err, { action: 'compress segment', path: task.targetPath });
  }
}
