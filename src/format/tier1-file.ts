/**
 * Reading Tier 1 files (format: src/format/tier1.ts): the metadata once per file, then single
 * frames by positional reads.
 *
 * {@link readTier1Meta} reads exactly three small ranges (header, footer, index) and never the
 * frames, so opening a 64 MiB segment costs a few KiB of I/O; everything is cross-checked against
 * the file size, so a truncated or extended file is refused before any frame is trusted.
 * {@link readFrame} is the main-thread (async) twin of what workers/hydrate.ts does in a worker:
 * one positional read of `compressedBytes`, decompress, length and CRC check. Both raise
 * AOF_ERR_CORRUPT with `details.path` naming the file.
 */
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { Codec } from '../codec/zstd.js';
import { AofError, ErrorCode } from '../errors.js';
import { OpenMode, openFile } from '../safe-fs.js';
import {
  TIER1_FOOTER_BYTES,
  TIER1_HEADER_BYTES,
  TIER1_INDEX_ENTRY_BYTES,
  decodeFrameIndex,
  decodeTier1Footer,
  decodeTier1Header,
  tier1FileBytes,
  type FrameIndexEntry,
  type Tier1Footer,
  type Tier1Header,
} from './tier1.js';

/** Everything a reader needs to find and check any frame of one Tier 1 file. */
export interface Tier1Meta {
  header: Tier1Header;
  footer: Tier1Footer;
  index: FrameIndexEntry[];
  /** Size of the file in bytes when it was read. */
  fileBytes: number;
}

/**
 * Re-raises a decoder or fs error with the file named: coded errors keep their code and gain
 * `details.path`; fs errors become AOF_ERR_IO.
 */
export function withPath(err: unknown, path: string, action: string): AofError {
  if (err instanceof AofError) {
    if (err.details?.['path'] !== undefined) return err;
    return new AofError(err.code, `${path}: ${err.message}`, { cause: err, details: { ...err.details, path } });
  }
  return AofError.io(action, path, err);
}

async function readExactly(fh: FileHandle, length: number, position: number, what: string): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(out, got, length - got, position + got);
    if (bytesRead === 0) throw AofError.corrupt(`${what} is cut short: read ${got} of ${length} bytes at ${position}`, { position, length, got });
    got += bytesRead;
  }
  return out;
}

/** Whole-file size check, before the index is read: it bounds frameCount by the file size. */
function checkFileSize(footer: Tier1Footer, fileBytes: number): void {
  const described = tier1FileBytes(footer.indexOffset, footer.frameCount);
  if (described !== fileBytes) {
    throw AofError.corrupt(`tier 1 file is ${fileBytes} bytes; its footer describes ${described}`, {
      fileBytes,
      indexOffset: footer.indexOffset,
      frameCount: footer.frameCount,
    });
  }
}

function checkMinimumSize(fileBytes: number): void {
  if (fileBytes < TIER1_HEADER_BYTES + TIER1_FOOTER_BYTES) {
    throw AofError.corrupt(`tier 1 file is ${fileBytes} bytes, shorter than a header and a footer`, { fileBytes });
  }
}

/**
 * Reads and validates the header, footer and frame index of a Tier 1 file (three positional
 * reads; the frames are not read). Returned objects are fresh copies owned by the caller.
 * @throws AOF_ERR_CORRUPT (details.path) if any check fails: magic, version, CRCs, header/footer
 *   agreement, index consistency, or a file size other than header + frames + index + footer
 * @throws AOF_ERR_INCOMPATIBLE (details.path) if the file was written by a newer aof2
 * @throws AOF_ERR_IO if the file cannot be opened or read (ENOENT included)
 */
export async function readTier1Meta(path: string): Promise<Tier1Meta> {
  let fh: FileHandle;
  try {
    fh = await openFile(path, OpenMode.READ);
  } catch (err) {
    throw err instanceof AofError ? err : AofError.io('open tier 1 file', path, err);
  }
  try {
    const fileBytes = (await fh.stat()).size;
    checkMinimumSize(fileBytes);
    const header = decodeTier1Header(await readExactly(fh, TIER1_HEADER_BYTES, 0, 'tier 1 header'));
    const footer = decodeTier1Footer(await readExactly(fh, TIER1_FOOTER_BYTES, fileBytes - TIER1_FOOTER_BYTES, 'tier 1 footer'));
    checkFileSize(footer, fileBytes);
    const indexBytes = await readExactly(fh, footer.frameCount * TIER1_INDEX_ENTRY_BYTES, footer.indexOffset, 'tier 1 frame index');
    const index = decodeFrameIndex(indexBytes, footer, header);
    return { header, footer, index, fileBytes };
  } catch (err) {
    throw withPath(err, path, 'read tier 1 file');
  } finally {
    await fh.close();
  }
}

/**
 * The same validation as {@link readTier1Meta} over a whole file image in memory (tests, fuzzing,
 * and a Tier 2 object fetched whole). The result does not alias `image`.
 * @throws AOF_ERR_CORRUPT, AOF_ERR_INCOMPATIBLE as readTier1Meta (without a path)
 */
