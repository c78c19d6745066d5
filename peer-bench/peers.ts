/**
 * peers: aof2 side by side with the libraries people would otherwise pick, writing the same 1 KiB
 * records with the same durability: every side appends a batch of 1,000 records, then waits until
 * the batch is on disk (fsync'd), and repeats. Each batch is timed from its first append to its
 * durability barrier, so the rate includes the fsync and the histogram is per durable batch.
 *
 *   aof2 appendSync  `appendSync` x 1,000, then `await log.flush()` (fdatasync by the flush worker)
 *   aof2 append      `log.append` x 1,000 (promises), awaited, then `await log.flush()`
 *   lmdb-js          `db.put` x 1,000 (auto-batched into one transaction), awaited, then `await db.flushed`
 *   hypercore        `await core.append([1,000 blocks])`: hypercore 11 writes through RocksDB, whose
 *                    WAL it does not sync; it has no option to, so this side is *less* durable than
 *                    the others (it survives a process crash, not a power cut): the comparison
 *                    favours it
 *   sonic-boom       `write` x 1,000 in sync mode (one write(2) each), then `flushSync()` (fsync)
 *   fs.createWriteStream  `write` x 1,000, the last one's callback, then `fsync(fd)`
 *
 * The two plain-file sides write the smallest framing that can be read back: a u32 length before
 * each payload. aof2 runs with Tier 1 off (raw segment files, like the peers' uncompressed storage)
 * and `fsync: 'never'` (only the barrier fsyncs, like the peers). The sides alternate round by round
 * in one process, each keeping its store open, so a disk that slows down over the run slows every
 * side alike. Before the figures count, each side's store is reopened and the records are counted
 * and the last ones compared byte for byte.
 *
 * Targets (issue #6): aof2 >= 2.5x lmdb-js and >= 4x hypercore in records/s at 1 KiB.
 */
import { closeSync, fsync, fstatSync, openSync, readSync, createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AofManager, type AofLog, type AofManagerOptions } from '../src/index.js';
import { appendSyncBatch, patternPayload, sameBytes, tempRoot, TIER1_OFF, verifyStream } from '../native-free-bench/fixtures.js';
import {
  atLeast,
  BatchMeter,
  LatencyHistogram,
  measured,
  nowNs,
  ratioResult,
  verification,
  type BenchResult,
  type Measurement,
  type Suite,
  type SuiteOptions,
  type Verification,
} from '../native-free-bench/shared.js';
import { ensurePeerLibraries } from './install.js';
import { loadPeerLibraries, type Hypercore, type LmdbDatabase, type PeerLibraries, type SonicBoom } from './libraries.js';

const SIZE = 1024;
/** Records per durability barrier. */
const BATCH = 1000;
/** How many of the last records each verification compares byte for byte. */
const READ_BACK = 1000;
const STREAM = 'peers';
const fsyncAsync = promisify(fsync);

/** One library under test: opened once, fed durable batches, closed, then reopened to verify. */
interface Side {
  readonly name: string;
  /** Appends `n` copies of the record and resolves once all of them are durable. */
  batch(n: number): Promise<void>;
  close(): Promise<void>;
  /** After close: reopens the store and checks it holds `expected` records, the last ones byte for byte. */
  verify(expected: number): Promise<Verification[]>;
}

class Aof2Side implements Side {
  readonly name: string;
  readonly #options: AofManagerOptions;
  readonly #manager: AofManager;
  readonly #log: AofLog;
  readonly #payload: Uint8Array;
  readonly #async: boolean;
  /** Only for appendSyncBatch's WouldBlock handling; the suite keeps its own timing. */
  readonly #meter = new BatchMeter('unused');

  private constructor(name: string, options: AofManagerOptions, manager: AofManager, log: AofLog, payload: Uint8Array, async: boolean) {
    this.name = name;
    this.#options = options;
    this.#manager = manager;
    this.#log = log;
    this.#payload = payload;
    this.#async = async;
  }

