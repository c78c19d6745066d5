/**
 * Scenario `sigkill-1k`: test/integration/crash-1k-tiers.test.ts for longer. A real child process
 * (support/crash-child.ts, `many` mode) writes 1,000 streams round-robin by `appendSync` with an
 * `append()` fallback and by `append()`, over a 64-page arena, with Tier 1 and a local-directory
 * Tier 2 on (16 KiB segments sealed, compressed, uploaded, evicted), fsync 'always' or 'interval'
 * by the child's seed; it reports an id once `durableId` covers it. The runner SIGKILLs it 20-400 ms
 * (seeded) after it is ready, then checks the root with support/crash-many.ts: every acknowledged
 * record of every stream back byte for byte, ids dense, everything recovered durable; every fifth
 * round an append per stream continues at nextId; every 25th round, and the last, every stream is
 * read from id 0 (through Tier 1 frames and Tier 2 objects). Rounds share the root and the store.
 *
 * A round costs 10-40 s on a 2-core machine (each kill leaves 1,000 unsealed segments that the
 * reopen seals, compresses and uploads): 100 rounds take 20-60 minutes on their own.
 */
import { rmSync } from 'node:fs';
import { seededRandom } from '../src/seeded-random.js';
import { checkManyRound } from '../support/crash-many.js';
import { CRASH_MANY_STREAMS } from '../support/crash-workload.js';
import { tempRoot } from '../support/tmp.js';
import { killRound } from './kill-round.js';
import { Tally, describeError, type Scenario, type ScenarioContext, type ScenarioReport } from './scenario.js';

const FULL_ROUNDS = 100;
const QUICK_ROUNDS = 1;
const MIN_KILL_MS = 20;
const MAX_KILL_MS = 400;
const APPEND_EVERY = 5;
const FULL_READ_EVERY = 25;

async function run(ctx: ScenarioContext): Promise<ScenarioReport> {
  const tally = new Tally('sigkill-1k');
  const target = ctx.quick ? QUICK_ROUNDS : FULL_ROUNDS;
  const { root, cleanup } = tempRoot('aof2-chaos-sigkill-1k-');
  const storeDir = `${root}-store`;
  const rand = seededRandom(ctx.seed);
  const floor = CRASH_MANY_STREAMS.map(() => 0);
  try {
    while (Date.now() < ctx.deadline && !(ctx.quick && tally.rounds >= target)) {
      const round = await killRound(tally, rand, root, storeDir, 'many', MIN_KILL_MS, MAX_KILL_MS);
      if (round === null) break;
      const { killed, where } = round;
      for (const [k, v] of Object.entries(killed.stats ?? {})) tally.add(`child.${k}`, v);
      const resumedElsewhere = killed.startIds.findIndex((id, s) => id !== floor[s]);
      if (resumedElsewhere >= 0) tally.fail(`${where}: stream ${resumedElsewhere}: the child resumed at ${killed.startIds[resumedElsewhere]}, the last check ended at ${floor[resumedElsewhere]}`);

      // The round that will be the last is not known in advance (the deadline decides): a full
      // read every FULL_READ_EVERY rounds bounds what a later loss could hide behind.
      const full = tally.rounds % FULL_READ_EVERY === 0 || (ctx.quick && tally.rounds === target);
      const append = full || tally.rounds % APPEND_EVERY === 0;
      try {
        const check = await checkManyRound(root, storeDir, killed, floor, { full, append }, where, (p, ms, what) => tally.bounded(p, ms, what));
        for (const f of check.failures) tally.fail(f);
        tally.lost += check.lost;
        tally.verified += check.compared;
        tally.add('recoveryScannedSegments', check.scannedSegments);
        tally.add('framesDecompressed', check.framesDecompressed);
        tally.add('checkCompressed', check.compressed);
        tally.add('checkUploaded', check.uploaded);
        if (full) tally.add('fullReads', 1);
      } catch (err) {
        tally.fail(`${where}: check failed: ${describeError(err)}`);
      }
      if (tally.failureCount > 0) break;
      if (tally.rounds % 10 === 0) ctx.log(`sigkill-1k: ${tally.rounds} rounds, ${tally.verified} records verified`);
    }
  } finally {
    cleanup();
    rmSync(storeDir, { recursive: true, force: true });
  }
  tally.figures['finalNextIds'] = `${Math.min(...floor)}..${Math.max(...floor)}`;
  return tally.report(`>= ${target} kills`, tally.rounds >= target);
}

export const sigkill1k: Scenario = {
  name: 'sigkill-1k',
  description: 'SIGKILL of a child writing 1,000 streams round-robin with Tier 1 and Tier 2 on; every acknowledged record of every stream verified after each kill',
  share: 0.3,
  run,
};
