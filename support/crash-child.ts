/**
 * Child process for the kill -9 tests (spawned through support/crash-run.ts by
 * test/integration/crash*.test.ts, recovery.test.ts and the chaos scenarios sigkill and
 * sigkill-1k; not a test file itself).
 *
 *   node crash-child.js <root> <seed> [append|tier1|hold|park|tier2 <store dir>|many <store dir>]
 *
 * `append` (default): opens a manager on <root> with fsync 'always' and the small crash arena, opens
 * the CRASH_STREAMS and keeps many `await log.append()` calls in flight per stream, forever. It
 * prints `<stream> <id>` lines for acknowledged appends only: a line is written after `append` resolved, i.e. after the record was
 * durable, so every id the parent reads must survive the SIGKILL it sends at a random moment.
 * Protocol: `start <nextId per stream...>` once the streams are recovered, one warm-up ack per
 * stream, `ready` (the parent's kill window starts here), then acks until killed.
 *
 * `tier1`: `append` with CRASH_TIER1's small zstd frames, plus a reader that scans stream 0 from its
 * first id to the tail and starts over, checking every record's bytes: in the tiny arena it keeps
 * evicting slots and hydrating Tier 1 frames while sealed segments are being compressed, so the
 * kill lands during compression, eviction and hydration.
 *
 * `tier2`: `tier1` on the CRASH_T2_* engine (support/crash-workload.ts) with the fs Tier 2 in
 * <store dir>, a Tier 1 budget of a few segments and byte retention every 25 ms: uploads,
 * evictions, EXPIRED records, object deletes and Tier 2 reads (with re-caching) run all the time.
 * The reader restarts its scan when retention expires the records under it (an error is accepted
 * only while its position is below the stream's first id). Every 20 ms it also prints
 * `stats <json>` (cumulative Tier 2 and retention counters) so the parent can tell which
 * transitions the kills interrupted.
 *
 * `park`: `append` on CRASH_PARK_STREAMS over the CRASH_PARK_TIER0 arena (twelve streams, four
 * slots), one to three appends in flight per stream: streams keep parking each other's active
 * segments and loading their own back, so the kill lands on parked segments (issue 12, stage 1).
 *
 * `many`: 1,000 streams (CRASH_MANY_STREAMS) with Tier 1 and the fs Tier 2 in <store dir>, written
 * round-robin by `appendSync` with an `append()` fallback and by `append()` (see runMany), fsync
 * 'always' or 'interval' by the seed; acknowledgements come from `durableId` (issue 12's
 * "kill -9 rounds across 1,000 streams", test/integration/crash-1k-tiers.test.ts).
 *
 * `hold`: opens the manager (taking the root lock), prints `ready`, and idles until killed.
 *
 * Any unexpected outcome (an id other than the expected one, a rejected append) exits with code 2
 * and a message on stderr, which the parent reports.
 */
import { AofManager, WouldBlockError, type AofLog, type AofManagerOptions } from '../src/index.js';
import { seededRandom } from '../src/seeded-random.js';
import { CRASH_PARK_TIER0, CRASH_T2_RETENTION, CRASH_T2_TIER0, CRASH_T2_TIER1, CRASH_TIER0, CRASH_TIER1, crashManyOptions, crashManyPayload, crashPayload, crashStreams } from './crash-workload.js';
import { sameBytes } from './tmp.js';

const [root, seedArg, mode = 'append', storeDir] = process.argv.slice(2);
const needsStore = mode === 'tier2' || mode === 'many';
if (root === undefined || seedArg === undefined || !['append', 'tier1', 'hold', 'park', 'tier2', 'many'].includes(mode) || needsStore !== (storeDir !== undefined)) {
  process.stderr.write('usage: crash-child.js <root> <seed> [append|tier1|hold|park|tier2 <store dir>|many <store dir>]\n');
  process.exit(2);
}
const seed = Number(seedArg);

function die(message: string): never {
  process.stderr.write(`crash-child: ${message}\n`);
  process.exit(2);
}

// `many` picks its fsync policy from the seed (first draw), so rounds cover both durability paths.
const manyFsync = seededRandom(seed ^ 0x6d616e79)() < 0.5 ? 'always' : 'interval';
const options: AofManagerOptions =
  mode === 'many'
    ? crashManyOptions(root, storeDir!, manyFsync)
    : mode === 'tier2'
      ? { root, tier0: CRASH_T2_TIER0, tier1: CRASH_T2_TIER1, tier2: { kind: 'fs', root: storeDir! }, retention: CRASH_T2_RETENTION, fsync: 'always' }
      : mode === 'park'
        ? { root, tier0: CRASH_PARK_TIER0, tier2: { kind: 'none' }, fsync: 'always' }
        : { root, tier0: CRASH_TIER0, ...(mode === 'tier1' ? { tier1: CRASH_TIER1 } : {}), fsync: 'always' };
