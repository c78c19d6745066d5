/**
 * Failpoints: deliberate worker crashes and errors for chaos tests (brief §3).
 *
 *   AOF2_FAILPOINTS=compress.crash=0.05,upload.crash=0.05,hydrate.crash=0.05,upload.error=0.2
 *   AOF2_FAILPOINTS_SEED=42
 *
 * Each `<job>.<kind>=<p>` entry gives the probability that one {@link failpoint} call of that job
 * crashes (`process.exit(1)`, which inside a worker thread ends only that thread: piscina rejects
 * the task with "worker exited with code: 1" and starts a fresh worker) or fails (throws
 * `AOF_ERR_INJECTED`). A task calls `failpoint` once at a chosen point, so p is per task.
 *
 * `flush` is the flush worker (workers/flush.ts), which has no tasks: it calls `failpoint` before
 * each fdatasync of a segment's data or footer, so p is per fdatasync. An error there is what an
 * EIO from the disk would be (the segment fails, nothing it holds becomes durable any more); a
 * crash ends the flush thread (AOF_ERR_WORKER_FAILED). Used by test/integration/commit-failure.test.ts.
 *
 * `<job>.delay=<ms>` (an integer, 0 to 60,000) is not a probability: every task of that job waits
 * that long ({@link failpointDelay}) before its work, an injected slow worker (a slow compressor
 * fills the raw backlog budget: test/integration/tier1-raw-backlog.test.ts). Only `compress` calls
 * it so far.
 *
 * `compress.idlecores=<n>` (a number, 0 to 4096) is read on the main thread, not in a worker: Tier 1's
 * width controller takes n as the machine's idle cores instead of measuring them
 * (src/tier1/idle-cores.ts), an injected idle (or busy) machine, so a test of the compression
 * pool's width does not depend on the load of the machine running it
 * (test/integration/tier1-width.test.ts). The manager reads it at open.
 *
 * Design and trade-offs:
 * - Parsed once, when a worker first imports this module. Unset (or empty) means inert: `failpoint`
 *   tests one module-level constant and returns, so production pays a predictable branch per task,
 *   nothing per record. A malformed variable makes every task of that worker fail at its start
 *   with a clear AOF_ERR_INVALID_ARGUMENT ({@link checkFailpointsConfig}); the main thread can call
 *   {@link parseFailpoints} to refuse it before starting any pool.
 * - Repeatable: draw n of a thread is a hash of (seed, threadId, n), not a shared generator, so
 *   threads do not perturb each other and a run replays given the seed and the order in which
 *   threads were spawned. Without AOF2_FAILPOINTS_SEED the seed is random and is put in every
 *   injected error's `details.seed`, so a failing chaos run can be replayed.
 * - Crash and error are independent draws (crash first): `compress.crash=1,compress.error=1`
 *   always crashes.
 * - On the main thread a crash would kill the whole process, so there it is downgraded to an
 *   injected error with `details.kind = 'crash'`.
 */
import { isMainThread, threadId } from 'node:worker_threads';
import { AofError, ErrorCode } from '../src/errors.js';

export const FAILPOINT_JOBS = ['compress', 'hydrate', 'upload', 'flush'] as const;
export type FailpointJob = (typeof FAILPOINT_JOBS)[number];
/** Kinds drawn with a probability (`delay` is the one kind with a duration instead). */
export const FAILPOINT_KINDS = ['crash', 'error'] as const;
export type FailpointKind = (typeof FAILPOINT_KINDS)[number];
/** Largest `<job>.delay`: a minute, far beyond any test's need, short of hanging a suite for good. */
export const MAX_FAILPOINT_DELAY_MS = 60_000;
/** Largest `compress.idlecores`: more cores than any machine this runs on; a typo is caught. */
export const MAX_FAILPOINT_IDLE_CORES = 4096;

export const FAILPOINTS_ENV = 'AOF2_FAILPOINTS';
export const FAILPOINTS_SEED_ENV = 'AOF2_FAILPOINTS_SEED';

