/**
 * Child process of test/integration/exit-without-close.test.ts (not a test file itself): opens a
 * manager, appends EXIT_RECORDS records to each of EXIT_STREAMS (alternating appendSync and a
 * not-awaited append(), across several small segments so some are sealing at the end), never calls
 * close(), and ends the way `<ending>` says:
 *
 *   node exit-child.js <root> <fsync> <ending> [hook] [repro]
 *
 * - `natural`: returns; the event loop runs dry.
 * - `exit`: `process.exit(0)` right after the last append.
 * - `throw`: throws from a timer right after the last append (an uncaught exception, exit code 1).
 * - `flushsync-kill`: `manager.flushSync()`, then SIGKILL of itself (no 'exit' event, no cleanup).
 *
 * `hook` opens with `flushOnExit: true`. `repro` appends with appendSync only, into one segment
 * per stream (EXIT_TIER0_ONE_SEGMENT), as the repro did. Before ending it prints one line
 * `appended <nextId per stream> durable <durableId per stream>` so the parent can time the exit
 * from there and report what was durable when the child stopped appending, and in its own 'exit'
 * listener (which runs after the manager's) `at exit durable <durableId per stream>`: what the
 * exit drains made durable (fsynced), which the parent cannot tell from the files after a mere
 * process exit (the page cache keeps unsynced writes).
 */
import { writeSync } from 'node:fs';
import { AofManager, type AofManagerOptions, type FsyncPolicy } from '../src/index.js';
import { EXIT_RECORDS, EXIT_STREAMS, EXIT_TIER0, EXIT_TIER0_ONE_SEGMENT, EXIT_TIER1, exitPayload } from './exit-workload.js';

const [root, fsync, ending, ...flags] = process.argv.slice(2);
const ENDINGS = ['natural', 'exit', 'throw', 'flushsync-kill'];
if (root === undefined || !['always', 'interval', 'never'].includes(fsync ?? '') || !ENDINGS.includes(ending ?? '') || flags.some((f) => f !== 'hook' && f !== 'repro')) {
  process.stderr.write('usage: exit-child.js <root> <always|interval|never> <natural|exit|throw|flushsync-kill> [hook] [repro]\n');
  process.exit(2);
}
const hook = flags.includes('hook');
const repro = flags.includes('repro');

function die(message: string): never {
  process.stderr.write(`exit-child: ${message}\n`);
  process.exit(2);
}

const options: AofManagerOptions = {
  root,
  tier0: repro ? EXIT_TIER0_ONE_SEGMENT : EXIT_TIER0,
  tier1: EXIT_TIER1,
  fsync: fsync as FsyncPolicy,
  // A long interval: under 'interval' nothing becomes durable by the timer during the test, so
  // what survives is what the exit paths themselves made durable.
  fsyncIntervalMs: 60_000,
  ...(hook ? { flushOnExit: true } : {}),
};
const manager = await AofManager.open(options);
const logs = await Promise.all(EXIT_STREAMS.map((name) => manager.openStream(name)));
for (const log of logs) if (log.nextId !== 0) die(`stream ${log.name} starts at ${log.nextId}, expected a fresh root`);

for (let id = 0; id < EXIT_RECORDS; id++) {
  for (let s = 0; s < logs.length; s++) {
    const log = logs[s]!;
    const payload = exitPayload(s, id);
    if (repro || id % 2 === 0) {
      const got = log.appendSync(payload);
      if (got !== id) die(`appendSync returned ${got}, expected ${id}`);
    } else {
      // Not awaited, as a fire-and-forget logger would do; the id is checked when it resolves.
      log.append(payload).then(
        (got) => got === id || die(`append returned ${got}, expected ${id}`),
        (err: unknown) => die(`append ${id} rejected: ${String(err)}`),
      );
    }
  }
}
process.stdout.write(`appended ${logs.map((l) => l.nextId).join(',')} durable ${logs.map((l) => l.durableId).join(',')}\n`);
// Registered after the manager's own listeners, so it reports what they achieved. fs.writeSync:
// a stream write may not reach the pipe during 'exit'.
process.on('exit', () => writeSync(1, `at exit durable ${logs.map((l) => l.durableId).join(',')}\n`));

switch (ending) {
  case 'natural':
    break;
  case 'exit':
    process.exit(0);
    break;
  case 'throw':
    setTimeout(() => {
      throw new Error('exit-child: uncaught on purpose');
    }, 0);
    break;
  case 'flushsync-kill':
    manager.flushSync();
    process.stdout.write(`flushed durable ${logs.map((l) => l.durableId).join(',')}\n`);
    process.kill(process.pid, 'SIGKILL');
    break;
}
