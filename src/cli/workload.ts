/**
 * The demo's synthetic workload: JSON event records of four kinds (orders, payments, clicks,
 * audit) between 100 B and 2 KiB, from a seeded generator so every run writes the same bytes for
 * the same ids. Each record embeds its own stream id as `"seq"` (always the first key), so a reader
 * can check that the id the engine returns matches the bytes it stored.
 *
 * Building a JSON string per record costs about 4 µs here, more than the engine's append, so the
 * ingest figures would measure the generator. Instead each kind gets a pool of {@link POOL_SIZE}
 * pre-encoded bodies at start-up, and a record is its own `{"seq":N,"ts":T,` prefix plus a body
 * drawn at random from the pool, copied into one reusable scratch buffer.
 */
import { seededRandom } from '../seeded-random.js';

/** The kinds of stream the demo writes, in the order `--streams` adds them. */
export const STREAM_KINDS = ['orders', 'payments', 'clicks', 'audit'] as const;
export type StreamKind = (typeof STREAM_KINDS)[number];

/** Relative share of records per kind: clicks dominate, as they do in real event logs. */
const KIND_WEIGHT: Record<StreamKind, number> = { orders: 25, payments: 20, clicks: 40, audit: 15 };

/** Largest record the generator can produce; the scratch buffer is this size. */
export const MAX_RECORD_BYTES = 2048;
/** Smallest record the generator produces. */
export const MIN_RECORD_BYTES = 100;
/** Distinct bodies per kind: enough variety (megabytes per kind) that the data is not trivially repetitive. */
export const POOL_SIZE = 4096;

export interface DemoStream {
  name: string;
  kind: StreamKind;
}

/** `count` stream names: orders, payments, clicks, audit, then orders-2, payments-2, ... */
export function demoStreams(count: number): DemoStream[] {
  const out: DemoStream[] = [];
  for (let i = 0; i < count; i++) {
    const kind = STREAM_KINDS[i % STREAM_KINDS.length]!;
    const round = Math.floor(i / STREAM_KINDS.length);
    out.push({ name: round === 0 ? kind : `${kind}-${round + 1}`, kind });
  }
  return out;
}

const WORDS = (
  'customer asked for delivery before noon please leave the parcel with the neighbour gift wrap ' +
  'fragile handle with care invoice attached to the order reference promo code applied upgrade ' +
  'shipping to express address verified by support agent callback requested warehouse picked ' +
  'item replaced out of stock partial refund issued loyalty points credited account flagged review'
).split(' ');
const PATHS = ['/', '/search', '/products', '/products/shoes', '/products/bags', '/cart', '/checkout', '/account', '/help'];
const REFERRERS = ['https://www.example.com/', 'https://news.example.org/story', 'https://social.example.net/post', ''];
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
];
const METHODS = ['card', 'sepa', 'paypal', 'applepay'];
const STATUSES = ['authorized', 'captured', 'captured', 'captured', 'refunded', 'failed'];
const COUNTRIES = ['DE', 'FR', 'NL', 'ES', 'IT', 'PL', 'SE', 'US', 'GB'];
const ACTIONS = ['create', 'update', 'update', 'delete', 'grant', 'revoke', 'login'];
const RESOURCES = ['account', 'invoice', 'subscription', 'api-key', 'role', 'webhook'];

const SEQ_KEY = Buffer.from('{"seq":', 'latin1');
const TS_KEY = Buffer.from(',"ts":', 'latin1');
const COMMA = 0x2c;
const DIGIT_0 = 0x30;

/**
 * Writes a non-negative integer in decimal at `off`, returns the offset after it. Done by hand
 * because a template literal plus `Buffer.write` per record costs more than the engine's append.
 */
function writeDecimal(out: Buffer, off: number, value: number): number {
  let digits = 1;
  for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
  let v = value;
  for (let i = off + digits - 1; i >= off; i--) {
    out[i] = DIGIT_0 + (v % 10);
    v = Math.floor(v / 10);
  }
  return off + digits;
}

/** Writes seeded JSON records for one run; `next` returns the encoded length in `scratch`. */
export class Workload {
  /** Reused for every record: callers must hand it to the engine (which copies) before the next call. */
  readonly scratch = Buffer.alloc(MAX_RECORD_BYTES);
  readonly #rand: () => number;
  readonly #text: string;
  readonly #cumulative: number[];
  /** Pre-encoded bodies (everything after the `"ts"` key) per stream, shared between streams of one kind. */
  readonly #pools: Buffer[][];
  readonly #tsBytes = Buffer.alloc(32);
  #tsValue = -1;
  #tsLength = 0;

