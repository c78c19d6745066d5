/**
 * Records appended but not yet written when the process ends.
 *
 * The flush worker and its port are unref'd (src/tier0/flusher.ts), so without help a script
 * that appends and simply ends would exit before the worker wrote anything. Two process listeners,
 * shared by every open manager of this thread, drain instead:
 *
 * - 'beforeExit' (always): the event loop ran dry. Each manager blocks until everything appended
 *   is written, and fdatasynced unless `fsync` is 'never' (`Flusher.drainSync`). Nothing else can
 *   run then anyway, and fsyncing at once lets the process exit as soon as the disk answers instead
 *   of waiting for the next `fsyncIntervalMs` tick.
 * - 'exit' (opt-in, `flushOnExit: true`): the same drain for `process.exit()` and an uncaught
 *   exception, which skip 'beforeExit'. Opt-in because it makes `process.exit()` wait for the disk.
 *
 * Why not hold a ref'd handle (worker.ref()) while frames are unwritten: arming it is a check on
 * every append, and releasing it needs a watcher of every flusher pass; the drain here costs the
 * hot path nothing and runs once, when the process is ending anyway. The listeners are prepended,
 * so a user's own 'beforeExit'/'exit' listener (one that calls process.exit(), say) runs after the
 * drain. SIGTERM, SIGINT and SIGKILL end the process without either event: see README.
 */

/** A manager's side: drains, never throws (it reports what it could not drain). */
export interface ExitDrain {
  drainForExit(event: 'beforeExit' | 'exit'): void;
}

const beforeExitDrains = new Set<ExitDrain>();
const exitDrains = new Set<ExitDrain>();

// Copies: a drain may close or unregister a manager while the set is walked.
const onBeforeExit = (): void => {
  for (const drain of [...beforeExitDrains]) drain.drainForExit('beforeExit');
};
const onExit = (): void => {
  for (const drain of [...exitDrains]) drain.drainForExit('exit');
};

/**
 * Registers `drain` for 'beforeExit', and for 'exit' too when `onProcessExit`. One listener per
 * event for all managers (no MaxListeners warning with many managers), removed with the last one.
 * Returns the unregister function (idempotent), called when the manager has closed.
 */
export function registerExitDrain(drain: ExitDrain, onProcessExit: boolean): () => void {
  add(beforeExitDrains, 'beforeExit', onBeforeExit, drain);
  if (onProcessExit) add(exitDrains, 'exit', onExit, drain);
  return () => {
    remove(beforeExitDrains, 'beforeExit', onBeforeExit, drain);
    remove(exitDrains, 'exit', onExit, drain);
  };
}

function add(set: Set<ExitDrain>, event: 'beforeExit' | 'exit', listener: () => void, drain: ExitDrain): void {
  if (set.size === 0) {
    // Two calls: @types/node types each event's listener separately, not a union of them.
    if (event === 'beforeExit') process.prependListener('beforeExit', listener);
    else process.prependListener('exit', listener);
  }
  set.add(drain);
}

function remove(set: Set<ExitDrain>, event: 'beforeExit' | 'exit', listener: () => void, drain: ExitDrain): void {
  if (!set.delete(drain) || set.size > 0) return;
  if (event === 'beforeExit') process.removeListener('beforeExit', listener);
  else process.removeListener('exit', listener);
}
