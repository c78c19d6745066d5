/**
 * Scenario `disk-full`: the root lives on a small tmpfs the runner mounts (`mount -t tmpfs -o
 * size=...`; needs root or CAP_SYS_ADMIN; without it the scenario is reported skipped, never
 * passed). A ballast file takes part of the space first, so that "freeing space" later is deleting
 * it, without touching the engine's files. Each round:
 * 1. appends (`fsync: 'always'`, several in flight, Tier 1 compression on or off by round) until
 *    the engine reports a coded error: it must be AOF_ERR_IO with `details.errno` ENOSPC;
 * 2. checks the manager is failed cleanly (a later append throws, the failure is in `stats()`),
 *    reads every acknowledged record back in the same session, and closes it (bounded);
 * 3. frees the ballast, reopens: every acknowledged record is there byte for byte, the manifest
 *    replays without corruption; then appends again (as many records as the ballast held) and
 *    reads everything once more after another reopen.
 * The tmpfs is unmounted in a finally.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AofError, AofManager, ErrorCode, type AofLog, type AofManagerOptions } from '../src/index.js';
import { seededRandom } from '../src/seeded-random.js';
import { payloadFor, sameBytes } from '../support/tmp.js';
import { Tally, describeError, skipped, type Scenario, type ScenarioContext, type ScenarioReport } from './scenario.js';

const FS_BYTES = 24 * 1024 * 1024;
const BALLAST_BYTES = 4 * 1024 * 1024;
const SEGMENT_BYTES = 256 * 1024;
const STEP_MS = 30_000;
const IN_FLIGHT = 8;

function options(root: string, tier1: boolean): AofManagerOptions {
  return {
    root,
    tier0: { arenaBytes: 8 * SEGMENT_BYTES, segmentBytes: SEGMENT_BYTES },
    tier1: tier1 ? { frameBytes: 16 * 1024, compressionLevel: 1 } : { enabled: false },
    tier2: { kind: 'none' },
    fsync: 'always',
  };
}

/** Record `id` of a round: 100..16,000 bytes (incompressible, so compression does not make room). */
function sizeOf(seed: number, id: number): number {
  const h = (Math.imul(id + 1, 2654435761) ^ seed) >>> 0;
  return 100 + (h % 15_901);
}

