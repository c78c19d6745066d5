/**
 * The compression codec behind Tier 1, kept behind a four-member interface so the binding can be
 * swapped (or a second codec added: the Tier 1 header stores the codec id) without touching the
 * workers or the file format.
 *
 * Binding: `@mongodb-js/zstd` 1.2.x, loaded through its native `bindings.js` rather than its
 * `index.js`, because the JS wrapper drops the level argument while the native function honours
 * it (see docs/decisions.md for why this binding and not zstd-napi or >= 2). Both calls are async:
 * the native code runs on the libuv thread pool, so the calling thread (a piscina worker) is free
 * while a frame compresses. Inputs are passed as zero-copy Buffer views, including views of the
 * SharedArrayBuffer arena; the caller must not modify the bytes until the promise settles.
 *
 * What this binding cannot do, and how we compensate:
 * - it writes frames without a content size and decompresses into a buffer it grows itself, so we
 *   cannot bound the output before decompressing; {@link Codec.decompress} checks the length
 *   afterwards (the caller also checks a CRC of the raw bytes);
 * - it clamps any level silently (0, 23, 1.5 and -5 all "work"), so levels are validated here.
 */
import { createRequire } from 'node:module';
import { AofError, ErrorCode } from '../errors.js';

/** Codec id stored in the Tier 1 header (`format/tier1.ts` CODEC_ZSTD). */
export const ZSTD_CODEC_ID = 1;
/** Levels accepted by {@link Codec.compress}: zstd's regular range (no negative "fast" levels). */
export const ZSTD_MIN_LEVEL = 1;
export const ZSTD_MAX_LEVEL = 22;
/** The package specifier of the native binding, for messages and docs. */
export const ZSTD_BINDING = '@mongodb-js/zstd/bindings.js';

/** A block codec. Every frame it produces is independent (decodable without its neighbours). */
export interface Codec {
  /** Id written to file headers; a reader refuses a file whose codec id it does not know. */
  readonly id: number;
  /**
   * Compresses `data` into one self-contained frame. The returned bytes are a fresh copy owned by
   * the caller; `data` is only read, and must not change until the promise settles.
   * @throws AOF_ERR_INVALID_ARGUMENT if `level` is not an integer in [1, 22]
   * @throws AOF_ERR_WORKER_FAILED if the native compressor fails (out of memory)
   */
  compress(data: Uint8Array, level: number): Promise<Uint8Array>;
  /**
   * Decompresses one frame (or several concatenated frames) and checks the output length.
   * @throws AOF_ERR_CORRUPT if `data` is not valid zstd or decompresses to other than `expectedBytes`
   */
  decompress(data: Uint8Array, expectedBytes: number): Promise<Uint8Array>;
}

interface ZstdBinding {
  compress(data: Buffer, level?: number): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}

let cached: Codec | null = null;

function asBuffer(data: Uint8Array): Buffer {
  // A view, not a copy: works for ArrayBuffer- and SharedArrayBuffer-backed arrays alike.
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function wrap(binding: ZstdBinding): Codec {
  return {
    id: ZSTD_CODEC_ID,
    async compress(data: Uint8Array, level: number): Promise<Uint8Array> {
      if (!Number.isInteger(level) || level < ZSTD_MIN_LEVEL || level > ZSTD_MAX_LEVEL) {
        throw AofError.invalidArgument(`zstd level must be an integer in [${ZSTD_MIN_LEVEL}, ${ZSTD_MAX_LEVEL}], got ${level}`, { level });
      }
      try {
        return await binding.compress(asBuffer(data), level);
      } catch (err) {
        throw new AofError(ErrorCode.WORKER_FAILED, `zstd compress failed: ${messageOf(err)}`, { cause: err, details: { bytes: data.length, level } });
      }
    },
    async decompress(data: Uint8Array, expectedBytes: number): Promise<Uint8Array> {
      let out: Buffer;
      try {
        out = await binding.decompress(asBuffer(data));
      } catch (err) {
        // The binding reports every malformed input as a GenericFailure with a zstd message
        // ("Unknown frame descriptor", "incomplete frame", ...): all of them mean damaged bytes.
        throw new AofError(ErrorCode.CORRUPT, `zstd frame does not decompress: ${messageOf(err)}`, {
          cause: err,
          details: { compressedBytes: data.length, expectedBytes },
        });
      }
      if (out.length !== expectedBytes) {
        throw AofError.corrupt(`zstd frame decompressed to ${out.length} bytes, expected ${expectedBytes}`, {
          compressedBytes: data.length,
          expectedBytes,
          actualBytes: out.length,
        });
      }
      return out;
    },
  };
}

/**
 * The zstd codec, loading the native binding on first use (and only once per thread), so that a
 * process that never compresses never loads the addon.
 * @throws AOF_ERR_UNSUPPORTED_PLATFORM if the binding (its prebuilt platform package) is missing
 *   or fails to load; `cause` is the loader's error
 */
export function loadZstd(): Codec {
  if (cached !== null) return cached;
  let binding: ZstdBinding;
  try {
    binding = createRequire(import.meta.url)(ZSTD_BINDING) as ZstdBinding;
  } catch (err) {
    throw new AofError(
      ErrorCode.UNSUPPORTED_PLATFORM,
      `the zstd binding ${ZSTD_BINDING} could not be loaded on ${process.platform}-${process.arch}: ${messageOf(err)}; ` +
        'reinstall dependencies so npm fetches its prebuilt platform package (@mongodb-js/zstd-<platform>)',
      { cause: err, details: { module: ZSTD_BINDING, platform: process.platform, arch: process.arch } },
    );
  }
  if (typeof binding.compress !== 'function' || typeof binding.decompress !== 'function') {
    throw new AofError(ErrorCode.UNSUPPORTED_PLATFORM, `the zstd binding ${ZSTD_BINDING} does not export compress/decompress`, {
      details: { module: ZSTD_BINDING },
    });
  }
  cached = wrap(binding);
  return cached;
}
