/**
 * Child process of test/integration/fd-limit.test.ts (not a test file itself), run under a low
 * `ulimit -n` (soft and hard: Node cannot raise it): opens a manager with `tier0.maxOpenFiles` as
 * given (`default`: the option left out, so the budget derived from the limit applies), appends
 * one record to each of `streams` streams, then flushes each, and prints one JSON line:
 * `{ ok: true, maxOpenFiles, openSegmentFiles, reopens }` if every flush succeeded, or
 * `{ ok: false, code, errno, message }` with the first error.
 *
 *   node fd-limit-child.js <root> <streams> <maxOpenFiles|default>
 */
import { AofManager } from '../src/index.js';
import { AofError } from '../src/errors.js';
import { payloadFor } from './tmp.js';

const [root, streamsArg, budgetArg] = process.argv.slice(2);
const streams = Number(streamsArg);
const maxOpenFiles = budgetArg === 'default' ? undefined : Number(budgetArg);
if (root === undefined || !Number.isSafeInteger(streams) || (maxOpenFiles !== undefined && !Number.isSafeInteger(maxOpenFiles))) {
  process.stderr.write('usage: fd-limit-child.js <root> <streams> <maxOpenFiles|default>\n');
  process.exit(2);
}

const manager = await AofManager.open({ root, fsync: 'never', tier1: { enabled: false }, tier0: maxOpenFiles === undefined ? {} : { maxOpenFiles } });
let result: Record<string, unknown>;
try {
  const logs = [];
  for (let s = 0; s < streams; s++) logs.push(await manager.openStream(`s-${s}`));
  for (let s = 0; s < streams; s++) await logs[s]!.append(payloadFor(s, 200));
  for (const log of logs) await log.flush();
  const { tier0 } = manager.stats();
  result = { ok: true, maxOpenFiles: tier0.maxOpenFiles, openSegmentFiles: tier0.openSegmentFiles, reopens: tier0.segmentFileReopens };
} catch (err) {
  const e = err as AofError;
  result = { ok: false, code: e.code, errno: e instanceof AofError ? e.details?.['errno'] : undefined, message: e.message };
}
process.stdout.write(`${JSON.stringify(result)}\n`);
await manager.close().catch(() => undefined);
