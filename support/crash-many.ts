/**
 * The check after each kill of a `many` crash child (1,000 streams, Tier 1 and the fs Tier 2 on),
 * shared by test/integration/crash-1k-tiers.test.ts and the chaos scenario `sigkill-1k`: reopen
 * the killed root with the same engine, and for every stream
 *
 * - nextId is past every id the child acknowledged, and not below the previous check's end;
 * - everything recovered is durable (durableId = nextId - 1), firstId is 0;
 * - the records from `compareFrom` (the previous check's end, or 0 on a full check) read back
 *   dense and byte for byte: every id this child acknowledged is among them;
 * - (when asked) one append per stream continues at nextId;
 * - a graceful close, bounded (recovery sealed the killed tails: the session compresses and
 *   uploads them, and the new one-record segments when it appended).
 *
 * It reports instead of asserting, so the test and the chaos runner count losses their own way.
 * Streams are read a few at a time: Tier 1 frames and Tier 2 objects come back through the hydrate
 * pool, and one stream at a time would leave it idle.
 */
import { AofManager, type AofLog } from '../src/index.js';
import type { ChildRun } from './crash-run.js';
import { CRASH_MANY_STREAMS, crashManyOptions, crashManyPayload } from './crash-workload.js';
import { sameBytes } from './tmp.js';

/** Awaits a promise for at most `ms` (a hang must fail the round, not the whole run). */
export type Bound = <T>(promise: Promise<T>, ms: number, what: string) => Promise<T>;

export interface ManyCheck {
  /** What went wrong (empty when the round passed), each naming the stream and the id. */
  failures: string[];
  /** Acknowledged records missing or different. */
  lost: number;
  /** Records read back, and compared byte for byte. */
  read: number;
  compared: number;
  /** The reopen's recovery figures, and Tier 1 frames decompressed while checking. */
  scannedSegments: number;
  removedFiles: number;
  framesDecompressed: number;
  /** Segments compressed and uploaded by the checking session (the close included). */
  compressed: number;
  uploaded: number;
}

const OPEN_MS = 60_000;
const READ_MS = 60_000;
/** A full check reads every segment of every round back (tens of thousands, most from Tier 2). */
const FULL_READ_MS = 600_000;
const CLOSE_MS = 120_000;
/** Streams read at once (the hydrate pool runs up to two threads). */
const READ_PARALLEL = 8;

/**
 * Checks the root the child `run` was killed on, then moves `floor` (the previous check's end per
 * stream) to this check's end. `full` compares every record from id 0 rather than from `floor`.
 */
export async function checkManyRound(root: string, storeDir: string, run: ChildRun, floor: number[], opts: { full: boolean; append: boolean }, where: string, bound: Bound): Promise<ManyCheck> {
  const { full, append } = opts;
  const check: ManyCheck = { failures: [], lost: 0, read: 0, compared: 0, scannedSegments: 0, removedFiles: 0, framesDecompressed: 0, compressed: 0, uploaded: 0 };
  const fail = (message: string): void => {
    check.failures.push(`${where}: ${message}`);
  };
  const manager = await bound(AofManager.open(crashManyOptions(root, storeDir)), OPEN_MS, `${where}: reopen`);
  try {
    if (manager.stats().manifest.corruptionEvents !== 0) fail(`manifest replay found ${manager.stats().manifest.corruptionEvents} corruption events`);
    // Streams recover when opened: the recovery figures are complete after this.
    const logs = await bound(Promise.all(CRASH_MANY_STREAMS.map((name) => manager.openStream(name))), OPEN_MS, `${where}: openStream x${CRASH_MANY_STREAMS.length}`);
    check.scannedSegments = manager.stats().recovery.scannedSegments;
    check.removedFiles = manager.stats().recovery.removedFiles;

    const checkStream = async (s: number, log: AofLog): Promise<void> => {
      const { firstId, nextId } = log;
      const acked = run.maxAcked[s]!;
      if (firstId !== 0) fail(`stream ${s}: firstId ${firstId}, expected 0 (no retention)`);
      if (nextId < acked + 1) {
        check.lost += acked + 1 - nextId;
        fail(`stream ${s}: nextId ${nextId}, but id ${acked} was acknowledged`);
      }
      if (nextId < floor[s]!) fail(`stream ${s}: nextId ${nextId} < ${floor[s]}, the end of the previous check`);
      if (log.durableId !== nextId - 1) fail(`stream ${s}: durableId ${log.durableId} after recovery, nextId ${nextId}`);
      const from = full ? 0 : Math.min(floor[s]!, nextId);
      let expected = from;
      try {
        for await (const rec of log.read({ from })) {
          if (rec.id !== expected) throw new Error(`gap: got id ${rec.id}, expected ${expected}`);
          if (!sameBytes(rec.payload, crashManyPayload(s, rec.id))) {
            if (rec.id <= acked) check.lost++;
            fail(`stream ${s}: record ${rec.id} differs (${rec.payload.length} bytes read)`);
          }
          check.compared++;
          expected++;
        }
      } catch (err) {
        check.lost += Math.max(0, Math.min(nextId, acked + 1) - expected);
        fail(`stream ${s}: reading [${from}, ${nextId}) failed at ${expected}: ${String(err)}`);
      }
      if (expected !== nextId) fail(`stream ${s}: read up to ${expected}, nextId is ${nextId}`);
      check.read += expected - from;
    };
    let nextStream = 0;
    const readWorker = async (): Promise<void> => {
      while (nextStream < logs.length) {
        const s = nextStream++;
        await checkStream(s, logs[s]!);
      }
    };
    await bound(Promise.all(Array.from({ length: READ_PARALLEL }, readWorker)), full ? FULL_READ_MS : READ_MS, `${where}: read back${full ? ' from id 0' : ''}`);

    // Appends continue at nextId, on every stream at once (one group commit, not 1,000). Not in
    // every round: the close seals each stream's new one-record segment, 1,000 more segments to
    // compress and upload (recovery already sealed the killed child's tails).
    const ends = logs.map((log) => log.nextId);
    if (!append) {
      ends.forEach((end, s) => (floor[s] = end));
      return check;
    }
    const ids = await bound(Promise.all(logs.map((log, s) => log.append(crashManyPayload(s, ends[s]!)))), OPEN_MS, `${where}: append after reopen`);
    ids.forEach((id, s) => {
      if (id !== ends[s]) fail(`stream ${s}: the append after reopen got id ${id}, expected ${ends[s]}`);
      floor[s] = id + 1;
    });
  } finally {
    await bound(manager.close(), CLOSE_MS, `${where}: close`);
    const st = manager.stats();
    check.framesDecompressed = st.tier1.framesDecompressed;
    check.compressed = st.tier1.segmentsCompressed;
    check.uploaded = st.tier2?.segmentsUploaded ?? 0;
  }
  return check;
}