export function decodeTier1Image(image: Uint8Array): Tier1Meta {
  const fileBytes = image.length;
  checkMinimumSize(fileBytes);
  const header = decodeTier1Header(image, 0);
  const footer = decodeTier1Footer(image, fileBytes - TIER1_FOOTER_BYTES);
  checkFileSize(footer, fileBytes);
  const indexBytes = image.subarray(footer.indexOffset, footer.indexOffset + footer.frameCount * TIER1_INDEX_ENTRY_BYTES);
  return { header, footer, index: decodeFrameIndex(indexBytes, footer, header), fileBytes };
}

/**
 * The same validation as {@link readTier1Meta} over the two pieces a remote reader fetches with
 * ranged reads: `head` (the file's first 64 bytes) and `tail` (its last bytes: at least the frame
 * index and the footer), of a file of `fileBytes` bytes. Used by src/tier2/remote-meta.ts.
 * The result does not alias the inputs.
 * @throws AOF_ERR_CORRUPT, AOF_ERR_INCOMPATIBLE as readTier1Meta (without a path); also
 *   AOF_ERR_CORRUPT when `tail` is too short to hold the index its footer describes
 */
export function decodeTier1HeadAndTail(head: Uint8Array, tail: Uint8Array, fileBytes: number): Tier1Meta {
  checkMinimumSize(fileBytes);
  const header = decodeTier1Header(head, 0);
  // max(0, ...): a tail shorter than a footer is reported by the decoder as truncated.
  const footer = decodeTier1Footer(tail, Math.max(0, tail.length - TIER1_FOOTER_BYTES));
  checkFileSize(footer, fileBytes);
  const indexBytes = footer.frameCount * TIER1_INDEX_ENTRY_BYTES;
  if (tail.length < indexBytes + TIER1_FOOTER_BYTES) {
    throw AofError.corrupt(`tier 1 tail of ${tail.length} bytes cannot hold the ${footer.frameCount}-frame index its footer describes`, {
      tailBytes: tail.length,
      frameCount: footer.frameCount,
    });
  }
  const end = tail.length - TIER1_FOOTER_BYTES;
  return { header, footer, index: decodeFrameIndex(tail.subarray(end - indexBytes, end), footer, header), fileBytes };
}

/**
 * Decompresses one frame's bytes and checks them against its index entry (length and CRC).
 * Returns a fresh buffer owned by the caller.
 * @throws AOF_ERR_CORRUPT if the bytes are not a valid frame, or decompress to the wrong length or CRC
 */
export async function decodeFrame(compressed: Uint8Array, entry: FrameIndexEntry, codec: Codec): Promise<Uint8Array> {
  if (compressed.length !== entry.compressedBytes) {
    throw AofError.corrupt(`tier 1 frame is ${compressed.length} bytes, index says ${entry.compressedBytes}`, {
      fileOffset: entry.fileOffset,
      expected: entry.compressedBytes,
      actual: compressed.length,
    });
  }
  let raw: Uint8Array;
  try {
    raw = await codec.decompress(compressed, entry.rawBytes);
  } catch (err) {
    if (err instanceof AofError && err.code === ErrorCode.CORRUPT) {
      throw new AofError(ErrorCode.CORRUPT, `tier 1 frame at ${entry.fileOffset}: ${err.message}`, {
        cause: err,
        details: { ...err.details, fileOffset: entry.fileOffset, firstRecord: entry.firstRecord },
      });
    }
    throw err;
  }
  const actual = crc32(raw);
  if (actual !== entry.rawCrc) {
    throw AofError.corrupt(`tier 1 frame at ${entry.fileOffset} fails its CRC after decompression`, {
      fileOffset: entry.fileOffset,
      firstRecord: entry.firstRecord,
      stored: entry.rawCrc,
      actual,
    });
  }
  return raw;
}

/**
 * Reads one frame with a single positional read of `entry.compressedBytes` at `entry.fileOffset`
 * and decodes it ({@link decodeFrame}). The returned buffer is a fresh copy owned by the caller.
 * @throws AOF_ERR_CORRUPT (details.path) if the frame is damaged or the file is shorter than the entry says
 * @throws AOF_ERR_IO if the file cannot be opened or read
 */
export async function readFrame(path: string, entry: FrameIndexEntry, codec: Codec): Promise<Uint8Array> {
  let fh: FileHandle;
  try {
    fh = await openFile(path, OpenMode.READ);
  } catch (err) {
    throw err instanceof AofError ? err : AofError.io('open tier 1 file', path, err);
  }
  try {
    const compressed = await readExactly(fh, entry.compressedBytes, entry.fileOffset, 'tier 1 frame');
    return await decodeFrame(compressed, entry, codec);
  } catch (err) {
    throw withPath(err, path, 'read tier 1 frame');
  } finally {
    await fh.close();
  }
}