  static async open(root: string, payload: Uint8Array, async: boolean): Promise<Aof2Side> {
    const options: AofManagerOptions = { root, tier1: TIER1_OFF, fsync: 'never' };
    const manager = await AofManager.open(options);
    const log = await manager.openStream(STREAM);
    return new Aof2Side(async ? 'aof2 append' : 'aof2 appendSync', options, manager, log, payload, async);
  }

  async batch(n: number): Promise<void> {
    if (this.#async) {
      const pending: Promise<number>[] = new Array(n);
      for (let i = 0; i < n; i++) pending[i] = this.#log.append(this.#payload);
      await Promise.all(pending);
    } else {
      await appendSyncBatch(this.#log, this.#payload, n, this.#meter);
    }
    await this.#log.flush();
  }

  async close(): Promise<void> {
    await this.#manager.close();
  }

  verify(expected: number): Promise<Verification[]> {
    return verifyStream(this.#options, STREAM, expected, this.#payload);
  }
}

class LmdbSide implements Side {
  readonly name = 'lmdb-js';
  readonly #libraries: PeerLibraries;
  readonly #path: string;
  readonly #payload: Buffer;
  #db: LmdbDatabase<Buffer, number>;
  #nextKey = 0;

  constructor(libraries: PeerLibraries, path: string, payload: Buffer) {
    this.#libraries = libraries;
    this.#path = path;
    this.#payload = payload;
    this.#db = this.#open();
  }

  #open(): LmdbDatabase<Buffer, number> {
    // Binary values, no compression (the records are stored as given, like every other side);
    // the defaults otherwise: synced commits with overlappingSync, hence the `flushed` barrier.
    return this.#libraries.openLmdb<Buffer, number>({ path: this.#path, encoding: 'binary', compression: false });
  }

  async batch(n: number): Promise<void> {
    let last: Promise<boolean> | undefined;
    for (let i = 0; i < n; i++) last = this.#db.put(this.#nextKey++, this.#payload);
    await last;
    await this.#db.flushed;
  }

  async close(): Promise<void> {
    await this.#db.close();
  }

  async verify(expected: number): Promise<Verification[]> {
    const db = this.#open();
    try {
      const count = db.getKeysCount();
      let matched = 0;
      const from = Math.max(0, expected - READ_BACK);
      for (let key = from; key < expected; key++) {
        const value = db.get(key);
        if (value !== undefined && sameBytes(value, this.#payload)) matched++;
      }
      return [
        verification('baseline', expected, count, 'reopened the database and counted its keys'),
        verification('baseline', expected - from, matched, `read the last ${expected - from} values back (bytes)`),
      ];
    } finally {
      await db.close();
    }
  }
}

class HypercoreSide implements Side {
  readonly name = 'hypercore';
  readonly #libraries: PeerLibraries;
  readonly #path: string;
  readonly #payload: Buffer;
  readonly #core: Hypercore;

  private constructor(libraries: PeerLibraries, path: string, payload: Buffer, core: Hypercore) {
    this.#libraries = libraries;
    this.#path = path;
    this.#payload = payload;
    this.#core = core;
  }

  static async open(libraries: PeerLibraries, path: string, payload: Buffer): Promise<HypercoreSide> {
    const core = new libraries.Hypercore(path);
    await core.ready();
    return new HypercoreSide(libraries, path, payload, core);
  }

  async batch(n: number): Promise<void> {
    const blocks: Buffer[] = new Array(n).fill(this.#payload);
    await this.#core.append(blocks);
  }

  async close(): Promise<void> {
    await this.#core.close();
  }

  async verify(expected: number): Promise<Verification[]> {
    const core = new this.#libraries.Hypercore(this.#path);
    try {
      await core.ready();
      let matched = 0;
      const from = Math.max(0, expected - READ_BACK);
      for (let i = from; i < expected && i < core.length; i++) {
        const block = await core.get(i);
        if (block !== null && sameBytes(block, this.#payload)) matched++;
      }
      return [
        verification('baseline', expected, core.length, 'reopened the core and read its length'),
        verification('baseline', expected - from, matched, `read the last ${expected - from} blocks back (bytes)`),
      ];
    } finally {
      await core.close();
    }
  }
}

/** A u32 length, then the payload: the least framing that can be read back. */
function framed(payload: Uint8Array): Buffer {
  const frame = Buffer.alloc(4 + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.set(payload, 4);
  return frame;
}

/** Walks a file of u32-length frames: how many frames, and how many of the last ones match `payload`. */
function verifyFramedFile(path: string, expected: number, payload: Uint8Array): Verification[] {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const frameBytes = 4 + payload.length;
    const frame = Buffer.alloc(frameBytes);
    let frames = 0;
    let matched = 0;
    const tailFrom = Math.max(0, expected - READ_BACK);
    for (let pos = 0; pos + frameBytes <= size; pos += frameBytes) {
      readSync(fd, frame, 0, frameBytes, pos);
      if (frame.readUInt32LE(0) !== payload.length) break;
      if (frames >= tailFrom && sameBytes(frame.subarray(4), payload)) matched++;
      frames++;
    }
    return [
      verification('baseline', expected, frames, 'scanned the file frame by frame (length headers)'),
      verification('baseline', expected - tailFrom, matched, `compared the last ${expected - tailFrom} payloads byte for byte`),
    ];
  } finally {
    closeSync(fd);
  }
}

class SonicBoomSide implements Side {
  readonly name = 'sonic-boom';
  readonly #path: string;
  readonly #frame: Buffer;
  readonly #payload: Uint8Array;
  readonly #boom: SonicBoom;

  constructor(libraries: PeerLibraries, path: string, payload: Uint8Array) {
    this.#path = path;
    this.#payload = payload;
    this.#frame = framed(payload);
    this.#boom = new libraries.SonicBoom({ dest: path, sync: true, contentMode: 'buffer', mkdir: true });
  }

  async batch(n: number): Promise<void> {
    for (let i = 0; i < n; i++) this.#boom.write(this.#frame);
    this.#boom.flushSync(); // writes what is buffered, then fsyncSync
  }

  async close(): Promise<void> {
    this.#boom.end();
    await new Promise<void>((resolve) => this.#boom.once('close', () => resolve()));
  }

  async verify(expected: number): Promise<Verification[]> {
    return verifyFramedFile(this.#path, expected, this.#payload);
  }
}

class WriteStreamSide implements Side {
  readonly name = 'fs.createWriteStream';
  readonly #path: string;
  readonly #frame: Buffer;
  readonly #payload: Uint8Array;
  readonly #stream: WriteStream;
  readonly #fd: number;

  private constructor(path: string, payload: Uint8Array, stream: WriteStream, fd: number) {
    this.#path = path;
    this.#payload = payload;
    this.#frame = framed(payload);
    this.#stream = stream;
    this.#fd = fd;
  }

  static async open(path: string, payload: Uint8Array): Promise<WriteStreamSide> {
    const stream = createWriteStream(path);
    const fd = await new Promise<number>((resolve, reject) => {
      stream.once('open', resolve);
      stream.once('error', reject);
    });
    return new WriteStreamSide(path, payload, stream, fd);
  }

  async batch(n: number): Promise<void> {
    for (let i = 0; i < n - 1; i++) this.#stream.write(this.#frame);
    await new Promise<void>((resolve, reject) => this.#stream.write(this.#frame, (err) => (err ? reject(err) : resolve())));
    await fsyncAsync(this.#fd);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#stream.end(() => resolve()));
  }

  async verify(expected: number): Promise<Verification[]> {
    return verifyFramedFile(this.#path, expected, this.#payload);
  }
}

/** What one side did over the timed rounds. */
class Tally {
  records = 0;
  ns = 0;
  batches = 0;
  readonly histogram = new LatencyHistogram(`durable batch of ${BATCH.toLocaleString('en-US')}`);

  measurement(name: string): Measurement {
    return measured(name, this.records, this.ns, this.batches, this.histogram);
  }
}

/** Durable batches for `ms`, each timed from its first append to its barrier. */
async function round(side: Side, tally: Tally | null, ms: number): Promise<number> {
  const deadline = nowNs() + ms * 1e6;
  let records = 0;
  while (nowNs() < deadline) {
    const t0 = nowNs();
    await side.batch(BATCH);
    const ns = nowNs() - t0;
    records += BATCH;
    if (tally !== null) {
      tally.ns += ns;
      tally.records += BATCH;
      tally.batches++;
      tally.histogram.record(ns);
    }
  }
  return records;
}

export const peers: Suite = {
  name: 'peers',
  description: 'aof2 vs lmdb-js, hypercore, sonic-boom and fs.createWriteStream: 1 KiB records, fsync per 1,000',
  async run(options: SuiteOptions): Promise<BenchResult[]> {
    const rounds = options.quick ? 1 : 4;
    const roundMs = options.quick ? 250 : 2000;
    const warmupMs = options.quick ? 50 : 300;
    // On a clone whose root install never fetched them (they are not aof2 dependencies).
    await ensurePeerLibraries(options.progress);
    const libraries = loadPeerLibraries();
    const payload = patternPayload(SIZE);
    const buffer = Buffer.from(payload);
    const dirs = tempRoot('peers');
    const sides: Side[] = [];
    const closed = new Set<Side>();
    try {
      sides.push(
        await Aof2Side.open(join(dirs.root, 'aof2-sync'), payload, false),
        await Aof2Side.open(join(dirs.root, 'aof2-async'), payload, true),
        new LmdbSide(libraries, join(dirs.root, 'lmdb'), buffer),
        await HypercoreSide.open(libraries, join(dirs.root, 'hypercore'), buffer),
        new SonicBoomSide(libraries, join(dirs.root, 'sonic-boom.log'), payload),
        await WriteStreamSide.open(join(dirs.root, 'write-stream.log'), payload),
      );
      const tallies = sides.map(() => new Tally());
      const written = sides.map(() => 0);
      options.progress(`peers: warming up each side for ${warmupMs} ms`);
      for (const [i, side] of sides.entries()) written[i]! += await round(side, null, warmupMs);
      for (let r = 0; r < rounds; r++) {
        options.progress(`peers: round ${r + 1} of ${rounds}, ${roundMs} ms per side`);
        for (const [i, side] of sides.entries()) {
          options.gc();
          written[i]! += await round(side, tallies[i]!, roundMs);
        }
      }
      const verified: Verification[][] = [];
      for (const [i, side] of sides.entries()) {
        closed.add(side);
        await side.close();
        options.progress(`peers: verifying ${side.name} (${written[i]} records)`);
        verified.push(await side.verify(written[i]!));
      }
      const measured = sides.map((side, i) => tallies[i]!.measurement(side.name));
      const results: BenchResult[] = [];
      const targets: Record<string, number> = { 'lmdb-js': 2.5, hypercore: 4 };
      for (const subject of [0, 1]) {
        for (let peer = 2; peer < sides.length; peer++) {
          const name = sides[peer]!.name;
          const ratio = measured[subject]!.ratePerSec / measured[peer]!.ratePerSec;
          const target = targets[name];
          results.push(
            ratioResult({
              suite: 'peers',
              case: `${sides[subject]!.name} vs ${name} (1 KiB, fsync per ${BATCH.toLocaleString('en-US')})`,
              subject: measured[subject]!,
              baseline: measured[peer]!,
              ratioOf: 'records/s',
              targets: target === undefined ? [] : [atLeast(`records/s vs ${name}`, target, ratio, 'x')],
              verified: [...verified[subject]!, ...verified[peer]!],
              notes: name === 'hypercore' ? ['hypercore does not sync its RocksDB WAL: it is less durable than the other sides'] : [],
            }),
          );
        }
      }
      return results;
    } finally {
      for (const side of sides) if (!closed.has(side)) await side.close().catch(() => undefined);
      dirs.cleanup();
    }
  },
};
