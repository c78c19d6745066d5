/**
 * Builders for the Tier 1 tests: JSON-like records, segment images placed in a SharedArrayBuffer
 * the way the arena holds a slot, and real piscina pools over the compiled worker entry files.
 */
import { crc32 } from 'node:zlib';
import { Piscina } from 'piscina';
import { decodeFrame, frameOffsetOf } from '../src/format/record.js';
import type { FrameIndexEntry } from '../src/format/tier1.js';
import { seededRandom } from '../src/seeded-random.js';
import { fromWorkerRejection } from '../src/worker-error.js';
import { buildFrames, type FrameSpec } from './frames.js';

/** Compiled worker entry files, resolved from dist/support/. */
export const COMPRESS_WORKER = new URL('../workers/compress.js', import.meta.url).href;
export const HYDRATE_WORKER = new URL('../workers/hydrate.js', import.meta.url).href;

const EVENTS = ['page_view', 'click', 'add_to_cart', 'checkout', 'login', 'logout', 'search', 'purchase'];
const PAGES = ['/', '/products', '/products/42', '/cart', '/checkout', '/account', '/search?q=shoes', '/help'];
const AGENTS = ['Mozilla/5.0 (X11; Linux x86_64)', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2)', 'curl/8.5.0'];

/**
 * A JSON log line of exactly `size` bytes, the kind of record the brief's ratios talk about:
 * repeated keys and enumerations (compressible), plus ids, hashes, timestamps and amounts that
 * are random (not), so zstd level 3 lands in the usual 4-8x of real application logs rather than
 * the 20x+ of padding. Filled with line items until `size`, then cut and closed.
 */
export function jsonLikePayload(id: number, size: number, rand: () => number): Uint8Array {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const hex = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(rand() * 16)];
    return s;
  };
  const head = {
    id,
    ts: new Date(1_700_000_000_000 + id * 137 + Math.floor(rand() * 1000)).toISOString(),
    level: pick(['info', 'info', 'info', 'warn', 'error', 'debug']),
    user: `user-${Math.floor(rand() * 50_000)}`,
    session: hex(16),
    trace: hex(32),
    event: pick(EVENTS),
    page: pick(PAGES),
    agent: pick(AGENTS),
    ip: `10.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`,
    latencyMs: Math.round(rand() * 50_000) / 100,
    ok: rand() > 0.05,
  };
  let text = JSON.stringify(head).slice(0, -1) + ',"items":[';
  while (text.length < size) {
    text += JSON.stringify({ sku: `SKU-${Math.floor(rand() * 100_000)}`, qty: 1 + Math.floor(rand() * 5), price: Math.round(rand() * 100_000) / 100, tag: pick(EVENTS) }) + ',';
  }
  const bytes = new TextEncoder().encode(text.slice(0, size - 2) + ']}');
  return bytes.subarray(0, size);
}

/** `count` JSON-like records of `size` bytes with increasing timestamps. */
export function jsonRecords(count: number, size: number, seed: number): FrameSpec[] {
  const rand = seededRandom(seed);
  const out: FrameSpec[] = [];
  for (let i = 0; i < count; i++) out.push({ payload: jsonLikePayload(i, size, rand), timestamp: 1_700_000_000_000 + i });
  return out;
}

/** A data region placed in a SharedArrayBuffer at `offset`, as an arena slot holds it. */
export interface ArenaImage {
  sab: SharedArrayBuffer;
  offset: number;
  data: Uint8Array; // a copy of the data region, to compare against
  dataBytes: number;
  dataCrc: number;
  recordCount: number;
}

/** Frames of `records` (real CRCs) copied into a new SAB of `sabBytes` at `offset`. */
export function arenaImage(records: readonly FrameSpec[], offset: number, sabBytes?: number): ArenaImage {
  const data = buildFrames(records);
  const sab = new SharedArrayBuffer(sabBytes ?? offset + data.length);
  new Uint8Array(sab, offset, data.length).set(data);
  return { sab, offset, data, dataBytes: data.length, dataCrc: crc32(data), recordCount: records.length };
}

/** Payload and timestamp of record `index` of the frame whose raw bytes are `raw` (starting at entry.firstRecord). */
export function recordInFrame(raw: Uint8Array, entry: FrameIndexEntry, index: number): { payload: Uint8Array; timestamp: number } {
  const { payload, timestamp } = decodeFrame(raw, frameOffsetOf(raw, 0, raw.length, index - entry.firstRecord));
  return { payload, timestamp };
}

/**
 * A pool sized for this 2-core machine, with I/O-friendly settings (no Atomics.wait between tasks)
 * and a short idle timeout so tests finish promptly. `env` replaces the workers' environment
 * (piscina passes it to every Worker it starts), which is how failpoints are switched on per pool.
 */
export function tier1Pool(filename: string, env?: Record<string, string | undefined>, maxThreads = 2): Piscina {
  return new Piscina({
    filename,
    minThreads: 1,
    maxThreads,
    idleTimeout: 1000,
    maxQueue: 64,
    atomics: 'disabled',
    ...(env === undefined ? {} : { env: env as Record<string, string> }),
  });
}

/**
 * Awaits a pool task and rethrows its rejection as the main thread sees it: rebuilt into an
 * AofError with its code (piscina rejects with a plain clone of the worker's error).
 */
export async function rebuilt<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw fromWorkerRejection(err);
  }
}

/** process.env without the failpoint variables, plus `extra`. */
export function envWith(extra: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AOF2_FAILPOINTS')) out[k] = v;
  return { ...out, ...extra };
}