/** Probabilities per job and kind, delays per job, and the seed of the draws. */
export interface FailpointConfig {
  seed: number;
  probabilities: Record<FailpointJob, Record<FailpointKind, number>>;
  /** Milliseconds every task of the job waits before its work (0: none). */
  delayMs: Record<FailpointJob, number>;
  /** `compress.idlecores`: the idle cores Tier 1's width controller reads instead of measuring (null: measured). */
  idleCores: number | null;
}

function invalid(message: string, details: Record<string, unknown>): AofError {
  return AofError.invalidArgument(`${FAILPOINTS_ENV}: ${message}`, details);
}

/**
 * Parses the two variables. Returns null when `spec` is unset or blank (failpoints off).
 * @throws AOF_ERR_INVALID_ARGUMENT on an unknown job or kind, a duplicate entry, a probability that
 *   is not a number in [0, 1], a delay or idle-core count out of range, `idlecores` for a job other
 *   than `compress`, or a seed that is not an integer in [0, 2^32)
 */
export function parseFailpoints(spec: string | undefined, seedText: string | undefined): FailpointConfig | null {
  if (spec === undefined || spec.trim() === '') return null;
  const probabilities = {} as Record<FailpointJob, Record<FailpointKind, number>>;
  const delayMs = {} as Record<FailpointJob, number>;
  for (const job of FAILPOINT_JOBS) {
    probabilities[job] = { crash: 0, error: 0 };
    delayMs[job] = 0;
  }
  let idleCores: number | null = null;
  const seen = new Set<string>();
  for (const rawEntry of spec.split(',')) {
    const entry = rawEntry.trim();
    if (entry === '') continue; // tolerate a trailing comma
    const m = /^([a-z]+)\.([a-z]+)\s*=\s*(.*)$/.exec(entry);
    if (m === null) throw invalid(`entry "${entry}" is not <job>.<kind>=<probability>`, { entry });
    const [, job, kind, pText] = m as unknown as [string, string, string, string];
    if (!(FAILPOINT_JOBS as readonly string[]).includes(job)) {
      throw invalid(`unknown job "${job}" in "${entry}" (expected one of ${FAILPOINT_JOBS.join(', ')})`, { entry, job });
    }
    const key = `${job}.${kind}`;
    if (seen.has(key)) throw invalid(`"${key}" is given twice`, { entry });
    seen.add(key);
    if (kind === 'delay') {
      const ms = pText.trim() === '' ? Number.NaN : Number(pText);
      if (!Number.isInteger(ms) || ms < 0 || ms > MAX_FAILPOINT_DELAY_MS) {
        throw invalid(`delay "${pText}" in "${entry}" is not an integer number of milliseconds in [0, ${MAX_FAILPOINT_DELAY_MS}]`, { entry, delay: pText });
      }
      delayMs[job as FailpointJob] = ms;
      continue;
    }
    if (kind === 'idlecores') {
      if (job !== 'compress') throw invalid(`"${entry}": idlecores applies to the compress pool only`, { entry, job });
      const cores = pText.trim() === '' ? Number.NaN : Number(pText);
      if (!Number.isFinite(cores) || cores < 0 || cores > MAX_FAILPOINT_IDLE_CORES) {
        throw invalid(`idle cores "${pText}" in "${entry}" is not a number in [0, ${MAX_FAILPOINT_IDLE_CORES}]`, { entry, idleCores: pText });
      }
      idleCores = cores;
      continue;
    }
    if (!(FAILPOINT_KINDS as readonly string[]).includes(kind)) {
      throw invalid(`unknown kind "${kind}" in "${entry}" (expected one of ${FAILPOINT_KINDS.join(', ')}, delay, idlecores)`, { entry, kind });
    }
    const p = pText.trim() === '' ? Number.NaN : Number(pText);
    if (!Number.isFinite(p) || p < 0 || p > 1) {
      throw invalid(`probability "${pText}" in "${entry}" is not a number in [0, 1]`, { entry, probability: pText });
    }
    probabilities[job as FailpointJob][kind as FailpointKind] = p;
  }
  return { seed: parseSeed(seedText), probabilities, delayMs, idleCores };
}

