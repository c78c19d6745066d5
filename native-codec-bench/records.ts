/**
 * The records the Tier 1 suites write: 1 KiB JSON log lines from a seeded generator, and segment
 * images of them laid out exactly as the engine lays out a slot (for the compression-pool
 * baseline).
 *
 * Realism vs cost: a log line is built with JSON.stringify from random fields (~5-10 µs), far too
 * slow to generate per append at hundreds of thousands of appends per second. So a pool of
 * POOL_SIZE distinct lines (16 MiB) is generated once, and record `id` is pool line
 * `id % POOL_SIZE` with `id` written into its fixed-width `seq` field. Every 256 KiB zstd frame
 * holds ~250 consecutive, distinct lines, and frames are compressed independently, so the pool's
 * period (16 MiB) is invisible to the compressor: the ratio is that of the generator itself
 * (~4-6x at level 3, like real application logs: repeated keys and enumerations, random ids,
 * hashes, addresses and amounts), not that of a repeated buffer. The same `(seed, id)` always
 * gives the same bytes, so any record can be checked byte for byte without storing it.
 */
import { crc32 } from 'node:zlib';
import { encodeFrame, frameLength } from '../src/format/record.js';
import { seededRandom } from '../src/seeded-random.js';

/** Payload bytes of every record. */
export const RECORD_BYTES = 1024;
/** Distinct lines in the pool (16 MiB of 1 KiB lines). */
export const POOL_SIZE = 16_384;
/** The line starts `{"seq":"` and the id follows as SEQ_DIGITS zero-padded decimal digits. */
const SEQ_PREFIX = '{"seq":"';
const SEQ_OFFSET = SEQ_PREFIX.length;
const SEQ_DIGITS = 12;
const DIGIT_0 = 0x30;

const SERVICES = ['checkout', 'cart', 'catalog', 'auth', 'search', 'payments', 'shipping', 'notifications'];
const LEVELS = ['info', 'info', 'info', 'info', 'debug', 'warn', 'error'];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const ROUTES = ['/api/v1/orders', '/api/v1/orders/:id', '/api/v1/cart', '/api/v1/products', '/api/v1/products/:id', '/api/v1/login', '/api/v1/search', '/healthz'];
const STATUSES = [200, 200, 200, 200, 201, 204, 301, 400, 401, 404, 409, 500, 503];
const REGIONS = ['eu-west-1', 'eu-central-1', 'us-east-1', 'us-west-2', 'ap-southeast-1'];
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148',
  'okhttp/4.12.0',
  'curl/8.5.0',
];
const MESSAGES = [
  'request completed',
  'cache miss, fetched from origin',
  'retrying upstream call after timeout',
  'order state changed',
  'payment authorised',
  'rate limit close to threshold',
  'slow query detected',
  'user session refreshed',
];
const EVENTS = ['page_view', 'add_to_cart', 'remove_from_cart', 'checkout_started', 'purchase', 'search', 'login', 'logout'];

