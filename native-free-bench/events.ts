/**
 * Small JSON events (~180 B on average, 120 to 240 B) from the project's seeded generator: the
 * records of the issue #12 cases (burst, sustained ingest, low rate, the HTTP audit log), shaped
 * like application events (clicks, audit entries, orders, log lines) with random ids, addresses,
 * amounts and a free-text note, so they compress like real events (~2-4x at zstd level 3), not
 * like a repeated buffer.
 *
 * Cost: building an event with JSON.stringify takes microseconds, more than an append, so a pool
 * of distinct events is built once and event `id` is pool entry `id % poolSize` with `id` written
 * into its fixed-width `seq` field (the same technique as native-codec-bench/records.ts). The
 * same `(seed, id)` always gives the same bytes, so any record can be checked without storing it.
 * Pure JS: native-free-bench may import it.
 */
import { seededRandom } from '../src/seeded-random.js';

/** The event starts `{"seq":"` and the id follows as SEQ_DIGITS zero-padded decimal digits. */
const SEQ_PREFIX = '{"seq":"';
const SEQ_OFFSET = SEQ_PREFIX.length;
const SEQ_DIGITS = 12;
const DIGIT_0 = 0x30;

const KINDS = ['click', 'click', 'click', 'audit', 'order', 'log'] as const;
const PAGES = ['/', '/search', '/products/shoes', '/products/bags', '/cart', '/checkout', '/account', '/help'];
const ACTIONS = ['create', 'update', 'update', 'delete', 'grant', 'revoke', 'login'];
const RESOURCES = ['account', 'invoice', 'subscription', 'api-key', 'role', 'webhook'];
const LEVELS = ['info', 'info', 'info', 'debug', 'warn', 'error'];
const SERVICES = ['checkout', 'cart', 'catalog', 'auth', 'search', 'payments'];
const WORDS = (
  'request completed cache miss fetched from origin retrying upstream call after timeout order state changed ' +
  'payment authorised rate limit close to threshold slow query detected user session refreshed gift wrap ' +
  'address verified by support agent partial refund issued loyalty points credited account flagged review'
).split(' ');

/** Smallest and largest event, bytes. */
export const EVENT_MIN_BYTES = 120;
export const EVENT_MAX_BYTES = 240;
/** Shortest free-text note. */
const MIN_NOTE = 8;
/** Distinct events in the pool (~740 KB). */
export const EVENT_POOL_SIZE = 4096;

/** One event of exactly `size` bytes (ASCII), its `seq` field zeroed. */
function event(index: number, size: number, rand: () => number): Uint8Array {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (n: number): number => Math.floor(rand() * n);
  const hex = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[int(16)];
    return s;
  };
  const kind = pick(KINDS);
  const ts = 1_735_689_600_000 + index * 37 + int(30);
  let body: Record<string, unknown>;
  switch (kind) {
    case 'click':
      body = { kind, ts, user: `u_${int(2_000_000)}`, page: pick(PAGES), session: hex(12) };
      break;
    case 'audit':
      body = { kind, ts, actor: `u_${int(50_000)}`, action: pick(ACTIONS), resource: pick(RESOURCES), ip: `10.${int(256)}.${int(256)}.${int(256)}` };
      break;
    case 'order':
      body = { kind, ts, order: `o_${hex(10)}`, cents: int(500_000), cur: 'EUR', items: 1 + int(6) };
      break;
    case 'log':
      body = { kind, ts, level: pick(LEVELS), svc: pick(SERVICES), trace: hex(16) };
      break;
  }
  // The fixed fields, then a free-text note of exactly the length left: valid JSON of `size` bytes.
  const head = `${SEQ_PREFIX}${'0'.repeat(SEQ_DIGITS)}",${JSON.stringify(body).slice(1, -1)},"note":"`;
  // An event whose fixed fields leave less than MIN_NOTE bytes grows to make room: sizes are a
  // draw from [EVENT_MIN_BYTES, EVENT_MAX_BYTES], raised where needed.
  const bytes = Math.max(size, head.length + MIN_NOTE + 2);
  let note = '';
  while (note.length < bytes - head.length - 2) note += (note.length > 0 ? ' ' : '') + pick(WORDS);
  const text = `${head}${note.slice(0, bytes - head.length - 2)}"}`;
  const out = new TextEncoder().encode(text);
  if (out.length !== bytes) throw new Error(`event is ${out.length} bytes, expected ${bytes}`);
  return out;
}

/**
 * The event generator. `payload(id)` returns a view of a pool entry with `id` written in: valid
 * until `payload` is called with another id that shares its entry (`id + k * poolSize`), so the
 * caller must have handed it to the engine (which copies) before then.
 */
export class JsonEvents {
  readonly #pool: Uint8Array[];
  /** Mean payload bytes over the pool. */
  readonly meanBytes: number;

  constructor(seed: number, poolSize = EVENT_POOL_SIZE) {
    const rand = seededRandom(seed);
    this.#pool = Array.from({ length: poolSize }, (_, i) => event(i, EVENT_MIN_BYTES + Math.floor(rand() * (EVENT_MAX_BYTES - EVENT_MIN_BYTES + 1)), rand));
    this.meanBytes = this.#pool.reduce((n, e) => n + e.length, 0) / poolSize;
  }

  /** Event `id`'s payload (a view into the pool, see the class comment). */
  payload(id: number): Uint8Array {
    const line = this.#pool[id % this.#pool.length]!;
    let n = id;
    for (let i = SEQ_OFFSET + SEQ_DIGITS - 1; i >= SEQ_OFFSET; i--) {
      line[i] = DIGIT_0 + (n % 10);
      n = Math.floor(n / 10);
    }
    return line;
  }

  /** Payload bytes of event `id` (without touching the pool). */
  sizeOf(id: number): number {
    return this.#pool[id % this.#pool.length]!.length;
  }

  /** True when `bytes` is exactly event `id`'s payload (does not touch the pool). */
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
}
