/**
 * Scenario `sigkill`: a real child process (support/crash-child.ts in `tier2` mode) appends to
 * two streams under `fsync: 'always'` while a reader scans, segments are compressed, uploaded to an
 * fs Tier 2, evicted, read back from Tier 2 and expired by retention; the runner SIGKILLs it at a
 * seeded random moment. The child prints an id only after its append resolved (durable), so every
 * printed id must survive.
 *
 * After each kill:
 * 1. the killed root's manifest is replayed as the next open will see it, and every catalog entry
 *    is checked against its files and objects (a TIER1 entry not evicted has its `.t1` of the
 *    recorded size, a raw entry its `.seg`, an uploaded entry an object of `objectBytes`);
 * 2. the root is reopened (no retention, so nothing moves under the check) and every record from
 *    the stream's first id to its next id is read and compared byte for byte; the next id must be
 *    past every acknowledged id (what is missing is counted as lost), the first id may only have
 *    moved by retention (what is left must still hold about the retention budget);
 * 3. one more append continues at nextId, and the root is closed gracefully (bounded).
 * Records below the first id were expired by the child's retention policy, not lost.
 */
import { rmSync, statSync } from 'node:fs';
import { AofManager } from '../src/index.js';
import { FLAG_TIER1_EVICTED, FLAG_UPLOADED, SegmentState } from '../src/format/snapshot.js';
import { ManifestLog } from '../src/manifest/manifest-log.js';
import { seededRandom } from '../src/seeded-random.js';
import { openObjectStore } from '../src/tier2/object-store.js';
import { CRASH_STREAMS, CRASH_T2_RETENTION, CRASH_T2_TIER0, crashPayload, crashT2VerifyOptions } from '../support/crash-workload.js';
import { streamFiles } from '../support/tier1-engine.js';
import { sameBytes, tempRoot } from '../support/tmp.js';
import { killRound } from './kill-round.js';
import { Tally, describeError, type Scenario, type ScenarioContext, type ScenarioReport } from './scenario.js';
import { logCore } from '../src/log.js';
import { manifestDir, parseSegmentKey, streamDir, streamPrefix, tier1Path } from '../src/format/root-layout.js';

const FULL_ROUNDS = 100;
const QUICK_ROUNDS = 5;
const MIN_KILL_MS = 20;
const MAX_KILL_MS = 900;
/** Kill window of quick rounds past the target that still wait for a kill after Tier 2 work. */
const LATE_KILL_MS = 4000;
const OPEN_MS = 15_000;
const READ_MS = 30_000;
const CLOSE_MS = 30_000;

/** Step 1: the killed root's catalog against its files and the store; returns the first id per stream. */
async function checkKilledCatalog(root: string, storeDir: string, where: string, tally: Tally): Promise<number[]> {
  const { manifest, catalog, report } = await ManifestLog.open({ dir: manifestDir(root) });
  const firsts: number[] = [];
  try {
    if (report.corruptionEvents !== 0) tally.fail(`${where}: manifest replay of the killed root found ${report.corruptionEvents} corruption events`);
    const store = await openObjectStore({ kind: 'fs', root: storeDir });
    try {
      for (const stream of CRASH_STREAMS) {
        const files = streamFiles(root, stream);
        const objects = new Map<number, number>();
        for (const o of await store.list(streamPrefix(stream))) {
          const parsed = parseSegmentKey(o.key);
          if (parsed !== null) objects.set(parsed.baseId, o.size);
        }
        const entries = catalog.entries(stream);
        let first = entries[0]?.baseId ?? 0;
        for (const e of entries) {
          const seg = `${where}: ${stream} segment ${e.baseId} (state ${e.state}, flags ${e.flags})`;
          tally.add('catalogEntriesChecked', 1);
          if (e.state === SegmentState.DELETED) {
            first = Math.max(first, e.baseId + e.recordCount);
            continue;
          }
          const uploaded = (e.flags & FLAG_UPLOADED) !== 0;
          const evicted = (e.flags & FLAG_TIER1_EVICTED) !== 0;
          if (e.state === SegmentState.TIER1) {
            if (evicted) {
              if (!uploaded) tally.fail(`${seg}: evicted before its upload was recorded`);
            } else if (!files.t1.includes(e.baseId)) {
              tally.fail(`${seg}: no local .t1`);
            } else {
              const size = statSync(tier1Path(streamDir(root, stream), e.baseId)).size;
              if (size !== e.compressedBytes) tally.fail(`${seg}: .t1 is ${size} bytes, catalog says ${e.compressedBytes}`);
            }
          } else if (e.state === SegmentState.SEALED || e.state === SegmentState.COMPRESSION_FAILED) {
            if (!files.seg.includes(e.baseId)) tally.fail(`${seg}: no local .seg`);
          } else {
            tally.fail(`${seg}: unexpected state after a kill`);
          }
          if (uploaded && objects.get(e.baseId) !== e.objectBytes) tally.fail(`${seg}: object is ${objects.get(e.baseId)} bytes, catalog says ${e.objectBytes}`);
        }
        firsts.push(first);
      }
    } finally {
      await store.close();
    }
  } finally {
    await manifest.close();
  }
  return firsts;
}

