/**
 * `global.gc` for the benchmark runners, enabled at run time when node was started without
 * --expose-gc (so `node dist/.../run.js` works as well as `npm run bench`, which passes the flag).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A full garbage collection function. @throws Error if gc cannot be enabled in this process */
export function gcFunction(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc !== 'function') throw new Error('cannot enable global.gc; run node with --expose-gc');
  return gc as () => void;
}
