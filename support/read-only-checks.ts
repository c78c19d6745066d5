/**
 * Checks the read-only and follower tests share (test/integration/read-only.test.ts,
 * follower.test.ts): a manager that only reads refuses every write, and what it reads back is what
 * the writer process appended (support/read-only-writer.ts writes `followPayload` records).
 */
import assert from 'node:assert/strict';
import { AofError, ErrorCode, type AofLog, type AofManager } from '../src/index.js';
import { followPayload } from './read-only-workload.js';
import { sameBytes } from './tmp.js';

/** A predicate for `assert.throws`/`rejects`: an AofError with `code`. */
export function isCode(code: string): (err: unknown) => boolean {
  return (err: unknown) => err instanceof AofError && err.code === code;
}

/**
 * Every record of `log` from `from` to its tail now, checked against what the writer wrote
 * (records of `size` bytes): ids dense, bytes equal. Returns how many it read.
 */
export async function readChecked(log: AofLog, size: number, from = log.firstId): Promise<number> {
  let expected = from;
  for await (const record of log.read({ from })) {
    assert.equal(record.id, expected, `stream ${log.name}: ids are dense`);
    assert.ok(sameBytes(record.payload, followPayload(log.name, record.id, size)), `stream ${log.name}: record ${record.id} holds what the writer appended`);
    expected++;
  }
  return expected - from;
}

/** Every write of `manager` (read-only or a follower) and of its log `log` throws AOF_ERR_READ_ONLY. */
export async function assertWritesRefused(manager: AofManager, log: AofLog): Promise<void> {
  const isReadOnly = isCode(ErrorCode.READ_ONLY);
  assert.throws(() => log.appendSync(new Uint8Array(1)), isReadOnly);
  await assert.rejects(log.append(new Uint8Array(1)), isReadOnly);
  assert.throws(() => log.appendBatchSync([new Uint8Array(1)]), isReadOnly);
  await assert.rejects(log.appendBatch([new Uint8Array(1)]), isReadOnly);
  await assert.rejects(log.flush(), isReadOnly);
  assert.throws(() => log.createWriteStream(), isReadOnly);
  assert.throws(() => manager.flushSync(), isReadOnly);
  await assert.rejects(manager.enforceRetention(), isReadOnly);
  await assert.rejects(manager.settle(), isReadOnly);
}
