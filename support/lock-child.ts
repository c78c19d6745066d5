/**
 * Child process for test/integration/root-lock.test.ts (not a test file itself).
 *
 *   node lock-child.js hold <root> [manager]
 *                                       takes RootLock on <root> (or opens an AofManager on it),
 *                                       prints `ready`, idles until killed
 *   node lock-child.js open <root>      AofManager.open once; prints `opened` (then closes) or
 *                                       `locked <json details>`; exits 0
 *   node lock-child.js race lock|manager
 *       A long-lived racer driven by stdin lines, so that one trial costs no process start:
 *       `go <root> <racer index>` takes the lock (RootLock.acquire, or AofManager.open with fsync
 *       'always' followed by RACE_RECORDS acknowledged appends) and prints `held` (lock), `acked
 *       <n>` (manager) or `locked`; the holder keeps it until `release` (then prints `released`);
 *       `quit` exits. The parent sends `go` to every racer at once, so the acquires overlap.
 * Anything unexpected prints `error <message>` and exits 2.
 */
import { createInterface } from 'node:readline';
import { AofError, AofManager, ErrorCode } from '../src/index.js';
import { RootLock } from '../src/root-lock.js';
import { RACE_RECORDS, RACE_STREAM, RACE_TIER0, racePayload } from './lock-race.js';

const [mode, arg] = process.argv.slice(2);

function die(message: string): never {
  process.stdout.write(`error ${message.replace(/\n/g, ' ')}\n`);
  process.exit(2);
}

const isLocked = (err: unknown): boolean => err instanceof AofError && err.code === ErrorCode.LOCKED;

if (mode === 'hold' && arg !== undefined) {
  if (process.argv[4] === 'manager') await AofManager.open({ root: arg, tier0: RACE_TIER0, tier1: { enabled: false }, tier2: { kind: 'none' } });
  else RootLock.acquire(arg);
  process.stdout.write('ready\n');
  // Keeps the event loop (and so the lock) alive until the parent kills us.
  setInterval(() => undefined, 60_000);
} else if (mode === 'open' && arg !== undefined) {
  try {
    const manager = await AofManager.open({ root: arg, tier0: RACE_TIER0, tier1: { enabled: false }, tier2: { kind: 'none' } });
    await manager.close();
    process.stdout.write('opened\n');
  } catch (err) {
    if (!isLocked(err)) die(String(err));
    process.stdout.write(`locked ${JSON.stringify((err as AofError).details)}\n`);
  }
} else if (mode === 'race' && (arg === 'lock' || arg === 'manager')) {
  let release: (() => Promise<void>) | null = null;
  const lines = createInterface({ input: process.stdin });
  lines.on('close', () => process.exit(0));
  process.stdout.write('ready\n');
  for await (const line of lines) {
    const [cmd, root, index] = line.split(' ');
    if (cmd === 'quit') process.exit(0);
    if (cmd === 'release') {
      await release?.();
      release = null;
      process.stdout.write('released\n');
      continue;
    }
    if (cmd !== 'go' || root === undefined || index === undefined) die(`bad command ${line}`);
    try {
      if (arg === 'lock') {
        const lock = RootLock.acquire(root);
        release = async () => lock.release();
        process.stdout.write('held\n');
      } else {
        const manager = await AofManager.open({ root, tier0: RACE_TIER0, tier1: { enabled: false }, tier2: { kind: 'none' }, fsync: 'always' });
        release = () => manager.close();
        const log = await manager.openStream(RACE_STREAM);
        const first = log.nextId;
        const ids = await Promise.all(Array.from({ length: RACE_RECORDS }, (_, i) => log.append(racePayload(Number(index), first + i))));
        process.stdout.write(`acked ${ids.length} ${first}\n`);
      }
    } catch (err) {
      if (!isLocked(err)) die(String(err));
      process.stdout.write('locked\n');
    }
  }
} else {
  die('usage: lock-child.js hold <root> [manager] | open <root> | race lock|manager');
}
