/**
 * The writer process of the read-only tests (test/integration/read-only*.test.ts; not a test file
 * itself): an `AofManager` on a root, in a process of its own, so that a read-only manager in the
 * test process reads a root another process holds, as users will.
 *
 *   node read-only-writer.js <root> <options json>
 *
 * Opens the manager with `{ root, ...options }` (a local-directory Tier 2 given as `tier2Root`),
 * prints `ready`, then runs one command per stdin line and answers with one line:
 *   append <stream> <count> <size>   appends records `followPayload(stream, id, size)`, then flush();
 *                                    answers `appended <nextId> <durableId>`
 *   settle                           manager.settle() (compression, uploads): `settled`
 *   retain <stream> <maxBytes>       reopens the stream with that retention, enforceRetention():
 *                                    `retained <firstId>`
 *   run <stream> <size>              appends forever, never waiting for durability (appendSync,
 *                                    `await append()` when the arena pushes back): answers
 *                                    `running` at once; the parent ends it with SIGKILL
 *   followers                        `followers <n>`: read-only processes the writer counts
 *                                    (stats().tier0.readOnlyFollowers)
 *   close                            manager.close(): `closed`, then exits 0
 * Anything unexpected prints `error <message>` and exits 2.
 */
import { createInterface } from 'node:readline';
import { AofManager, WouldBlockError, type AofLog, type AofManagerOptions } from '../src/index.js';
import { followPayload } from './read-only-workload.js';

const [root, json] = process.argv.slice(2);

function die(message: string): never {
  process.stdout.write(`error ${message.replace(/\n/g, ' ')}\n`);
  process.exit(2);
}

if (root === undefined || json === undefined) die('usage: read-only-writer.js <root> <options json>');
const { tier2Root, ...rest } = JSON.parse(json) as Partial<AofManagerOptions> & { tier2Root?: string };
const options: AofManagerOptions = { root, ...rest, ...(tier2Root !== undefined && { tier2: { kind: 'fs', root: tier2Root } }) };
const manager = await AofManager.open(options).catch((err: unknown) => die(`open: ${String(err)}`));
const logs = new Map<string, AofLog>();
const logOf = async (name: string): Promise<AofLog> => {
  let log = logs.get(name);
  if (log === undefined) {
    log = await manager.openStream(name);
    logs.set(name, log);
  }
  return log;
};

/** Appends until the process is killed: as fast as the arena takes records, never awaiting durability. */
async function runForever(log: AofLog, stream: string, size: number): Promise<never> {
  for (;;) {
    const id = log.nextId;
    const payload = followPayload(stream, id, size);
    try {
      log.appendSync(payload);
    } catch (err) {
      if (!(err instanceof WouldBlockError)) throw err;
      await log.append(payload);
    }
    // Let the event loop (and the coordinator's wake-ups) run now and then.
    if (id % 256 === 255) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
lines.on('close', () => process.exit(0));
for await (const line of lines) {
  const [cmd, a, b, c] = line.split(' ');
  try {
    if (cmd === 'append') {
      const log = await logOf(a!);
      const count = Number(b);
      const size = Number(c);
      for (let i = 0; i < count; i++) await log.append(followPayload(a!, log.nextId, size));
      await log.flush();
      process.stdout.write(`appended ${log.nextId} ${log.durableId}\n`);
    } else if (cmd === 'settle') {
      await manager.settle();
      process.stdout.write('settled\n');
    } else if (cmd === 'retain') {
      const log = await manager.openStream(a!, { retention: { maxBytes: Number(b) } });
      logs.set(a!, log);
      await manager.enforceRetention();
      process.stdout.write(`retained ${log.firstId}\n`);
    } else if (cmd === 'run') {
      const log = await logOf(a!);
      process.stdout.write('running\n');
      void runForever(log, a!, Number(b)).catch((err: unknown) => die(`run: ${String(err)}`));
    } else if (cmd === 'followers') {
      process.stdout.write(`followers ${manager.stats().tier0.readOnlyFollowers}\n`);
    } else if (cmd === 'close') {
      await manager.close();
      process.stdout.write('closed\n');
      process.exit(0);
    } else {
      die(`unknown command ${line}`);
    }
  } catch (err) {
    die(`${line}: ${String(err)}`);
  }
}
