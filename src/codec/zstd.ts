/**
 * The compression codec behind Tier 1, kept behind a four-member interface so the implementation
 * can be swapped (or a second codec added: the Tier 1 header stores the codec id) without touching
 * the workers or the file format.
 *
 * Two implementations of the one codec, zstd, both writing standard zstd frames, so a file written
 * by either reads with the other (test/unit/tier1/codec.test.ts checks it both ways):
 * - `'zstd-addon'`: the native `@mongodb-js/zstd` binding (src/codec/zstd-addon.ts), every runtime;
 * - `'zstd-zlib'`: Node's built-in `zlib.zstd*` (src/codec/zstd-zlib.ts), Node >= 22.15.
 * `tier1.codec` chooses (`'auto'` by default: see {@link resolveCodec}); the engine resolves the
 * choice once, at open, and hands the result to its compress and hydrate pools, so every thread of
 * a process uses the same implementation. Rules common to both live here, once: levels are
 * validated (the addon would clamp them silently), failures become coded errors, output lengths
 * are checked. Inputs are passed as zero-copy Buffer views, including views of the
 * SharedArrayBuffer arena; the caller must not modify the bytes until the promise settles.
 */
import { AofError, ErrorCode } from '../errors.js';
import { loadAddonBinding } from './zstd-addon.js';
import type { ZstdBinding, ZstdImplementation } from './zstd-binding.js';
import { zlibBinding, zlibZstdAvailable } from './zstd-zlib.js';

export type { ZstdImplementation } from './zstd-binding.js';

/** Codec id stored in the Tier 1 header (`format/tier1.ts` CODEC_ZSTD), whichever implementation wrote the frames. */
export const ZSTD_CODEC_ID = 1;
/** Levels accepted by {@link Codec.compress}: zstd's regular range (no negative "fast" levels). */
export const ZSTD_MIN_LEVEL = 1;
export const ZSTD_MAX_LEVEL = 22;

/** The implementations, in no order of preference. */
export const ZSTD_IMPLEMENTATIONS: readonly ZstdImplementation[] = ['zstd-addon', 'zstd-zlib'];

/**
 * `value` as an implementation name, for a task received from another thread.
 * @throws AOF_ERR_INVALID_ARGUMENT if it is not one (`where` names the task)
 */
export function checkImplementation(value: unknown, where: string): ZstdImplementation {
  if (!(ZSTD_IMPLEMENTATIONS as readonly unknown[]).includes(value)) {
    throw AofError.invalidArgument(`${where}: codec must be ${ZSTD_IMPLEMENTATIONS.map((c) => `'${c}'`).join(' or ')}, got ${String(value)}`, { field: 'codec' });
  }
  return value as ZstdImplementation;
}

/**
 * The implementations this runtime offers: zlib's where `node:zlib` has zstd; the addon always
 * (whether it loads is only known by loading it, which this does not do).
 */
export function offeredImplementations(): ZstdImplementation[] {
  return ZSTD_IMPLEMENTATIONS.filter((impl) => impl === 'zstd-addon' || zlibZstdAvailable());
}

/** What `tier1.codec` accepts: an implementation, or `'auto'` (the addon where it loads, else Node's zlib zstd). */
export type CodecChoice = 'auto' | ZstdImplementation;
export const CODEC_CHOICES: readonly CodecChoice[] = ['auto', 'zstd-addon', 'zstd-zlib'];

/**
 * The order `'auto'` tries the implementations in: the first that works here. The addon first:
 * it costs less CPU per frame than zlib's zstd, about 1.25x less to compress and 1.2x less to
 * decompress (instructions counted with callgrind, and CPU time per MB in native-codec-bench's
 * `zstd-zlib` suite: docs/decisions.md, "The addon stays the default zstd; zlib's is the
 * fallback"), and on the machines aof2 targets compression sets the pace of sustained ingest.
 * zlib's zstd (Node >= 22.15) where the addon cannot load.
 */
export const AUTO_ORDER: readonly ZstdImplementation[] = ['zstd-addon', 'zstd-zlib'];

/** A block codec. Every frame it produces is independent (decodable without its neighbours). */
export interface Codec {
  /** Id written to file headers; a reader refuses a file whose codec id it does not know. */
  readonly id: number;
  /** Which implementation does the work (both write and read the same frames). */
  readonly implementation: ZstdImplementation;
  /**
   * Compresses `data` into one self-contained frame. The returned bytes are a fresh copy owned by
   * the caller; `data` is only read, and must not change until the promise settles.
   * @throws AOF_ERR_INVALID_ARGUMENT if `level` is not an integer in [1, 22]
   * @throws AOF_ERR_WORKER_FAILED if the compressor fails (out of memory)
   */
  compress(data: Uint8Array, level: number): Promise<Uint8Array>;
  /**
   * Decompresses one frame and checks the output length. (Several concatenated frames are not
   * supported: Node 22's zlib stops after the first, 24's goes on; aof2 reads one frame at a time.)
   * @throws AOF_ERR_CORRUPT if `data` is empty, not valid zstd, or decompresses to other than `expectedBytes`
   */
  decompress(data: Uint8Array, expectedBytes: number): Promise<Uint8Array>;
}