function parseSeed(seedText: string | undefined): number {
  // A seed to replay a run, not a secret: Math.random, so the flush worker, which imports this
  // module, loads no node:crypto at start-up.
  if (seedText === undefined || seedText.trim() === '') return Math.floor(Math.random() * (2 ** 32 - 1));
  const seed = Number(seedText.trim());
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw AofError.invalidArgument(`${FAILPOINTS_SEED_ENV} must be an integer in [0, 2^32), got "${seedText}"`, { seed: seedText });
  }
  return seed;
}

function parseEnv(): { config: FailpointConfig | null; error: AofError | null } {
  try {
    return { config: parseFailpoints(process.env[FAILPOINTS_ENV], process.env[FAILPOINTS_SEED_ENV]), error: null };
  } catch (err) {
    return { config: null, error: err as AofError };
  }
}

const PARSED = parseEnv();
/** This thread's configuration: parsed once, at import; null when off (or invalid). */
export const FAILPOINTS: FailpointConfig | null = PARSED.config;
/** The fast-path switch: false when AOF2_FAILPOINTS is unset or blank. */
export const FAILPOINTS_ENABLED: boolean = PARSED.config !== null;

/**
 * Throws the parse error of an invalid AOF2_FAILPOINTS / AOF2_FAILPOINTS_SEED. Task modules call
 * it first thing in every task, so a typo fails every task at once with a coded error (an error
 * thrown while piscina imports the module would reach the main thread without its code).
 * @throws AOF_ERR_INVALID_ARGUMENT if the variables did not parse
 */
export function checkFailpointsConfig(): void {
  if (PARSED.error !== null) throw PARSED.error;
}

let draws = 0;

/** murmur3's 32-bit finalizer: a full-avalanche mix, so consecutive n give unrelated draws. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Draw `n` in [0, 1) for (seed, thread): a pure function, so a run is replayable. */
export function failpointDraw(seed: number, thread: number, n: number): number {
  const h = fmix32(fmix32(fmix32(seed ^ 0x6a09e667) ^ Math.imul(thread, 0x9e3779b1)) ^ Math.imul(n, 0x27d4eb2f));
  return h / 2 ** 32;
}

/**
 * A failpoint of `job` at `where` (a short label for the point in the task, kept in the error).
 * With probability p(crash) ends this worker thread at once; otherwise with probability p(error)
 * throws. Returns immediately when failpoints are off.
 * @throws AOF_ERR_INJECTED when the error draw fires (and, on the main thread only, the crash draw)
 */
export function failpoint(job: FailpointJob, where: string): void {
  if (!FAILPOINTS_ENABLED) return;
  const config = FAILPOINTS!;
  const p = config.probabilities[job];
  if (p.crash > 0) {
    const call = draws++;
    if (failpointDraw(config.seed, threadId, call) < p.crash) {
      if (!isMainThread) process.exit(1); // ends this worker thread only, like a real crash of it
      throw injected(job, where, 'crash', config.seed, call);
    }
  }
  if (p.error > 0) {
    const call = draws++;
    if (failpointDraw(config.seed, threadId, call) < p.error) throw injected(job, where, 'error', config.seed, call);
  }
}

/**
 * The delay failpoint of `job`: resolves after `<job>.delay` ms, at once when failpoints are off
 * or no delay is set (one branch per task, nothing per record).
 */
export async function failpointDelay(job: FailpointJob): Promise<void> {
  if (!FAILPOINTS_ENABLED) return;
  const ms = FAILPOINTS!.delayMs[job];
  if (ms > 0) await new Promise<void>((resolve) => setTimeout(resolve, ms));
}

function injected(job: FailpointJob, where: string, kind: FailpointKind, seed: number, call: number): AofError {
  return new AofError(ErrorCode.INJECTED, `injected ${job}.${kind} failure at ${where}`, {
    details: { job, where, kind, seed, threadId, call },
  });
}
