/**
 * Window rollovers per append for the pattern of many-streams' `1000 streams vs 1, 1 KiB` case
 * (docs/performance.md, issue 11): 1,000 streams and 1 stream in one manager (1,064 slots of
 * 256 KiB, tiers off, fsync 'never'), each round a settle (flush of all 1,001 streams and the
 * queues drained), then `batches` batches of 1,000 `appendSync` to the one stream, a settle, then
 * `batches` round-robin batches (one 1 KiB record to each of the 1,000 streams). Round 0 adds 4
 * warm-up batches per side (the suite warms up for 100 ms and at least 4 batches: fixed here so
 * that runs compare).
 *
 * It counts, rather than times: windows opened past a segment's byte 0 (window rollovers, and
 * unparks of evicted windows: it also counts parks, 0 so far), segments opened, the sizes the
 * streams asked for (the arena's `acquireWindow`, the segments' WINDOW_OPENED and PARKED events,
 * instrumented from here), and WouldBlocks. Counts still follow the machine where the window-size
 * rule reads the clock: the settles' length (printed) decides which windows read as slow.
 * A diagnostic, not a suite (docs/tier0-windows.md, "Windows that span pauses"):
 * `node dist/native-free-bench/window-rollovers.js [--quick]` (--quick: the suite's --quick
 * pattern, 2 rounds of 10 batches; default 12 rounds of 40, about a minute).
 */
import { Arena } from '../src/arena/arena.js';
import { AofManager, WouldBlockError, type AofLog } from '../src/index.js';
import { Segment, SegmentEventType } from '../src/tier0/segment.js';
import { patternPayload, quiesce, tempRoot, TIER1_OFF } from './fixtures.js';
import { BATCH, QUICK_ROUND_BATCHES, ROUND_BATCHES, SEGMENT_BYTES, SIZE, SLOTS, STREAMS } from './many-streams.js';

const WARMUP_BATCHES = 4;

interface Counts {
  rollovers: number;
  segmentsOpened: number;
  /** Segments parked by pressure relief. */
  parks: number;
  /** Window sizes asked for (bytes → count), rollovers and new segments alike. */
  asked: Map<number, number>;
}

/** Counts WINDOW_OPENED events and `acquireWindow` requests of the segments in `mine` (by Segment). */
function instrument(mine: (seg: Segment) => boolean): Counts {
  const counts: Counts = { rollovers: 0, segmentsOpened: 0, parks: 0, asked: new Map() };
  const apply = Segment.prototype.apply;
  Segment.prototype.apply = function (this: Segment, event: Parameters<Segment['apply']>[0]) {
    if (event.type === SegmentEventType.WINDOW_OPENED && mine(this)) {
      if (event.start > 0) counts.rollovers++;
      else counts.segmentsOpened++;
    }
    if (event.type === SegmentEventType.PARKED && mine(this)) counts.parks++;
    return apply.call(this, event);
  } as Segment['apply'];
  const acquireWindow = Arena.prototype.acquireWindow;
  Arena.prototype.acquireWindow = function (this: Arena, owner, bytes, minBytes) {
    if (owner instanceof Segment && mine(owner)) counts.asked.set(bytes, (counts.asked.get(bytes) ?? 0) + 1);
    return acquireWindow.call(this, owner, bytes, minBytes);
  };
  return counts;
}

let wouldBlocks = 0;

/** `n` records to `logs[i % logs.length]` for i in 0..n, synchronously as the suite does; a WouldBlock is waited out. */
async function appendRoundRobin(logs: readonly AofLog[], payload: Uint8Array, n: number): Promise<void> {
  let i = 0;
  while (i < n) {
    try {
      for (; i < n; i++) logs[i % logs.length]!.appendSync(payload);
    } catch (err) {
      if (!(err instanceof WouldBlockError)) throw err;
      wouldBlocks++;
      await logs[i % logs.length]!.append(payload);
      i++;
    }
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const rounds = quick ? 2 : 12;
  const batches = quick ? QUICK_ROUND_BATCHES : ROUND_BATCHES;
  const { root, cleanup } = tempRoot('window-rollovers');
  const payload = patternPayload(SIZE);
  const manager = await AofManager.open({ root, tier0: { arenaBytes: SLOTS * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES }, tier1: TIER1_OFF, fsync: 'never' });
  try {
    const solo = await manager.openStream('solo');
    const logs: AofLog[] = [];
    for (let i = 0; i < STREAMS; i++) logs.push(await manager.openStream(`s-${String(i).padStart(5, '0')}`));
    // Segments of the many side only: their paths name the stream's directory.
    const many = instrument((seg) => !seg.path.includes('/solo/'));
    let settles = 0;
    let settleMs = 0;
    const settle = async (): Promise<void> => {
      const t0 = performance.now();
      await quiesce(manager, [...logs, solo]);
      settleMs += performance.now() - t0;
      settles++;
    };
    let appends = 0;
    for (let round = 0; round < rounds; round++) {
      const perSide = batches + (round === 0 ? WARMUP_BATCHES : 0);
      await settle();
      for (let b = 0; b < perSide; b++) await appendRoundRobin([solo], payload, BATCH);
      await settle();
      for (let b = 0; b < perSide; b++) await appendRoundRobin(logs, payload, STREAMS);
      appends += perSide * STREAMS;
    }
    const { rollovers, segmentsOpened, parks, asked } = many;
    const sizes = [...asked.entries()].sort((a, b) => a[0] - b[0]).map(([bytes, n]) => `${bytes / 1024} KiB x${n}`);
    console.log(`${quick ? 'quick' : 'full'} pattern: ${rounds} rounds of ${batches} batches (+${WARMUP_BATCHES} warm-up), ${STREAMS} streams round-robin, ${SIZE} B`);
    console.log(`appends ${appends}, window rollovers ${rollovers} (1 per ${(appends / Math.max(1, rollovers)).toFixed(1)} appends), segments opened ${segmentsOpened}, parked ${parks}, WouldBlock ${wouldBlocks}`);
    console.log(`window sizes asked: ${sizes.join(', ')}`);
    console.log(`settles: ${settles}, ${(settleMs / settles).toFixed(0)} ms each on average (wall time: depends on the machine's load)`);
    console.log(`tier0: ${JSON.stringify(manager.stats().tier0)}`);
  } finally {
    await manager.close();
    cleanup();
  }
}

await main();