function mount(dir: string): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${FS_BYTES}`, 'tmpfs', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    return null;
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return `mount -t tmpfs failed: ${stderr || describeError(err)}`;
  }
}

async function verify(tally: Tally, log: AofLog, seed: number, acked: number, where: string): Promise<number> {
  let id = 0;
  const run = async (): Promise<void> => {
    for await (const rec of log.read({ from: 0 })) {
      if (rec.id !== id) throw new Error(`gap at ${id} (got ${rec.id})`);
      if (!sameBytes(rec.payload, payloadFor(rec.id + seed, sizeOf(seed, rec.id)))) {
        if (rec.id < acked) tally.lost++;
        tally.fail(`${where}: record ${rec.id} differs (corrupt)`);
      }
      if (rec.id < acked) tally.verified++;
      id++;
    }
  };
  try {
    await tally.bounded(run(), STEP_MS, `${where}: read back`);
  } catch (err) {
    tally.fail(`${where}: read back failed at ${id}: ${describeError(err)}`);
  }
  if (id < acked) {
    tally.lost += acked - id;
    tally.fail(`${where}: ${acked} records acknowledged, ${id} read back`);
  }
  return id;
}

async function round(ctx: ScenarioContext, tally: Tally, mountDir: string, r: number): Promise<void> {
  const tier1 = r % 2 === 0;
  const seed = (ctx.seed + r * 65537) >>> 0;
  const where = `round ${r} (tier1 ${tier1 ? 'on' : 'off'}, seed ${seed})`;
  const root = join(mountDir, `root-${r}`);
  const ballast = join(mountDir, 'ballast');
  writeFileSync(ballast, new Uint8Array(BALLAST_BYTES).fill(0x5a));
  const rand = seededRandom(seed);
  let acked = 0;
  try {
    // 1. Fill until the engine reports the full disk.
    const manager = await tally.bounded(AofManager.open(options(root, tier1)), STEP_MS, `${where}: open`);
    let nextToAppend = 0;
    let failure: unknown = null;
    try {
      const log = await manager.openStream('full');
      // Ids are assigned in call order; an id counts as acknowledged only once its promise resolved
      // and every earlier one did too (the durable prefix).
      const done = new Set<number>();
      // The ballast leaves a few MB: a disk that never fills within this is a failure, not a wait.
      const fillBy = Date.now() + 10 * STEP_MS;
      const writer = async (): Promise<void> => {
        while (failure === null) {
          if (Date.now() > fillBy) {
            failure = new Error(`${where}: the disk did not fill within ${10 * STEP_MS} ms (acknowledged up to ${acked})`);
            break;
          }
          const id = nextToAppend++;
          try {
            const got = await tally.bounded(log.append(payloadFor(id + seed, sizeOf(seed, id))), STEP_MS, `${where}: append ${id}`);
            if (got !== id) throw new Error(`append returned ${got}, expected ${id}`);
            done.add(id);
            while (done.has(acked)) done.delete(acked++);
          } catch (err) {
            if (failure === null) failure = err;
          }
          if (rand() < 0.05) await new Promise<void>((resolve) => setImmediate(resolve));
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, () => writer()));
      tally.injected++;
      const err = failure as unknown;
      const errno = err instanceof AofError ? err.details?.['errno'] : undefined;
      tally.add(`error.${err instanceof AofError ? err.code : 'uncoded'}.${String(errno)}`, 1);
      if (!(err instanceof AofError) || err.code !== ErrorCode.IO || errno !== 'ENOSPC') {
        tally.fail(`${where}: the full disk surfaced as ${describeError(err)} (errno ${String(errno)}), expected AOF_ERR_IO with errno ENOSPC`);
      }
      tally.add('acknowledgedBeforeFull', acked);
      // 2. The manager is failed: appends keep throwing, reads keep working.
      try {
        log.appendSync(new Uint8Array(8));
        tally.fail(`${where}: appendSync succeeded after the disk filled`);
      } catch (e) {
        if (!(e instanceof AofError) || e.code === ErrorCode.WOULD_BLOCK) tally.fail(`${where}: appendSync after the failure threw ${describeError(e)}`);
      }
      if (manager.stats().failure === null) tally.fail(`${where}: stats().failure is null after ENOSPC`);
      await verify(tally, log, seed, acked, `${where}: same session`);
    } finally {
      await tally.bounded(manager.close(), STEP_MS, `${where}: close after ENOSPC`).catch((err: unknown) => {
        if (!(err instanceof AofError)) tally.fail(`${where}: close after ENOSPC threw ${describeError(err)}`);
      });
    }

    // 3. Free space, reopen, verify, append again.
    rmSync(ballast);
    const again = await tally.bounded(AofManager.open(options(root, tier1)), STEP_MS, `${where}: reopen after freeing space`);
    let end: number;
    try {
      if (again.stats().manifest.corruptionEvents !== 0) tally.fail(`${where}: manifest corruption after ENOSPC`);
      tally.add('bytesTrimmedByRecovery', again.stats().recovery.trimmedBytes);
      const log = await again.openStream('full');
      const recovered = await verify(tally, log, seed, acked, `${where}: after reopen`);
      tally.add('unacknowledgedRecovered', Math.max(0, recovered - acked));
      end = log.nextId;
      // As many bytes again as the ballast held, in records of the same sizes.
      let bytes = 0;
      while (bytes < BALLAST_BYTES / 2) {
        const size = sizeOf(seed, end);
        const got = await tally.bounded(log.append(payloadFor(end + seed, size)), STEP_MS, `${where}: append after freeing space`);
        if (got !== end) throw new Error(`append after freeing space returned ${got}, expected ${end}`);
        end++;
        bytes += size;
      }
      tally.add('appendedAfterFreeing', end - log.firstId - recovered);
    } finally {
      await tally.bounded(again.close(), STEP_MS, `${where}: close after refill`);
    }
    const last = await tally.bounded(AofManager.open(options(root, tier1)), STEP_MS, `${where}: final reopen`);
    try {
      const log = await last.openStream('full');
      if (log.nextId !== end) tally.fail(`${where}: nextId ${log.nextId} after the final reopen, expected ${end}`);
      await verify(tally, log, seed, end, `${where}: final reopen`);
    } finally {
      await tally.bounded(last.close(), STEP_MS, `${where}: final close`);
    }
  } catch (err) {
    tally.fail(`${where}: ${describeError(err)}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(ballast, { force: true });
  }
}

async function run(ctx: ScenarioContext): Promise<ScenarioReport> {
  const target = ctx.quick ? '>= 2 fills (Tier 1 on and off)' : '>= 6 fills (Tier 1 on and off)';
  const need = ctx.quick ? 2 : 6;
  if (process.platform !== 'linux') return skipped('disk-full', `tmpfs mounts need Linux (platform ${process.platform})`, target);
  const mountDir = mkdtempSync(join(tmpdir(), 'aof2-chaos-diskfull-'));
  const refused = mount(mountDir);
  if (refused !== null) {
    rmSync(mountDir, { recursive: true, force: true });
    return skipped('disk-full', refused, target);
  }
  const tally = new Tally('disk-full');
  tally.figures['tmpfsBytes'] = FS_BYTES;
  tally.figures['ballastBytes'] = BALLAST_BYTES;
  try {
    mkdirSync(mountDir, { recursive: true });
    while (Date.now() < ctx.deadline && !(ctx.quick && tally.rounds >= need)) {
      await round(ctx, tally, mountDir, tally.rounds);
      tally.rounds++;
      ctx.log(`disk-full: round ${tally.rounds}, ${tally.verified} acknowledged records verified`);
      if (tally.failureCount > 0) break;
    }
  } finally {
    try {
      execFileSync('umount', [mountDir], { stdio: 'ignore' });
    } catch {
      // Busy (a worker still has a file open): lazy unmount detaches it now, frees it when closed.
      execFileSync('umount', ['-l', mountDir], { stdio: 'ignore' });
    }
    rmSync(mountDir, { recursive: true, force: true });
  }
  return tally.report(target, tally.rounds >= need);
}

export const diskFull: Scenario = {
  name: 'disk-full',
  description: 'the root on a small tmpfs filled by appends until ENOSPC; nothing acknowledged lost, recovery once space is freed',
  share: 0.1,
  run,
};
