/**
 * The part of a stream only the files hold: the raw segment files past what the writer's manifest
 * records (the active segment, and a segment sealed in its file whose SEALED record is not written
 * yet), read by a read-only manager beside the live writer.
 *
 * What counts as written: whole frames whose CRC checks out, from the start of the data region up
 * to the first that does not (a frame not fully written yet, a torn one, zeros, a footer). That is
 * exactly the prefix the writer's recovery keeps after a process kill: the page cache survives
 * one, the flush worker writes a segment's frames in order and never rewrites them, so every frame
 * seen valid here is still there, valid, when recovery scans the file; only bytes past the first
 * invalid frame are trimmed (docs/read-path.md, "The kill -9 rule"). Nothing here ever calls a
 * file damaged: beside a live writer, a read may see a later page written before an earlier one
 * (it raced with the write), so what follows the first invalid frame is simply not visible yet.
 *
 * Files must continue each other: the first starts where the recorded segments end, and each
 * later one exactly where the frames of the one before end. A file that does not continue the one
 * before (its predecessor's last frames are not written yet, or it is a crash's leftover that
 * recovery will remove) is not visible until it does. Each file is kept open while it is part of
 * the tail and read from where the last scan stopped, so a scan costs the 64-byte header (its
 * `durableBytes`) and the new bytes: two synchronous reads on a local file system, else one round
 * trip to the libuv pool, where it was three (an fstat, then the header, then the bytes), since
 * each is most of a small refresh (src/read-only/tail-reads.ts; docs/performance.md, "What bounds a
 * read-only follower's latency"). The size is asked only when the read does not settle it.
 *
 * The new frames a scan checked are handed on with the file ({@link TailFile.fresh}): the
 * read-only log puts them into the arena as a read range for readers at the tail, so those
 * readers do not read and check the same bytes again in a hydrate thread.
 */