const manager = await AofManager.open(options).catch((err: unknown) => die(`open failed: ${String(err)}`));

if (mode === 'hold') {
  process.stdout.write('ready\n');
  // Keeps the event loop (and so the lock) alive until the parent kills us.
  setInterval(() => undefined, 60_000);
} else {
  const logs = await Promise.all(crashStreams(mode).map((name) => manager.openStream(name))).catch((err: unknown) =>
    die(`openStream failed: ${String(err)}`),
  );
  const rand = seededRandom(seed);
  const next = logs.map((log) => log.nextId);
  process.stdout.write(`start ${next.join(' ')}\n`);

  // Acks are batched per macrotask: fewer syscalls, and an id is still only printed after its
  // append resolved (a batch lost to the kill merely under-reports, which the parent tolerates).
  let acks = '';
  let scheduled = false;
  const writeAcks = (): void => {
    scheduled = false;
    const out = acks;
    acks = '';
    process.stdout.write(out);
  };
  const ack = (stream: number, id: number): void => {
    acks += `${stream} ${id}\n`;
    if (!scheduled) {
      scheduled = true;
      setImmediate(writeAcks);
    }
  };

  if (mode === 'many') {
    await runMany(logs, next, ack);
  } else {
    await runFew(logs, next, rand, ack);
  }
}