  constructor(streams: DemoStream[], seed: number) {
    this.#rand = seededRandom(seed);
    // A few KiB of free text to cut notes and diffs from: slicing is far cheaper than joining words.
    const words: string[] = [];
    let length = 0;
    while (length < 4 * MAX_RECORD_BYTES) {
      const word = this.#pick(WORDS);
      words.push(word);
      length += word.length + 1;
    }
    this.#text = words.join(' ');
    const byKind = new Map<StreamKind, Buffer[]>();
    this.#pools = streams.map((s) => {
      let pool = byKind.get(s.kind);
      if (pool === undefined) {
        pool = [];
        for (let i = 0; i < POOL_SIZE; i++) pool.push(Buffer.from(this.#body(s.kind), 'utf8'));
        byKind.set(s.kind, pool);
      }
      return pool;
    });
    let sum = 0;
    this.#cumulative = streams.map((s) => (sum += KIND_WEIGHT[s.kind]));
  }

  /** Index of the stream the next record goes to, drawn by the kinds' weights. */
  pickStream(): number {
    const r = this.#rand() * this.#cumulative[this.#cumulative.length - 1]!;
    let i = 0;
    while (r >= this.#cumulative[i]!) i++;
    return i;
  }

  /** Encodes the record with id `seq` for stream `index` into `scratch`; returns its byte length. */
  next(index: number, seq: number): number {
    const pool = this.#pools[index]!;
    const body = pool[this.#int(pool.length)]!;
    const out = this.scratch;
    out.set(SEQ_KEY, 0);
    let head = writeDecimal(out, SEQ_KEY.length, seq);
    const now = Date.now();
    // Hundreds of records share a millisecond: encode `,"ts":<now>,` once per millisecond.
    if (now !== this.#tsValue) {
      this.#tsValue = now;
      this.#tsBytes.set(TS_KEY, 0);
      this.#tsLength = writeDecimal(this.#tsBytes, TS_KEY.length, now);
      this.#tsBytes[this.#tsLength++] = COMMA;
    }
    const ts = this.#tsBytes;
    for (let i = 0; i < this.#tsLength; i++) out[head++] = ts[i]!;
    if (head + body.length > MAX_RECORD_BYTES) throw new Error(`workload record of ${head + body.length} bytes exceeds ${MAX_RECORD_BYTES}`);
    this.scratch.set(body, head);
    return head + body.length;
  }

  /** One JSON body, without the opening brace and the seq/ts keys the record prefix supplies. */
  #body(kind: StreamKind): string {
    switch (kind) {
      case 'orders': {
        const n = 1 + this.#int(12);
        let items = '';
        let total = 0;
        for (let i = 0; i < n; i++) {
          const qty = 1 + this.#int(4);
          const price = 199 + this.#int(20000);
          total += qty * price;
          items += `${i === 0 ? '' : ','}{"sku":"SKU-${100000 + this.#int(900000)}","qty":${qty},"price":${price}}`;
        }
        return (
          `"type":"order.created","order":"ord-${this.#hex()}","customer":"cus-${this.#int(1e6)}",` +
          `"items":[${items}],"total":${total},"currency":"EUR","shipping":{"country":"${this.#pick(COUNTRIES)}",` +
          `"express":${this.#rand() < 0.2}},"note":"${this.#slice(this.#int(560))}"}`
        );
      }
      case 'payments':
        return (
          `"type":"payment.${this.#pick(STATUSES)}","payment":"pay-${this.#hex()}",` +
          `"order":"ord-${this.#hex()}","amount":${199 + this.#int(250000)},"currency":"EUR","method":"${this.#pick(METHODS)}",` +
          `"card":{"brand":"visa","last4":"${1000 + this.#int(9000)}"},"risk":${this.#rand().toFixed(3)},` +
          `"meta":"${this.#slice(this.#int(160))}"}`
        );
      case 'clicks':
        return (
          `"type":"click","session":"s-${this.#hex()}","user":"u-${this.#int(1e6)}","path":"${this.#pick(PATHS)}",` +
          (this.#rand() < 0.5 ? `"ua":"${this.#pick(AGENTS)}",` : '') +
          `"ref":"${this.#pick(REFERRERS)}"}`
        );
      case 'audit':
        return (
          `"type":"audit.${this.#pick(ACTIONS)}","actor":"user-${this.#int(5000)}",` +
          `"resource":"/${this.#pick(RESOURCES)}/${this.#hex()}","ip":"10.${this.#int(256)}.${this.#int(256)}.${this.#int(256)}",` +
          `"diff":"${this.#slice(100 + this.#int(MAX_RECORD_BYTES - 400))}"}`
        );
    }
  }

  #int(below: number): number {
    return Math.floor(this.#rand() * below);
  }

  #pick<T>(list: readonly T[]): T {
    return list[this.#int(list.length)]!;
  }

  #hex(): string {
    return ((this.#rand() * 0x100000000) >>> 0).toString(16).padStart(8, '0');
  }

  #slice(length: number): string {
    const start = this.#int(this.#text.length - length);
    return this.#text.slice(start, start + length);
  }
}
