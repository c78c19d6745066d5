/**
 * What a zstd implementation gives the codec seam (src/codec/zstd.ts): two async calls over
 * Buffers, nothing checked. The seam validates levels, maps failures to coded errors and checks
 * output lengths, once for every implementation.
 */

/** The zstd implementations aof2 can use; both write standard zstd frames (RFC 8878). */
export type ZstdImplementation = 'zstd-addon' | 'zstd-zlib';

export interface ZstdBinding {
  /**
   * One self-contained frame of `data` at `level` (already validated). `data` may be a view of a
   * SharedArrayBuffer and must not change until the promise settles.
   */
  compress(data: Buffer, level: number): Promise<Buffer>;
  /**
   * The bytes of one frame. `expectedBytes` is what the caller will accept:
   * an implementation that can bound its output uses it (and rejects past it), one that cannot
   * ignores it and the seam checks the length afterwards.
   */
  decompress(data: Buffer, expectedBytes: number): Promise<Buffer>;
}
