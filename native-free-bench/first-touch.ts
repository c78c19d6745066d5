/**
 * first-touch: the first pass of 1 KiB `appendSync` over a fresh arena against a warm pass over
 * the same arena, in the same manager and the same run (issue #12).
 *
 * A SharedArrayBuffer's pages are committed by the kernel on first write, and a page fault costs
 * more than the copy (fixtures.ts touchArena: ~0.7-1.1 µs per 1 KiB frame on fresh memory against
 * ~0.1 µs warm on these VMs). Whether the writer pays that is up to the engine (prefault at open,
 * or by a worker ahead of the writer): this suite measures what it does, through the public API.
 *
 * A round opens a manager on a fresh root (256 MiB arena of 8 MiB segments, 64 MiB under
 * --quick; fsync 'never'), appends the arena minus two segments of 1 KiB records right after
 * `openStream` resolves (cold: every slot taken for the first time), lets it go idle (flushed;
 * compressed and uploaded when the tiers are on), and appends the same amount again (warm: the
 * same slots, reused). Both passes are timed in batches of 1,000 calls, hot path only (a
 * WouldBlock waited out with `append()` is a stall, reported apart), as append-sync does. Rounds
 * repeat with fresh managers, so the passes alternate.
 *
 * Target (issue #12): the first pass at least 0.8x of the warm pass.
 */
import { frameLength } from '../src/format/record.js';
import { AofManager, type AofManagerOptions } from '../src/index.js';
import { appendSyncBatch, patternPayload, quiesce, tempRoot, TIERS_OFF, variantCase, verifyStream, type TierVariant } from './fixtures.js';
import { atLeast, BatchMeter, pairTwins, ratioResult, type BenchResult, type Suite, type SuiteOptions, type Verification, summedVerifications } from './shared.js';

const SIZE = 1024;
const BATCH = 1000;
const SEGMENT_BYTES = 8 * 1024 * 1024;
const STREAM = 'first-touch';

interface Side {
  variant: TierVariant;
  cold: BatchMeter;
  warm: BatchMeter;
  verified: Verification[][];
  records: number;
}

/** One round for one variant: fresh manager, cold pass, idle, warm pass, close, verify. */
async function round(side: Side, arenaBytes: number, payload: Uint8Array): Promise<void> {
  const { root, cleanup } = tempRoot('first-touch');
  try {
    const config: AofManagerOptions = { root, tier0: { arenaBytes, segmentBytes: SEGMENT_BYTES }, ...side.variant.options, fsync: 'never' };
    const batches = Math.floor((arenaBytes - 2 * SEGMENT_BYTES) / frameLength(SIZE) / BATCH);
    const manager = await AofManager.open(config);
    let closed = false;
    try {
      const log = await manager.openStream(STREAM);
      side.cold.recording = true;
      for (let b = 0; b < batches; b++) await appendSyncBatch(log, payload, BATCH, side.cold);
      side.cold.recording = false;
      await quiesce(manager, [log]);
      side.warm.recording = true;
      for (let b = 0; b < batches; b++) await appendSyncBatch(log, payload, BATCH, side.warm);
      side.warm.recording = false;
      const appended = log.nextId;
      await manager.close();
      closed = true;
      side.records += appended;
      side.verified.push(await verifyStream(config, STREAM, 2 * batches * BATCH, payload));
    } finally {
      if (!closed) await manager.close().catch(() => undefined);
    }
  } finally {
    cleanup();
  }
}

/** Per-round verifications merged: counts summed, ok only if every round was. */

/** The suite over `variants`: per round, each variant gets its fresh manager in turn. */
export function firstTouchSuite(variants: readonly TierVariant[]): Suite {
  return {
    name: 'first-touch',
    description: 'first pass of 1 KiB appendSync over a fresh arena vs a warm pass over the same arena',
    async run(options: SuiteOptions): Promise<BenchResult[]> {
      const arenaBytes = (options.quick ? 64 : 256) * 1024 * 1024;
      const rounds = options.quick ? 2 : 4;
      const payload = patternPayload(SIZE);
      const suffix = (v: TierVariant): string => (variants.length > 1 ? `, ${v.label}` : '');
      const sides: Side[] = variants.map((variant) => ({
        variant,
        cold: new BatchMeter(`fresh arena${suffix(variant)}`),
        warm: new BatchMeter(`warm arena${suffix(variant)}`),
        verified: [],
        records: 0,
      }));
      for (let r = 0; r < rounds; r++) {
        for (const side of sides) {
          options.progress(`first-touch${suffix(side.variant)}: round ${r + 1}/${rounds}, ${arenaBytes / 2 ** 20} MiB arena`);
          await round(side, arenaBytes, payload);
        }
      }
      return pairTwins(
        sides.map((side) => {
          const subject = side.cold.measurement();
          const baseline = side.warm.measurement();
          const result = ratioResult({
            suite: 'first-touch',
            case: variantCase(`1 KiB, ${arenaBytes / 2 ** 20} MiB arena`, side.variant, variants),
            subject,
            baseline,
            ratioOf: 'records/s (hot path)',
            targets: [],
            verified: summedVerifications(side.verified, 'rounds'),
            tiers: side.variant.setting,
            notes: [
              `${rounds} rounds, each a fresh manager: arena minus two ${SEGMENT_BYTES / 2 ** 20} MiB segments appended cold, then the same again warm; ` +
                `WouldBlock stalls ${subject.extra['stalls']} (cold), ${baseline.extra['stalls']} (warm); including stalls ${(subject.extra['sustainedPerSec']! / 1e6).toFixed(2)} M/s vs ${(baseline.extra['sustainedPerSec']! / 1e6).toFixed(2)} M/s`,
              `ratio of p50 batch means: ${(baseline.latency.p50 / subject.latency.p50).toFixed(2)}x`,
            ],
          });
          result.targets.push(atLeast('ratio', 0.8, result.ratio));
          return result;
        }),
      );
    },
  };
}

/** native-free-bench's suite: tiers off. */
export const firstTouch: Suite = firstTouchSuite([TIERS_OFF]);
