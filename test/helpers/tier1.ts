/**
 * Builders for the Tier 1 tests: JSON-like records, segment images placed in a SharedArrayBuffer
 * the way the arena holds a slot, and real piscina pools over the compiled worker entry files.
 */
import { crc32 } from 'node:zlib';
import { Piscina } from 'piscina';
import { RECORD_LENGTH_OFFSET, RECORD_PAYLOAD_OFFSET, RECORD_TIMESTAMP_OFFSET, frameLength } from '../../src/format/record.js';
import type { FrameIndexEntry } from '../../src/format/tier1.js';
import { buildFrames, type FrameSpec } from './frames.js';

/** Compiled worker entry files, resolved from dist/test/helpers/. */
export const COMPRESS_WORKER = new URL('../../workers/compress.js', import.meta.url).href;
export const HYDRATE_WORKER = new URL('../../workers/hydrate.js', import.meta.url).href;

/** mulberry32: a tiny seeded PRNG, so every generated record is reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EVENTS = ['page_view', 'click', 'add_to_cart', 'checkout', 'login', 'logout', 'search', 'purchase'];
const PAGES = ['/', '/products', '/products/42', '/cart', '/checkout', '/account', '/search?q=shoes', '/help'];
const AGENTS = ['Mozilla/5.0 (X11; Linux x86_64)', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2)', 'curl/8.5.0'];

/**
 * A JSON log line of exactly `size` bytes (padded with a `note` field), the kind of record the
 * brief's ratios talk about: repeated keys, a few enumerations, some numbers and ids.
 */
export function jsonLikePayload(id: number, size: number, rand: () => number): Uint8Array {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const base = JSON.stringify({
    id,
    ts: 1_700_000_000_000 + id * 13,
    user: `user-${Math.floor(rand() * 50_000)}`,
    session: Math.floor(rand() * 0xffffffff).toString(16).padStart(8, '0'),
    event: pick(EVENTS),
    page: pick(PAGES),
    agent: pick(AGENTS),
    amount: Math.round(rand() * 100_000) / 100,
    items: Math.floor(rand() * 9),
    ok: rand() > 0.05,
    note: '',
  });
  const out = new Uint8Array(size);
  const head = new TextEncoder().encode(base.slice(0, -2)); // up to the note's opening quote
  if (head.length + 2 > size) {
    out.set(new TextEncoder().encode(base).subarray(0, size));
    return out;
  }
  out.set(head);
  const words = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ';
  for (let i = head.length; i < size - 2; i++) out[i] = words.charCodeAt((i + id) % words.length);
  out[size - 2] = 0x22; // "
  out[size - 1] = 0x7d; // }
  return out;
}

/** `count` JSON-like records of `size` bytes with increasing timestamps. */
export function jsonRecords(count: number, size: number, seed: number): FrameSpec[] {
  const rand = rng(seed);
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
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let off = 0;
  for (let i = entry.firstRecord; i < index; i++) off += frameLength(view.getUint32(off + RECORD_LENGTH_OFFSET, true));
  const len = view.getUint32(off + RECORD_LENGTH_OFFSET, true);
  return { payload: raw.subarray(off + RECORD_PAYLOAD_OFFSET, off + RECORD_PAYLOAD_OFFSET + len), timestamp: view.getFloat64(off + RECORD_TIMESTAMP_OFFSET, true) };
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

/** process.env without the failpoint variables, plus `extra`. */
export function envWith(extra: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AOF2_FAILPOINTS')) out[k] = v;
  return { ...out, ...extra };
}
