/**
 * The zstd implementation `'zstd-zlib'`: Node's built-in `zlib.zstdCompress` / `zstdDecompress`
 * (Node >= 22.15 and >= 23.8; libzstd bundled with Node). No addon, nothing to install. The async
 * calls run on the libuv thread pool, like the addon's, so a compress worker keeps its two frames
 * in flight either way.
 *
 * Settings, and why:
 * - only `ZSTD_c_compressionLevel` is set: no checksum and no content size in the frame header,
 *   like the addon's frames (the Tier 1 frame index holds the raw length and CRC already);
 * - decompression is bounded by `maxOutputLength` = the expected length, so a frame that would
 *   inflate past it fails early instead of allocating (the addon can only be checked afterwards);
 * - its `chunkSize` is the expected length plus one (capped): the default 16 KiB chunks cost one
 *   thread-pool round trip each, 16 of them for a 256 KiB frame, and a chunk of exactly the
 *   expected length, filled to the last byte, makes zlib go round once more to learn that nothing
 *   follows (docs/decisions.md, "The addon stays the default zstd"). Compression keeps the
 *   default: its output is a few chunks at most, and measured no faster with larger ones.
 *
 * Behaviour that differs from the addon, harmless here because the seam checks every output's
 * length and the caller its CRC: bytes after a complete frame are ignored rather than rejected; on
 * Node 22 a truncated frame decodes to what it holds without an error (Node 24 reports it), and a
 * second concatenated frame is not decoded (aof2 reads one frame at a time).
 *
 * `@types/node` is pinned to the oldest supported runtime (20), which has no zstd, so the few
 * members used are typed here and looked up at run time.
 */
import * as zlib from 'node:zlib';
import type { ZstdBinding } from './zstd-binding.js';

type Callback = (err: Error | null, result: Buffer) => void;
interface ZstdOptions {
  params?: Record<number, number>;
  chunkSize?: number;
  maxOutputLength?: number;
}
interface ZlibZstd {
  zstdCompress(data: Buffer, options: ZstdOptions, callback: Callback): void;
  zstdDecompress(data: Buffer, options: ZstdOptions, callback: Callback): void;
  constants: { ZSTD_c_compressionLevel: number };
}

/** Smallest chunk zlib accepts (zlib.constants.Z_MIN_CHUNK). */
const MIN_CHUNK = 64;
/** Largest output chunk allocated up front: a damaged frame index cannot make a 4 GiB allocation. */
const MAX_CHUNK = 4 * 1024 * 1024;

function zlibZstd(): ZlibZstd | null {
  const z = zlib as unknown as Partial<ZlibZstd>;
  return typeof z.zstdCompress === 'function' && typeof z.zstdDecompress === 'function' && typeof z.constants?.ZSTD_c_compressionLevel === 'number'
    ? (z as ZlibZstd)
    : null;
}

/** Whether this runtime's `node:zlib` has zstd (Node >= 22.15 / 23.8). */
export function zlibZstdAvailable(): boolean {
  return zlibZstd() !== null;
}

/** The binding over `node:zlib`, or null on a runtime without zstd in zlib. */
export function zlibBinding(): ZstdBinding | null {
  const z = zlibZstd();
  if (z === null) return null;
  const level = z.constants.ZSTD_c_compressionLevel;
  const call = (fn: ZlibZstd['zstdCompress'], data: Buffer, options: ZstdOptions): Promise<Buffer> =>
    new Promise((resolve, reject) => fn.call(z, data, options, (err, out) => (err === null ? resolve(out) : reject(err))));
  return {
    compress: (data, lvl) => call(z.zstdCompress, data, { params: { [level]: lvl } }),
    decompress: (data, expectedBytes) =>
      call(z.zstdDecompress, data, {
        maxOutputLength: Math.max(1, expectedBytes),
        chunkSize: Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, expectedBytes + 1)),
      }),
  };
}
