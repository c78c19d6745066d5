/**
 * src/call-options.ts: the checks every small options object of a public call goes through
 * (`append(payload, { signal })`, `reader.next({ wait })`, `log.follow({ copy })`, the read and
 * write streams): unknown keys and wrong types are coded errors naming the option.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { booleanOf, checkOptions, signalOf } from '../../src/call-options.js';
import { AofError, ErrorCode } from '../../src/errors.js';

const coded = (code: string, option?: string) => (err: unknown) => {
  assert.ok(err instanceof AofError);
  assert.equal(err.code, code);
  if (option !== undefined) assert.equal((err.details as { option?: string }).option, option);
  return true;
};

test('checkOptions accepts known keys and refuses unknown ones and non-objects', () => {
  checkOptions({}, ['wait'], 'reader.next');
  checkOptions({ wait: true, signal: undefined }, ['wait', 'signal'], 'reader.next');
  assert.throws(() => checkOptions({ wiat: true }, ['wait'], 'reader.next'), coded(ErrorCode.UNKNOWN_OPTION, 'wiat'));
  assert.throws(() => checkOptions({ wiat: true }, ['wait'], 'reader.next'), /unknown reader\.next option wiat; expected one of: wait/);
  for (const bad of [null, 1, 'options', undefined]) assert.throws(() => checkOptions(bad, ['wait'], 'follow'), coded(ErrorCode.INVALID_ARGUMENT));
});

test('signalOf takes an AbortSignal or nothing', () => {
  const signal = new AbortController().signal;
  assert.equal(signalOf(signal, 'append'), signal);
  assert.equal(signalOf(undefined, 'append'), undefined);
  for (const bad of [null, {}, 'abort', { aborted: false, addEventListener() {} }]) assert.throws(() => signalOf(bad, 'append'), coded(ErrorCode.INVALID_ARGUMENT, 'signal'));
});

test('booleanOf takes a boolean, or the fallback when absent', () => {
  assert.equal(booleanOf(undefined, 'copy', 'follow', true), true);
  assert.equal(booleanOf(false, 'copy', 'follow', true), false);
  assert.throws(() => booleanOf('yes', 'durable', 'follow', false), coded(ErrorCode.INVALID_ARGUMENT, 'durable'));
  assert.throws(() => booleanOf(0, 'wait', 'reader.next', false), /reader\.next option wait must be a boolean, got number/);
});
