/**
 * durable: fsync 'always' under load. 64 concurrent appenders each loop `await log.append(1 KiB)`
 * (each resolves only once its record is fdatasync'd: group commit in the flush worker), timed per
 * append. Baseline, in the same temp dir and the same run: the raw syscalls such a log needs at
 * minimum — one `fs.writeSync` of 64 framed 1 KiB records, then `fs.fdatasyncSync`, in a loop on
 * the main thread, timed per batch. The two alternate in rounds.
 *
 * Twins (issue #12): native-codec-bench adds an engine side at default options, in the same
 * rounds against the same raw baseline; every manager is quiesced before each side's round.
 *
 * Targets (from the issue): p99 per-append latency <= 3 ms and >= 100k records/s.
 */
import { closeSync, fdatasyncSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { encodeFrame, frameLength, readFramePayloadLength } from '../src/format/record.js';
import { AofManager, type AofLog, type AofManagerOptions } from '../src/index.js';
import { patternPayload, quiesce, sameBytes, tempRoot, TIERS_OFF, variantCase, verifyStream, type TierVariant } from './fixtures.js';
import {
  atLeast,
  atMost,
  LatencyHistogram,
  measured,
  nowNs,
  pairTwins,
  ratioResult,
  verification,
  type BenchResult,
  type Measurement,
  type Suite,
  type Verification,
  type SuiteOptions,
} from './shared.js';

const APPENDERS = 64;
const SIZE = 1024;
/** Records per baseline write+fdatasync: one per appender, the best group commit can do. */
const GROUP = 64;
const FRAME = frameLength(SIZE);
const STREAM = 'durable';

interface Side {
  records: number;
  ns: number;
  samples: number;
  histogram: LatencyHistogram;
}

/** 64 appenders for `ms`; every append timed from call to resolution. */
async function engineRound(log: AofLog, payload: Uint8Array, ms: number, side: Side | null): Promise<number> {
  const deadline = nowNs() + ms * 1e6;
  let records = 0;
  const appender = async (): Promise<void> => {
    while (nowNs() < deadline) {
      const t0 = nowNs();
      await log.append(payload);
      if (side !== null) side.histogram.record(nowNs() - t0);
      records++;
    }
  };
  const t0 = nowNs();
  await Promise.all(Array.from({ length: APPENDERS }, appender));
  if (side !== null) {
    side.ns += nowNs() - t0;
    side.records += records;
    side.samples += records;
  }
  return records;
}

/** The raw-syscall baseline: write GROUP frames with one writeSync, fdatasync, repeat for `ms`. */
class RawFile {
  readonly fd: number;
  readonly batch: Uint8Array;
  position = 0;
  batches = 0;

  constructor(path: string, payload: Uint8Array) {
    this.fd = openSync(path, 'w+');
    this.batch = new Uint8Array(GROUP * FRAME);
    // Real frames (CRC included): the baseline writes the bytes the engine writes.
    for (let i = 0; i < GROUP; i++) encodeFrame(this.batch, i * FRAME, payload, Date.now());
  }

  round(ms: number, side: Side | null): void {
    const deadline = nowNs() + ms * 1e6;
    const t0 = nowNs();
    let batches = 0;
    while (nowNs() < deadline) {
      const b0 = nowNs();
      let written = 0;
      while (written < this.batch.length) {
        written += writeSync(this.fd, this.batch, written, this.batch.length - written, this.position + written);
      }
      fdatasyncSync(this.fd);
      if (side !== null) side.histogram.record(nowNs() - b0);
      this.position += this.batch.length;
      batches++;
    }
    this.batches += batches;
    if (side !== null) {
      side.ns += nowNs() - t0;
      side.records += batches * GROUP;
      side.samples += batches;
    }
  }

  #closed = false;

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.fd);
  }

  /** Counts the frames in the file whose length header is right, then compares the last batch byte for byte. */
  verify(): Verification[] {
    const size = fstatSync(this.fd).size;
    const chunk = new Uint8Array(GROUP * FRAME * 16);
    const view = new DataView(chunk.buffer);
    let found = 0;
    for (let pos = 0; pos < size; pos += chunk.length) {
      const n = readSync(this.fd, chunk, 0, Math.min(chunk.length, size - pos), pos);
      for (let off = 0; off + FRAME <= n; off += FRAME) if (readFramePayloadLength(view, off) === SIZE) found++;
    }
    const last = new Uint8Array(this.batch.length);
    let lastMatched = 0;
    if (size >= last.length) {
      readSync(this.fd, last, 0, last.length, size - last.length);
      for (let i = 0; i < GROUP; i++) {
        if (sameBytes(last.subarray(i * FRAME, (i + 1) * FRAME), this.batch.subarray(i * FRAME, (i + 1) * FRAME))) lastMatched++;
      }
    }
    this.close();
    return [
      verification('baseline', this.batches * GROUP, found, 'scanned the file frame by frame (length headers)'),
      verification('baseline', GROUP, lastMatched, 'compared the frames of the last batch byte for byte'),
    ];
  }
}