/** Loaded codecs of this thread, one per implementation. */
const loaded = new Map<ZstdImplementation, Codec>();

function asBuffer(data: Uint8Array): Buffer {
  // A view, not a copy: works for ArrayBuffer- and SharedArrayBuffer-backed arrays alike.
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function wrap(implementation: ZstdImplementation, binding: ZstdBinding): Codec {
  return {
    id: ZSTD_CODEC_ID,
    implementation,
    async compress(data: Uint8Array, level: number): Promise<Uint8Array> {
      if (!Number.isInteger(level) || level < ZSTD_MIN_LEVEL || level > ZSTD_MAX_LEVEL) {
        throw AofError.invalidArgument(`zstd level must be an integer in [${ZSTD_MIN_LEVEL}, ${ZSTD_MAX_LEVEL}], got ${level}`, { level });
      }
      try {
        return await binding.compress(asBuffer(data), level);
      } catch (err) {
        throw new AofError(ErrorCode.WORKER_FAILED, `zstd compress failed (${implementation}): ${messageOf(err)}`, {
          cause: err,
          details: { bytes: data.length, level, implementation },
        });
      }
    },
    async decompress(data: Uint8Array, expectedBytes: number): Promise<Uint8Array> {
      let out: Buffer;
      try {
        // zlib decodes zero bytes as zero bytes; the addon calls it an incomplete frame. A frame
        // is never empty (a header and a block at least), so both say so, here.
        if (data.length === 0) throw new Error('no bytes: a zstd frame is never empty');
        out = await binding.decompress(asBuffer(data), expectedBytes);
      } catch (err) {
        // Every malformed input ("Unknown frame descriptor", "incomplete frame", "unexpected end
        // of file", zlib's output bound reached...) means damaged bytes. Node 22's zlib returns
        // what it decoded of a truncated frame without an error: the length check below catches it.
        throw new AofError(ErrorCode.CORRUPT, `zstd frame does not decompress to ${expectedBytes} bytes (${implementation}): ${messageOf(err)}`, {
          cause: err,
          details: { compressedBytes: data.length, expectedBytes, implementation },
        });
      }
      if (out.length !== expectedBytes) {
        throw AofError.corrupt(`zstd frame decompressed to ${out.length} bytes, expected ${expectedBytes}`, {
          compressedBytes: data.length,
          expectedBytes,
          actualBytes: out.length,
          implementation,
        });
      }
      return out;
    },
  };
}

function zlibMissing(): AofError {
  return new AofError(ErrorCode.UNSUPPORTED_PLATFORM, `tier1.codec 'zstd-zlib' needs Node >= 22.15 (zlib.zstdCompress), this is Node ${process.version}`, {
    details: { option: 'tier1.codec', node: process.version },
  });
}

/**
 * Resolves `tier1.codec` to an implementation. `'auto'` is the first of {@link AUTO_ORDER} that
 * works here: the addon if it loads (it is loaded on this thread to find out, once), else zlib's
 * zstd if the runtime has it, else the addon all the same (its load error, reported where it is
 * used, says what to install). With `probe: false` nothing is loaded and the addon is taken
 * untried, for callers that may never compress (a manager with Tier 1 off loads no native addon).
 * `'zstd-addon'` is taken as asked: whether it loads is found out where it is used (a worker).
 * @throws AOF_ERR_UNSUPPORTED_PLATFORM for `'zstd-zlib'` on a runtime whose zlib has no zstd
 */
export function resolveCodec(choice: CodecChoice, { probe = true }: { probe?: boolean } = {}): ZstdImplementation {
  if (choice === 'zstd-addon') return 'zstd-addon';
  if (choice === 'zstd-zlib') {
    if (zlibZstdAvailable()) return 'zstd-zlib';
    throw zlibMissing();
  }
  for (const impl of AUTO_ORDER) {
    if (impl === 'zstd-zlib' ? zlibZstdAvailable() : !probe || addonLoads()) return impl;
  }
  return 'zstd-addon';
}

/** Whether the addon loads on this thread (loading it, and keeping it loaded, if so). */
function addonLoads(): boolean {
  try {
    loadZstd('zstd-addon');
    return true;
  } catch {
    return false;
  }
}

/**
 * The zstd codec of one implementation (default: what `'auto'` resolves to), loaded on first use
 * and once per thread, so a process that never compresses never loads the addon.
 * @throws AOF_ERR_UNSUPPORTED_PLATFORM if the addon (its prebuilt platform package) is missing or
 *   fails to load (`cause` is the loader's error), or `'zstd-zlib'` is asked of a runtime without it
 */
export function loadZstd(implementation: ZstdImplementation = resolveCodec('auto')): Codec {
  const cached = loaded.get(implementation);
  if (cached !== undefined) return cached;
  let binding: ZstdBinding;
  if (implementation === 'zstd-addon') {
    binding = loadAddonBinding();
  } else {
    const zlib = zlibBinding();
    if (zlib === null) throw zlibMissing();
    binding = zlib;
  }
  const codec = wrap(implementation, binding);
  loaded.set(implementation, codec);
  return codec;
}
