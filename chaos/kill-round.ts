/**
 * One kill of the sigkill scenarios (sigkill, sigkill-1k): a seeded kill time and child seed, the
 * crash child run and SIGKILLed (support/crash-run.ts), and the checks every round starts with:
 * the child got ready and died by our SIGKILL, not by itself. Counts the round, the injection and
 * the child's acknowledgements in the tally.
 */
import { runCrashChild, type ChildRun } from '../support/crash-run.js';
import type { Random } from '../src/background.js';
import type { Tally } from './scenario.js';

export interface KillRound {
  killed: ChildRun;
  /** "round N (kill after M ms, child seed S)": the prefix of every failure of the round. */
  where: string;
}

/**
 * Runs one round's child in `mode`, killed between `minKillMs` and `maxKillMs` after `ready`.
 * Returns null when the round failed before any check (recorded in the tally: the scenario stops).
 */
export async function killRound(tally: Tally, rand: Random, root: string, storeDir: string, mode: 'tier2' | 'many', minKillMs: number, maxKillMs: number): Promise<KillRound | null> {
  const killAfter = minKillMs + Math.floor(rand() * (maxKillMs - minKillMs + 1));
  const childSeed = Math.floor(rand() * 2 ** 31);
  const where = `round ${tally.rounds} (kill after ${killAfter} ms, child seed ${childSeed})`;
  const killed = await runCrashChild(root, childSeed, killAfter, mode, storeDir);
  tally.rounds++;
  if (!killed.ready) {
    tally.hung++;
    tally.fail(`${where}: the child never became ready (code ${killed.code}, signal ${killed.signal}): ${killed.stderr.slice(0, 500)}`);
    return null;
  }
  if (killed.signal !== 'SIGKILL') {
    tally.fail(`${where}: the child died by itself (code ${killed.code}): ${killed.stderr.slice(0, 500)}`);
    return null;
  }
  tally.injected++;
  tally.add('acknowledged', killed.acked);
  return { killed, where };
}