import { fstatSync, readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { AofError } from '../errors.js';
import { RECORD_HEADER_BYTES, RECORD_LENGTH_OFFSET, frameLength, scanFrames } from '../format/record.js';
import { isTempName, parseSegmentFileName, parseTier1FileName, segmentPath } from '../format/root-layout.js';
import { SEGMENT_FOOTER_BYTES, SEGMENT_HEADER_BYTES, decodeHeader } from '../format/segment.js';
import { OpenMode, listFiles, openFile } from '../safe-fs.js';
import type { CheckedFrames } from '../read/tail-publish.js';
import { SYNC_READ_BYTES } from './tail-reads.js';

/** New bytes read per step: a step costs one read and one CRC walk, and bounds the buffer. */
const SCAN_PIECE_BYTES = 1024 * 1024;

/** The most a scan's scratch buffer holds (writers of larger segments: a longer backlog takes more reads). */
const MAX_SCRATCH_BYTES = 16 * 1024 * 1024;

/**
 * A scratch buffer for the first read of each scan, which lands there before the size is known
 * (a read asks for this much and costs only what the file holds). As large as a segment's data
 * and footer (within [1 MiB, 16 MiB]), so that one read brings whatever a file holds past the
 * last scan, however long the follower did not look (a new file that could not be shown until
 * its predecessor's last frames were written, say): all of it is then handed on (`fresh`). Scans
 * that share one must run one at a time, as a read-only manager's do (one refresh at a time, its
 * streams in turn): one per manager, not per stream.
 */
export function newScanScratch(segmentBytes: number): Uint8Array {
  return new Uint8Array(Math.min(MAX_SCRATCH_BYTES, Math.max(SCAN_PIECE_BYTES, segmentBytes + SEGMENT_FOOTER_BYTES)));
}

/** One raw file of the tail as far as it was checked. */
export interface TailFile {
  baseId: number;
  path: string;
  /** Whole valid frames from the start of the data region. */
  count: number;
  /** Bytes of those frames. */
  dataBytes: number;
  /** The header's durable length when last read (fdatasynced data bytes; 0 when unknown). */
  durableBytes: number;
  /**
   * The frames this scan added, when one read brought them all (always but for a writer's
   * segments larger than 16 MiB); null when it added none, or took several reads (a backlog, read
   * by chunk loads instead). A copy the caller may keep.
   */
  fresh: CheckedFrames | null;
}

interface OpenTail extends TailFile {
  handle: FileHandle;
  /** Its header decoded once, naming this segment: frames may be read from then on. */
  headerSeen: boolean;
}

/** The stream files a listing names (raw, Tier 1, temp): anything else in the directory is ignored. */
function isStreamFileName(name: string): boolean {
  return isTempName(name) || parseSegmentFileName(name) !== null || parseTier1FileName(name) !== null;
}

/** The tail of one stream's directory. */
export class StreamTail {
  readonly #dir: string;
  readonly #segmentBytes: number;
  readonly #scratch: Uint8Array;
  readonly #sync: boolean;
  readonly #files = new Map<number, OpenTail>();
  /** Data bytes read and checked so far (stats: `tailBytesScanned`). */
  scannedBytes = 0;

  /**
   * @param segmentBytes the reader's `tier0.segmentBytes`: a writer's larger segments are refused (runs could not hold its records)
   * @param scratch from {@link newScanScratch} (of `segmentBytes`), shared only by scans that never run at the same time
   * @param sync read the header, the first piece of new bytes and the size synchronously (src/read-only/tail-reads.ts)
   */
  constructor(dir: string, segmentBytes: number, scratch: Uint8Array, sync: boolean) {
    this.#dir = dir;
    this.#segmentBytes = segmentBytes;
    this.#scratch = scratch;
    this.#sync = sync;
  }

  /**
   * The raw files from `fromId` on, each checked as far as its frames are valid, contiguous (see
   * the file comment). Files before `fromId` (recorded by now) are let go. `relist` false: only
   * the files already followed are read again, without listing the directory (a write to one of
   * them woke the manager; a new file comes with a `rename` wake-up or the interval, which list).
   * @throws AOF_ERR_IO (the directory or a file cannot be read), AOF_ERR_UNSAFE_PATH (a link),
   *   AOF_ERR_INVALID_ARGUMENT (the writer's segments are larger than `tier0.segmentBytes`),
   *   AOF_ERR_CORRUPT (a file shrank below frames already shown: someone cut it), AOF_ERR_INCOMPATIBLE
   */
  async scan(fromId: number, relist = true): Promise<TailFile[]> {
    const ids = relist || !this.#files.has(fromId) ? await this.#list(fromId) : [...this.#files.keys()].filter((id) => id >= fromId);
    ids.sort((a, b) => a - b);
    const kept = new Set(ids);
    for (const [id, file] of this.#files) {
      if (!kept.has(id)) await this.#drop(id, file);
    }
    const out: TailFile[] = [];
    let expected = fromId;
    for (const id of ids) {
      if (id !== expected) break;
      const file = this.#files.get(id) ?? (await this.#open(id));
      if (file === null) break; // removed since the listing
      await this.#advance(file);
      if (file.count === 0) break;
      out.push(reportOf(file));
      expected = id + file.count;
    }
    return out;
  }

  /**
   * Lets go of the files below `fromId` (the manifest records their segments now: sealed), after
   * one more read from where the last scan stopped: their last frames may not have been scanned
   * yet, and a reader at the tail takes them from here instead of loading them. Returns the files
   * that had frames left (`fresh`); a failure of that read is no error (the manifest's word
   * stands for these segments: readers then load them).
   */
  async settle(fromId: number): Promise<TailFile[]> {
    const out: TailFile[] = [];
    for (const [id, file] of [...this.#files]) {
      if (id >= fromId) continue;
      try {
        await this.#advance(file);
        if (file.fresh !== null) out.push(reportOf(file));
      } catch {
        // Nothing handed on.
      }
      await this.#drop(id, file);
    }
    return out;
  }

  /** Base ids of the raw files from `fromId` on; none when the directory is not there (yet). */
  async #list(fromId: number): Promise<number[]> {
    let names: string[];
    try {
      names = await listFiles(this.#dir, isStreamFileName);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err instanceof AofError ? err : AofError.io('list stream directory', this.#dir, err);
    }
    return names.flatMap((name) => {
      const id = parseSegmentFileName(name);
      return id !== null && id >= fromId ? [id] : [];
    });
  }

  /** Closes every file. Idempotent. */
  async close(): Promise<void> {
    for (const [id, file] of this.#files) await this.#drop(id, file);
  }

  async #open(id: number): Promise<OpenTail | null> {
    const path = segmentPath(this.#dir, id);
    let handle: FileHandle;
    try {
      handle = await openFile(path, OpenMode.READ);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err instanceof AofError ? err : AofError.io('open segment', path, err);
    }
    const file: OpenTail = { baseId: id, path, count: 0, dataBytes: 0, durableBytes: 0, fresh: null, handle, headerSeen: false };
    this.#files.set(id, file);
    return file;
  }

  async #drop(id: number, file: OpenTail): Promise<void> {
    this.#files.delete(id);
    await file.handle.close().catch(() => undefined);
  }

  /**
   * Reads the header and the frames past what was checked, up to the first that does not check
   * out. In the usual case two reads, synchronous (see {@link readHeadAndNew}) or one round trip to
   * the libuv pool: the header and a first piece of new bytes (into the shared scratch buffer: one
   * read, which a regular file cuts short only where it ends). The size (an fstat) is asked only
   * when that piece came back full (the file may hold more) or empty (nothing new; or a file cut
   * below what was shown, which reads as nothing too).
   */
  async #advance(file: OpenTail): Promise<void> {
    file.fresh = null;
    const from = { start: file.dataBytes, first: file.count };
    const head = new Uint8Array(SEGMENT_HEADER_BYTES);
    const scratch = this.#scratch;
    const [headBytes, early] = await readHeadAndNew(file.handle, head, scratch, SEGMENT_HEADER_BYTES + from.start, this.#sync);
    if (headBytes < SEGMENT_HEADER_BYTES) return; // created, header not written yet
    let header = null;
    try {
      header = decodeHeader(head);
    } catch (err) {
      // A newer aof2 wrote it: say so. Anything else is a header being written (the first one, or
      // the writer's rewrite after an fsync, read half old, half new): before a first good read
      // nothing is visible; after one, the frames go on being read (they carry their own CRCs)
      // with the durable length last seen.
      if (err instanceof AofError && err.code === 'AOF_ERR_INCOMPATIBLE') throw err;
      if (!file.headerSeen) return;
    }
    if (header !== null) {
      if (header.baseId !== file.baseId) return; // not this segment's header (yet): nothing is visible
      if (header.segmentBytes > this.#segmentBytes) {
        throw AofError.invalidArgument(
          `segment ${file.path} was written with tier0.segmentBytes ${header.segmentBytes}, larger than this manager's ${this.#segmentBytes}; open the read-only manager with the writer's tier0 options`,
          { path: file.path, segmentBytes: header.segmentBytes, configured: this.#segmentBytes },
        );
      }
      file.headerSeen = true;
      file.durableBytes = Math.max(file.durableBytes, header.durableBytes ?? 0);
    }
    // Data bytes in the file, once asked (-1: not yet).
    let end = -1;
    const dataEnd = async (): Promise<number> => {
      if (end < 0) end = (this.#sync ? fstatSync(file.handle.fd).size : (await file.handle.stat()).size) - SEGMENT_HEADER_BYTES;
      return end;
    };
    if (early === 0) {
      if ((await dataEnd()) < file.dataBytes) {
        throw AofError.corrupt(`segment ${file.path} holds ${end} data bytes, fewer than the ${file.dataBytes} already read from it: it was cut under the reader`, {
          path: file.path,
          size: end + SEGMENT_HEADER_BYTES,
          shown: file.dataBytes,
        });
      }
      return;
    }
    let piece = scratch;
    let want = scratch.length;
    let got = early;
    let reads = 1;
    for (;;) {
      const at = file.dataBytes;
      let scan = scanFrames(piece, 0, got);
      if (scan.count === 0 && got === want && got >= RECORD_HEADER_BYTES) {
        // A frame larger than the piece: read it whole when the file holds it (at most a segment).
        // Not one the file ends inside (got < want): that one is still being written.
        const frame = frameLength(new DataView(piece.buffer, piece.byteOffset, got).getUint32(RECORD_LENGTH_OFFSET, true));
        if (frame > got && frame <= this.#segmentBytes && frame <= (await dataEnd()) - at) {
          want = frame;
          piece = new Uint8Array(want);
          reads++;
          got = await readFully(file.handle, piece, SEGMENT_HEADER_BYTES + at);
          scan = scanFrames(piece, 0, got);
        }
      }
      this.scannedBytes += scan.validBytes;
      file.count += scan.count;
      file.dataBytes += scan.validBytes;
      if (got < want) break; // the file ended inside this read
      // A full piece that ends inside a frame stopped the walk, not the file: read on from that
      // frame (a backlog larger than a piece, as at open, is read whole in one scan).
      const cutByPiece = scan.count > 0 && endsInsideFrame(piece, scan.validBytes, got) && (end < 0 || at + got < end);
      if (scan.stopReason !== null && !cutByPiece) break;
      const rest = (await dataEnd()) - file.dataBytes;
      if (rest <= 0) break;
      want = Math.min(SCAN_PIECE_BYTES, rest);
      piece = want <= scratch.length ? scratch : new Uint8Array(want);
      reads++;
      got = await readFully(file.handle, piece.subarray(0, want), SEGMENT_HEADER_BYTES + file.dataBytes);
    }
    // One read: the scratch holds every frame added, from the old end (copied: the scratch is the
    // next scan's).
    if (reads === 1 && file.count > from.first) {
      file.fresh = { start: from.start, first: from.first, end: file.count, bytes: scratch.slice(0, file.dataBytes - from.start) };
    }
  }
}

/** What a scan reports of a file. */
function reportOf(file: OpenTail): TailFile {
  return { baseId: file.baseId, path: file.path, count: file.count, dataBytes: file.dataBytes, durableBytes: file.durableBytes, fresh: file.fresh };
}

/** Whether the frame at `off` of `piece` (of which `got` bytes were read) runs past those bytes. */
function endsInsideFrame(piece: Uint8Array, off: number, got: number): boolean {
  if (got - off < RECORD_HEADER_BYTES) return true;
  const length = new DataView(piece.buffer, piece.byteOffset, got).getUint32(off + RECORD_LENGTH_OFFSET, true);
  return frameLength(length) > got - off;
}

/**
 * Reads a file's header into `head` and its bytes from `position` into `scratch`; returns how
 * many bytes each read brought. `sync`: synchronous reads, the second up to SYNC_READ_BYTES, then
 * (only when those came back full) the rest of `scratch` through the pool; else both through the
 * pool, side by side.
 */
async function readHeadAndNew(handle: FileHandle, head: Uint8Array, scratch: Uint8Array, position: number, sync: boolean): Promise<[number, number]> {
  if (!sync) {
    const [headBytes, { bytesRead }] = await Promise.all([readFully(handle, head, 0), handle.read(scratch, 0, scratch.length, position)]);
    return [headBytes, bytesRead];
  }
  // The header is written once, before any frame, and rewritten in place: a short read means a
  // file that ends inside it (just created), as for the pool's read.
  const headBytes = readSync(handle.fd, head, 0, head.length, 0);
  const first = Math.min(scratch.length, SYNC_READ_BYTES);
  let got = readSync(handle.fd, scratch, 0, first, position);
  if (got === first && first < scratch.length) got += (await handle.read(scratch, got, scratch.length - got, position + got)).bytesRead;
  return [headBytes, got];
}

/** Reads until `out` is full or the file ends; returns the bytes read. */
async function readFully(handle: FileHandle, out: Uint8Array, position: number): Promise<number> {
  let got = 0;
  while (got < out.length) {
    const { bytesRead } = await handle.read(out, got, out.length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}