function measurement(name: string, side: Side, extra: Record<string, number> = {}): Measurement {
  return measured(name, side.records, side.ns, side.samples, side.histogram, extra);
}

/**
 * The suite over `variants`: the raw file baseline and one engine side per variant, alternating
 * round by round, every engine side against the same raw baseline.
 */
export function durableSuite(variants: readonly TierVariant[]): Suite {
  return {
    name: 'durable',
    description: `fsync 'always', ${APPENDERS} concurrent appenders of 1 KiB vs raw writeSync+fdatasync batches of ${GROUP}`,
    run: (options) => runDurable(options, variants),
  };
}

/** native-free-bench's suite: tiers off. */
export const durable: Suite = durableSuite([TIERS_OFF]);

interface EngineSide {
  variant: TierVariant;
  config: AofManagerOptions;
  manager: AofManager;
  log: AofLog;
  side: Side;
  cleanup: () => void;
}

async function runDurable(options: SuiteOptions, variants: readonly TierVariant[]): Promise<BenchResult[]> {
  const { root, cleanup } = tempRoot('durable');
  // Run before the temp dirs go, also when the suite fails half-way.
  const cleanups: (() => void)[] = [];
  const engines: EngineSide[] = [];
  try {
    const payload = patternPayload(SIZE);
    for (const variant of variants) {
      const own = tempRoot('durable');
      const config: AofManagerOptions = {
        root: own.root,
        tier0: { arenaBytes: 256 * 1024 * 1024, segmentBytes: 8 * 1024 * 1024 },
        ...variant.options,
        fsync: 'always',
      };
      const manager = await AofManager.open(config).catch((err: unknown) => {
        own.cleanup();
        throw err;
      });
      engines.push({
        variant,
        config,
        manager,
        log: await manager.openStream(STREAM),
        side: { records: 0, ns: 0, samples: 0, histogram: new LatencyHistogram('append (each)') },
        cleanup: own.cleanup,
      });
    }
    const raw = new RawFile(join(root, 'raw-baseline.bin'), payload);
    cleanups.push(() => raw.close());
    const baseline: Side = { records: 0, ns: 0, samples: 0, histogram: new LatencyHistogram(`fsync'd batch of ${GROUP}`) };
    const { roundMs, rounds, warmupMs } = options.quick ? { roundMs: 400, rounds: 1, warmupMs: 100 } : { roundMs: 1000, rounds: 3, warmupMs: 300 };
    // Between sides: every manager idle (compression and uploads drained), untimed.
    const settle = async (): Promise<void> => {
      for (const e of engines) await quiesce(e.manager, [e.log]);
    };
    options.progress('durable: measuring');
    raw.round(warmupMs, null);
    for (const e of engines) await engineRound(e.log, payload, warmupMs, null);
    for (let round = 0; round < rounds; round++) {
      await settle();
      raw.round(roundMs, baseline);
      for (const e of engines) {
        await settle();
        await engineRound(e.log, payload, roundMs, e.side);
      }
    }
    const base = measurement(`writeSync+fdatasync x${GROUP}`, baseline);
    const rawVerified = raw.verify();
    const results: BenchResult[] = [];
    for (const e of engines) {
      const appended = e.log.nextId;
      const durableAfter = e.log.durableId;
      await e.manager.close();
      options.progress(`durable${variants.length > 1 ? ` ${e.variant.label}` : ''}: verifying ${appended} records`);
      const verified = [
        verification('subject', appended, durableAfter + 1, "durableId once every append() had resolved (fsync 'always')"),
        ...(await verifyStream(e.config, STREAM, appended, payload)),
        ...rawVerified,
      ];
      const subject = measurement(variants.length > 1 ? `append() x${APPENDERS}, ${e.variant.label}` : `append() x${APPENDERS}`, e.side);
      results.push(
        ratioResult({
          suite: 'durable',
          case: variantCase(`1 KiB x${APPENDERS}`, e.variant, variants),
          subject,
          baseline: base,
          ratioOf: 'durable records/s',
          targets: [atMost('p99 ms', 3, subject.latency.p99 / 1e6), atLeast('records/s', 100_000, subject.ratePerSec)],
          verified,
          tiers: e.variant.setting,
          notes: [
            `${APPENDERS} appenders each awaiting append() in a loop; baseline is one write + fdatasync per ${GROUP} records on the main thread`,
          ],
        }),
      );
    }
    return pairTwins(results);
  } finally {
    for (const fn of cleanups) fn();
    for (const e of engines) {
      await e.manager.close().catch(() => undefined);
      e.cleanup();
    }
    cleanup();
  }
}
