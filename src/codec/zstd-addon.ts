/**
 * The zstd implementation `'zstd-addon'`: `@mongodb-js/zstd` 1.2.x, loaded through its native
 * `bindings.js` rather than its `index.js`, because the JS wrapper drops the level argument while
 * the native function honours it (see docs/decisions.md for why this binding and not zstd-napi or
 * >= 2). It is N-API: the same prebuilt binary loads on Node 20, 22 and 24. Both calls are async:
 * the native code runs on the libuv thread pool, so the calling thread (a piscina worker) is free
 * while a frame compresses.
 *
 * What this binding cannot do, and how the seam compensates: it writes frames without a content
 * size and decompresses into a buffer it grows itself, so the output cannot be bounded before
 * decompressing (the seam checks the length afterwards; the caller also checks a CRC of the raw
 * bytes); it clamps any level silently (0, 23, 1.5 and -5 all "work"), so the seam validates levels.
 */
import { createRequire } from 'node:module';
import { AofError, ErrorCode } from '../errors.js';
import type { ZstdBinding } from './zstd-binding.js';

/** The package specifier of the native binding, for messages and docs. */
export const ZSTD_BINDING = '@mongodb-js/zstd/bindings.js';

interface NativeZstd {
  compress(data: Buffer, level?: number): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}

/**
 * Loads the native binding (a `require` of a `.node` file: once per thread, cached by Node).
 * @throws AOF_ERR_UNSUPPORTED_PLATFORM if the binding (its prebuilt platform package) is missing
 *   or fails to load; `cause` is the loader's error
 */
export function loadAddonBinding(): ZstdBinding {
  let native: NativeZstd;
  try {
    native = createRequire(import.meta.url)(ZSTD_BINDING) as NativeZstd;
  } catch (err) {
    throw new AofError(
      ErrorCode.UNSUPPORTED_PLATFORM,
      `the zstd binding ${ZSTD_BINDING} could not be loaded on ${process.platform}-${process.arch}: ${err instanceof Error ? err.message : String(err)}; ` +
        "reinstall dependencies so npm fetches its prebuilt platform package (@mongodb-js/zstd-<platform>), or use tier1.codec 'zstd-zlib' (Node >= 22.15)",
      { cause: err, details: { module: ZSTD_BINDING, platform: process.platform, arch: process.arch } },
    );
  }
  if (typeof native.compress !== 'function' || typeof native.decompress !== 'function') {
    throw new AofError(ErrorCode.UNSUPPORTED_PLATFORM, `the zstd binding ${ZSTD_BINDING} does not export compress/decompress`, {
      details: { module: ZSTD_BINDING },
    });
  }
  return {
    compress: (data, level) => native.compress(data, level),
    // The binding has no output bound: the seam checks the length once it is done.
    decompress: (data) => native.decompress(data),
  };
}