/** Every mode but `many` and `hold`: a few streams, many appends in flight per stream. */
async function runFew(logs: AofLog[], next: number[], rand: () => number, ack: (stream: number, id: number) => void): Promise<void> {
  // Ids are assigned in call order (append is FIFO), so the id of each call is known before it is
  // made and its payload can be derived from it.
  const writer = async (stream: number): Promise<void> => {
    const log = logs[stream]!;
    for (;;) {
      const id = next[stream]!++;
      const got = await log.append(crashPayload(stream, id));
      if (got !== id) die(`stream ${stream}: append returned id ${got}, expected ${id}`);
      ack(stream, id);
    }
  };
  // One acknowledged append per stream before `ready`: the flush worker is up and files are open,
  // so the parent's kill window covers appends in flight rather than the worker's start-up.
  for (let stream = 0; stream < logs.length; stream++) {
    const id = next[stream]!++;
    const got = await logs[stream]!.append(crashPayload(stream, id)).catch((err: unknown) => die(`warm-up append: ${String(err)}`));
    if (got !== id) die(`stream ${stream}: warm-up append returned id ${got}, expected ${id}`);
    process.stdout.write(`${stream} ${id}\n`);
  }
  process.stdout.write('ready\n');

  if (mode === 'tier1' || mode === 'tier2') {
    const log = logs[0]!;
    const scanOnce = async (): Promise<void> => {
      const reader = log.openReader({ from: log.firstId });
      try {
        for (let rec = await reader.next(); rec !== null; rec = await reader.next()) {
          if (!sameBytes(rec.payload, crashPayload(0, rec.id))) die(`reader: record ${rec.id} of stream 0 differs`);
          // Resident records resolve next() at once: yield now and then, or this loop of
          // microtasks would starve the writers' I/O.
          if (rec.id % 64 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        }
      } catch (err) {
        // Retention may expire the segment under the reader (its object may go mid-fetch): only
        // then is a failed read expected, and the scan starts over at the new first id.
        if (mode !== 'tier2' || reader.position >= log.firstId) throw err;
      } finally {
        reader.close();
      }
    };
    const scan = async (): Promise<void> => {
      for (;;) {
        await scanOnce();
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    };
    scan().catch((err: unknown) => die(`reader failed: ${String(err)}`));
  }

  if (mode === 'tier2') {
    setInterval(() => {
      const stats = manager.stats();
      const t2 = stats.tier2!;
      const counters = {
        compressed: stats.tier1.segmentsCompressed,
        uploaded: t2.segmentsUploaded,
        evicted: t2.segmentsEvicted,
        recached: t2.segmentsRecached,
        expired: stats.retention.expiredSegments,
        deletedObjects: stats.retention.deletedObjects,
        manifestUploads: t2.manifestUploads,
      };
      process.stdout.write(`stats ${JSON.stringify(counters)}\n`);
    }, 20);
  }

  for (let stream = 0; stream < logs.length; stream++) {
    // 2..17 appends in flight per stream: group commits of varied sizes (1..3 when parking, so
    // that streams take turns in the slots rather than each holding a queue).
    const inFlight = mode === 'park' ? 1 + Math.floor(rand() * 3) : 2 + Math.floor(rand() * 16);
    for (let i = 0; i < inFlight; i++) {
      writer(stream).catch((err: unknown) => die(`stream ${stream}: append rejected: ${String(err)}`));
    }
  }
}

/**
 * `many`: the CRASH_MANY_STREAMS written round-robin as an application would, on one driver:
 * every fourth stream by `append()` with up to four calls in flight, the others by `appendSync`,
 * falling back to an awaited `append()` on WouldBlock. The arena holds far fewer windows than
 * there are streams, so most appends park another stream's window first.
 *
 * What counts as acknowledged: under fsync 'always' an `append()` that resolved (it resolves once
 * durable); otherwise, and for every `appendSync`, only `durableId` (polled every 5 ms and after
 * every pass), which is the engine's own claim that the id and all below it survive a kill.
 */
async function runMany(logs: AofLog[], next: number[], ack: (stream: number, id: number) => void): Promise<void> {
  const always = manyFsync === 'always';
  const acked = next.map((id) => id - 1);
  const noteDurable = (): void => {
    for (let s = 0; s < logs.length; s++) {
      const durable = logs[s]!.durableId;
      if (durable > acked[s]!) {
        acked[s] = durable;
        ack(s, durable);
      }
    }
  };
  const ackResolved = (s: number, id: number): void => {
    if (always && id > acked[s]!) {
      acked[s] = id;
      ack(s, id);
    }
  };

  // Warm-up: one record per stream, all at once, then durable, so the kill window starts with
  // every stream's segment open and the workers running (not with 1,000 start-ups).
  await Promise.all(
    logs.map(async (log, s) => {
      const id = next[s]!++;
      const got = await log.append(crashManyPayload(s, id));
      if (got !== id) die(`stream ${s}: warm-up append returned id ${got}, expected ${id}`);
      await log.flush();
    }),
  ).catch((err: unknown) => die(`warm-up: ${String(err)}`));
  noteDurable();
  // The warm-up acks go out (ack() batches them into the next macrotask) before `ready`.
  await new Promise<void>((resolve) => setImmediate(resolve));
  const counters = { fsyncAlways: always ? 1 : 0, appendSync: 0, wouldBlock: 0, appendCalls: 0, compressed: 0, uploaded: 0, evicted: 0 };
  const report = (): void => {
    const stats = manager.stats();
    counters.compressed = stats.tier1.segmentsCompressed;
    counters.uploaded = stats.tier2!.segmentsUploaded;
    counters.evicted = stats.tier2!.segmentsEvicted;
    process.stdout.write(`stats ${JSON.stringify(counters)}\n`);
  };
  report();
  process.stdout.write('ready\n');

  setInterval(noteDurable, 5);
  // stats() walks 1,000 streams: every 50 ms is often enough for figures cut by the kill.
  setInterval(report, 50);

  const inFlight = new Int32Array(logs.length);
  for (;;) {
    for (let s = 0; s < logs.length; s++) {
      const log = logs[s]!;
      if (s % 4 === 0) {
        if (inFlight[s]! >= 4) continue;
        const id = next[s]!++;
        inFlight[s]!++;
        counters.appendCalls++;
        log.append(crashManyPayload(s, id)).then(
          (got) => {
            if (got !== id) die(`stream ${s}: append returned id ${got}, expected ${id}`);
            inFlight[s]!--;
            ackResolved(s, id);
          },
          (err: unknown) => die(`stream ${s}: append rejected: ${String(err)}`),
        );
      } else {
        const id = next[s]!++;
        const payload = crashManyPayload(s, id);
        let got: number;
        try {
          got = log.appendSync(payload);
          counters.appendSync++;
        } catch (err) {
          if (!(err instanceof WouldBlockError)) die(`stream ${s}: appendSync threw: ${String(err)}`);
          counters.wouldBlock++;
          got = await log.append(payload).catch((e: unknown) => die(`stream ${s}: fallback append rejected: ${String(e)}`));
          ackResolved(s, got);
        }
        if (got !== id) die(`stream ${s}: appended as id ${got}, expected ${id}`);
      }
      // Let I/O callbacks, acks and timers run between batches of synchronous appends.
      if (s % 50 === 49) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    noteDurable();
  }
}