async function run(ctx: ScenarioContext): Promise<ScenarioReport> {
  const tally = new Tally('sigkill');
  const target = ctx.quick ? QUICK_ROUNDS : FULL_ROUNDS;
  const { root, cleanup } = tempRoot('aof2-chaos-sigkill-');
  const storeDir = `${root}-store`;
  const rand = seededRandom(ctx.seed);
  const prevFirst = CRASH_STREAMS.map(() => 0);
  const floor = CRASH_STREAMS.map(() => 0);
  const child: Record<string, number> = {};
  // The quick target also asks that some kill landed once the children had uploaded and evicted:
  // on a loaded machine five short rounds may all end before the first upload, so the quick run
  // goes on (within its deadline) until one did.
  const sawTier2Work = (): boolean => (child['uploaded'] ?? 0) > 0 && (child['evicted'] ?? 0) > 0;
  try {
    while (Date.now() < ctx.deadline && !(ctx.quick && tally.rounds >= target && sawTier2Work())) {
      // Past the quick target with no kill after Tier 2 work yet (a loaded machine), later kills
      // wait longer, so that uploads and evictions have happened in the child when it dies.
      const late = ctx.quick && tally.rounds >= target && !sawTier2Work();
      const round = await killRound(tally, rand, root, storeDir, 'tier2', late ? MAX_KILL_MS : MIN_KILL_MS, late ? LATE_KILL_MS : MAX_KILL_MS);
      if (round === null) break;
      const { killed, where } = round;
      for (const [k, v] of Object.entries(killed.stats ?? {})) child[k] = (child[k] ?? 0) + v;
      for (let s = 0; s < CRASH_STREAMS.length; s++) {
        if (killed.startIds[s] !== floor[s]) tally.fail(`${where}: stream ${s}: the child resumed at ${killed.startIds[s]}, the last check ended at ${floor[s]}`);
      }

      let firsts: number[];
      try {
        firsts = await checkKilledCatalog(root, storeDir, where, tally);
      } catch (err) {
        tally.fail(`${where}: replaying the killed root's manifest failed: ${describeError(err)}`);
        break;
      }

      let manager: AofManager | null = null;
      try {
        manager = await tally.bounded(AofManager.open(crashT2VerifyOptions(root, storeDir, false)), OPEN_MS, `${where}: reopen`);
        if (manager.stats().manifest.corruptionEvents !== 0) tally.fail(`${where}: reopen counted manifest corruption`);
        tally.add('filesRemovedByRecovery', manager.stats().recovery.removedFiles);
        tally.add('bytesTrimmedByRecovery', manager.stats().recovery.trimmedBytes);
        for (let s = 0; s < CRASH_STREAMS.length; s++) {
          const log = await tally.bounded(manager.openStream(CRASH_STREAMS[s]!), OPEN_MS, `${where}: openStream`);
          const { firstId, nextId } = log;
          const acked = killed.maxAcked[s]!;
          if (nextId < acked + 1) {
            tally.lost += acked + 1 - nextId;
            tally.fail(`${where}: stream ${s}: nextId ${nextId}, but id ${acked} was acknowledged`);
          }
          if (firstId !== firsts[s]) tally.fail(`${where}: stream ${s}: firstId ${firstId}, the catalog says ${firsts[s]}`);
          if (firstId < prevFirst[s]!) tally.fail(`${where}: stream ${s}: firstId went back from ${prevFirst[s]} to ${firstId}`);
          if (firstId > 0 && logCore(log).liveBytes < CRASH_T2_RETENTION.maxBytes - 3 * CRASH_T2_TIER0.segmentBytes) {
            tally.fail(`${where}: stream ${s}: only ${logCore(log).liveBytes} bytes left above firstId ${firstId}: more than retention removed`);
          }
          let expected = firstId;
          const readAll = async (): Promise<void> => {
            for await (const rec of log.read({ from: firstId })) {
              if (rec.id !== expected) throw new Error(`gap: got id ${rec.id}, expected ${expected}`);
              if (!sameBytes(rec.payload, crashPayload(s, rec.id))) {
                tally.lost++;
                tally.fail(`${where}: stream ${s}: record ${rec.id} differs`);
              }
              tally.verified++;
              expected++;
            }
          };
          try {
            await tally.bounded(readAll(), READ_MS, `${where}: stream ${s}: read back`);
          } catch (err) {
            tally.lost += Math.max(0, Math.min(nextId, acked + 1) - expected);
            tally.fail(`${where}: stream ${s}: reading [${firstId}, ${nextId}) failed at ${expected}: ${describeError(err)}`);
          }
          if (expected !== nextId) tally.fail(`${where}: stream ${s}: read up to ${expected}, nextId is ${nextId}`);
          const id = await tally.bounded(log.append(crashPayload(s, nextId)), OPEN_MS, `${where}: append after reopen`);
          if (id !== nextId) tally.fail(`${where}: stream ${s}: append after reopen got id ${id}, expected ${nextId}`);
          floor[s] = nextId + 1;
          prevFirst[s] = firstId;
        }
      } catch (err) {
        tally.fail(`${where}: verification failed: ${describeError(err)}`);
      } finally {
        if (manager !== null) await tally.bounded(manager.close(), CLOSE_MS, `${where}: close`).catch((err: unknown) => tally.fail(`${where}: close: ${describeError(err)}`));
      }
      if (tally.failureCount > 0) break;
      if (tally.rounds % 10 === 0) ctx.log(`sigkill: ${tally.rounds} rounds, ${tally.verified} records verified`);
    }
  } finally {
    cleanup();
    rmSync(storeDir, { recursive: true, force: true });
  }
  for (const [k, v] of Object.entries(child)) tally.figures[`child.${k}`] = v;
  tally.figures['finalNextIds'] = floor.join('/');
  tally.figures['finalFirstIds'] = prevFirst.join('/');
  return tally.report(`>= ${target} kills, some after uploads and evictions`, tally.rounds >= target && sawTier2Work());
}

export const sigkill: Scenario = {
  name: 'sigkill',
  description: 'SIGKILL of a child appending, compressing, uploading, evicting, hydrating and expiring; every acknowledged record verified after each kill',
  share: 0.3,
  run,
};
