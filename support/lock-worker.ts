/**
 * worker_thread for test/integration/root-lock.test.ts (not a test file itself).
 *
 * workerData `{ root, mode }`:
 * - `manager`: AofManager.open on `root`. Posts `{ opened: false, code, details }` when refused.
 *   When it opens (the bug of issue 10), it does what the repro did, appends 50 records
 *   and closes, then posts `{ opened: true }`.
 * - `hold`: RootLock.acquire on `root`, posts `{ held: true }`, then idles (the parent terminates
 *   it without a release).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AofError, AofManager } from '../src/index.js';
import { RootLock } from '../src/root-lock.js';
import { RACE_STREAM, RACE_TIER0, racePayload } from './lock-race.js';

const { root, mode } = workerData as { root: string; mode: 'manager' | 'hold' };
const port = parentPort!;

if (mode === 'hold') {
  RootLock.acquire(root);
  port.postMessage({ held: true });
  setInterval(() => undefined, 60_000);
} else {
  try {
    const manager = await AofManager.open({ root, tier0: RACE_TIER0, tier1: { enabled: false }, tier2: { kind: 'none' } });
    const log = await manager.openStream(RACE_STREAM);
    for (let i = 0; i < 50; i++) await log.append(racePayload(9, log.nextId));
    await manager.close();
    port.postMessage({ opened: true });
  } catch (err) {
    port.postMessage({ opened: false, code: err instanceof AofError ? err.code : String(err), details: err instanceof AofError ? err.details : null });
  }
}