/** One JSON log line of exactly `size` bytes (ASCII), its `seq` field zeroed. */
function logLine(index: number, size: number, rand: () => number): Uint8Array {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (n: number): number => Math.floor(rand() * n);
  const hex = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[int(16)];
    return s;
  };
  const status = pick(STATUSES);
  const line: Record<string, unknown> = {
    ts: new Date(1_735_689_600_000 + index * 53 + int(50)).toISOString(),
    level: status >= 500 ? 'error' : pick(LEVELS),
    service: pick(SERVICES),
    host: `${pick(SERVICES)}-${int(40)}.${pick(REGIONS)}.internal`,
    pid: 1000 + int(30_000),
    trace_id: hex(32),
    span_id: hex(16),
    msg: pick(MESSAGES),
    http: {
      method: pick(METHODS),
      route: pick(ROUTES),
      status,
      duration_ms: Math.round(rand() * rand() * 250_000) / 100,
      bytes_out: int(200_000),
      client_ip: `${int(223) + 1}.${int(256)}.${int(256)}.${int(256)}`,
      user_agent: pick(AGENTS),
    },
    user: { id: `u_${int(2_000_000)}`, tier: pick(['free', 'free', 'pro', 'enterprise']), country: pick(['DE', 'FR', 'US', 'GB', 'ES', 'SG', 'BR']) },
    event: pick(EVENTS),
    cart: [] as unknown[],
  };
  // Cart items while they fit, then a free-text note of the exact length left: valid JSON of
  // exactly `size` bytes. `slice(1, -2)` drops the opening brace and the closing `]}`.
  const head = SEQ_PREFIX + '0'.repeat(SEQ_DIGITS) + '",' + JSON.stringify(line).slice(1, -2);
  const items: string[] = [];
  const closing = '],"note":"';
  const minNote = 16;
  for (;;) {
    const item = JSON.stringify({ sku: `SKU-${int(100_000)}`, qty: 1 + int(4), price_cents: int(50_000), currency: 'EUR', promo: rand() < 0.2 ? hex(8) : null });
    const used = head.length + items.join(',').length + (items.length > 0 ? 1 : 0) + item.length;
    if (used + closing.length + minNote + 2 > size) break;
    items.push(item);
  }
  let text = head + items.join(',') + closing;
  let note = '';
  while (note.length < size - text.length - 2) note += (note.length > 0 ? ' ' : '') + pick(MESSAGES);
  text += note.slice(0, size - text.length - 2) + '"}';
  const out = new TextEncoder().encode(text);
  if (out.length !== size) throw new Error(`log line is ${out.length} bytes, expected ${size}`);
  return out;
}

/**
 * The record generator. `payload(id)` returns a view of a pool line with `id` written in: it is
 * valid until `payload` is called with another id that shares its pool line (`id + k*POOL_SIZE`),
 * so a caller must be done with it (an awaited append has copied it) before then.
 */
export class LogRecords {
  readonly size: number;
  readonly #pool: Uint8Array[];

  constructor(seed: number, size = RECORD_BYTES, poolSize = POOL_SIZE) {
    const rand = seededRandom(seed);
    this.size = size;
    this.#pool = Array.from({ length: poolSize }, (_, i) => logLine(i, size, rand));
  }

  /** Record `id`'s payload (a view into the pool, see the class comment). */
  payload(id: number): Uint8Array {
    const line = this.#pool[id % this.#pool.length]!;
    let n = id;
    for (let i = SEQ_OFFSET + SEQ_DIGITS - 1; i >= SEQ_OFFSET; i--) {
      line[i] = DIGIT_0 + (n % 10);
      n = Math.floor(n / 10);
    }
    return line;
  }

  /** True when `bytes` is exactly record `id`'s payload (does not touch the pool). */
  matches(id: number, bytes: Uint8Array): boolean {
    const line = this.#pool[id % this.#pool.length]!;
    if (bytes.length !== line.length) return false;
    let n = id;
    for (let i = SEQ_OFFSET + SEQ_DIGITS - 1; i >= SEQ_OFFSET; i--) {
      if (bytes[i] !== DIGIT_0 + (n % 10)) return false;
      n = Math.floor(n / 10);
    }
    for (let i = 0; i < SEQ_OFFSET; i++) if (bytes[i] !== line[i]) return false;
    for (let i = SEQ_OFFSET + SEQ_DIGITS; i < line.length; i++) if (bytes[i] !== line[i]) return false;
    return true;
  }

  /** Bytes one record takes in a segment (header, payload, padding). */
  get frameBytes(): number {
    return frameLength(this.size);
  }
}

/**
 * Writes records `firstId .. firstId + count - 1` into `target` as the engine's slot holds them
 * after the flush worker saw them: length, per-record CRC, timestamp, payload, zero padding.
 * Returns the data region's length and CRC (what a segment footer records).
 */
export function fillSegment(target: Uint8Array, records: LogRecords, firstId: number, count: number, timestamp0: number): { dataBytes: number; dataCrc: number } {
  let off = 0;
  // ~300 records per millisecond, about what the engine ingests here.
  for (let i = 0; i < count; i++) off = encodeFrame(target, off, records.payload(firstId + i), timestamp0 + Math.floor(i / 300));
  const dataBytes = off;
  return { dataBytes, dataCrc: crc32(target.subarray(0, dataBytes)) };
}
