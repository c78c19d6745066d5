/**
 * Preloaded into every test file's process by `npm test` (`node --test --import
 * ./dist/support/test-watchdog.js`, which the runner passes on to each file's child process): once
 * the file's last test and hooks are done, a file whose process is still alive GRACE_MS later is
 * ended with exit code 1 and a message naming what keeps it alive.
 *
 * Why: `--test-timeout` bounded each *file* on Node 20 and 22 (the runner killed a file's process
 * at the limit, including one whose tests had passed but left a handle open). On Node 24 it bounds
 * each *test* only: a test that times out is cancelled, but a file kept alive by a leaked handle
 * (a manager never closed, a server never stopped, an interval) hangs `npm test` until CI's own
 * limit. This restores the per-file bound on every runtime, and says more than a timeout does.
 *
 * The timer is unref'd, so it never keeps a file alive itself: a file that exits normally never
 * sees it. Registered first, this root `after` hook runs before the file's own; GRACE_MS covers
 * those (closing managers, stopping the moto server take seconds, not minutes).
 */
import { after } from 'node:test';

/** How long a file may stay alive after its last test: far longer than any file's own cleanup. */
const GRACE_MS = 120_000;

after(() => {
  const timer = setTimeout(() => {
    process.stderr.write(
      `test-watchdog: ${process.argv[1] ?? 'this test file'} is still running ${GRACE_MS / 1000} s after its last test ended; ` +
        `what keeps it alive: ${JSON.stringify(process.getActiveResourcesInfo())} (something it started was not closed)\n`,
    );
    process.exit(1);
  }, GRACE_MS);
  timer.unref();
});
