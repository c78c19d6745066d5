/**
 * Helpers for behavioural tests of the engine: seeded randomness, bounded polling, WouldBlock
 * assertions and read-back verification. Real engine only; nothing here replaces a component.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AofError, WouldBlockError, type AofLog, type LogRecord, type WouldBlockKindValue } from '../../src/index.js';
import { sameBytes } from './tmp.js';

/** mulberry32: a tiny seeded PRNG, so "random" workloads are the same on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `predicate` every `intervalMs` until it holds; fails the test after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5000, intervalMs = 2): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Runs `fn`, which must throw a WouldBlockError of one of `kinds`; returns the error. */
export function expectWouldBlock(fn: () => unknown, kinds: readonly WouldBlockKindValue[]): WouldBlockError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof WouldBlockError, `expected WouldBlockError, got ${String(err)}`);
    assert.equal(err.code, 'AOF_ERR_WOULD_BLOCK');
    assert.ok(kinds.includes(err.kind), `WouldBlock kind ${err.kind}, expected one of ${kinds.join(', ')}`);
    return err;
  }
  return assert.fail(`expected WouldBlockError (${kinds.join(', ')}), but the call succeeded`);
}

/** Error code of a rejection, for `assert.rejects`-style checks that keep the error typed. */
export async function rejectionOf(promise: Promise<unknown>): Promise<AofError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AofError, `expected AofError, got ${String(err)}`);
    return err;
  }
  return assert.fail('expected the promise to reject');
}

/**
 * Reads `log` from `from` with `log.read()` and checks every record against `expected(id)`: ids
 * dense, bytes identical, count exactly `end - from`.
 */
export async function verifyLog(log: AofLog, expected: (id: number) => Uint8Array, end: number, from = 0): Promise<void> {
  let id = from;
  for await (const rec of log.read({ from })) {
    assert.equal(rec.id, id, `stream ${log.name}: ids must be dense`);
    if (!sameBytes(rec.payload, expected(id))) assert.fail(`stream ${log.name}: record ${id} differs`);
    id++;
  }
  assert.equal(id, end, `stream ${log.name}: read back ${id - from} records, expected ${end - from}`);
}

/** Checks one record returned by a reader against the expected bytes. */
export function checkRecord(rec: LogRecord | null, id: number, expected: Uint8Array): LogRecord {
  assert.ok(rec !== null, `record ${id}: reader returned null (caught up) too early`);
  assert.equal(rec.id, id);
  if (!sameBytes(rec.payload, expected)) assert.fail(`record ${id}: payload differs`);
  return rec;
}

/** Base ids of a stream's segment files, ascending (the segment boundaries on disk). */
export function segmentBaseIds(root: string, stream: string): number[] {
  return readdirSync(join(root, 'streams', stream))
    .filter((n) => n.endsWith('.seg'))
    .map((n) => Number(n.slice(0, 20)))
    .sort((a, b) => a - b);
}

/** Path of the segment file with base id `baseId`. */
export function segmentFile(root: string, stream: string, baseId: number): string {
  return join(root, 'streams', stream, `${String(baseId).padStart(20, '0')}.seg`);
}
