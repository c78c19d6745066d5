/**
 * `tier2` options: the s3 variant's keys are type-checked one by one with messages that name the
 * key, and the resolved options carry only known keys (they are structured-cloned into workers).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveConfig } from '../../src/config.js';
import { AofError, ErrorCode } from '../../src/errors.js';

const root = '/tmp/aof2-config-never-created';

function rejects(tier2: unknown, code: string, mentions: string): void {
  assert.throws(
    () => resolveConfig({ root, tier2 }),
    (err: unknown) => {
      assert.ok(err instanceof AofError, String(err));
      assert.equal(err.code, code, err.message);
      assert.ok(err.message.includes(mentions), `message ${JSON.stringify(err.message)} should mention ${mentions}`);
      return true;
    },
    JSON.stringify(tier2),
  );
}

describe('tier2 options', () => {
  test('a full s3 config resolves to the same plain object', () => {
    const full = {
      kind: 's3',
      bucket: 'b',
      prefix: 'team/aof2',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret', sessionToken: 'token' },
      serverSideEncryption: 'aws:kms',
      sseKmsKeyId: 'arn:aws:kms:eu-west-1:123:key/abc',
    } as const;
    assert.deepEqual(resolveConfig({ root, tier2: full }).tier2, full);
    assert.deepEqual(resolveConfig({ root, tier2: { kind: 's3', bucket: 'b' } }).tier2, { kind: 's3', bucket: 'b' });
    assert.deepEqual(resolveConfig({ root, tier2: { kind: 's3', bucket: 'b', prefix: '', serverSideEncryption: 'AES256' } }).tier2, {
      kind: 's3',
      bucket: 'b',
      prefix: '',
      serverSideEncryption: 'AES256',
    });
  });

  test('each s3 key of the wrong type or value is AOF_ERR_INVALID_ARGUMENT naming the key', () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ bucket: undefined }, 'tier2.bucket'],
      [{ bucket: '' }, 'tier2.bucket'],
      [{ bucket: 7 }, 'tier2.bucket'],
      [{ prefix: 3 }, 'tier2.prefix'],
      [{ endpoint: 'not a url' }, 'tier2.endpoint'],
      [{ endpoint: '' }, 'tier2.endpoint'],
      [{ region: false }, 'tier2.region'],
      [{ forcePathStyle: 'yes' }, 'tier2.forcePathStyle'],
      [{ credentials: 'id:secret' }, 'tier2.credentials'],
      [{ credentials: { accessKeyId: 'id' } }, 'tier2.credentials'],
      [{ credentials: { accessKeyId: 'id', secretAccessKey: 5 } }, 'tier2.credentials.secretAccessKey'],
      [{ credentials: { accessKeyId: 'id', secretAccessKey: 's', sessionToken: 1 } }, 'tier2.credentials.sessionToken'],
      [{ serverSideEncryption: 'aes256' }, 'tier2.serverSideEncryption'],
      [{ sseKmsKeyId: 'k' }, 'tier2.sseKmsKeyId'],
      [{ serverSideEncryption: 'AES256', sseKmsKeyId: 'k' }, 'tier2.sseKmsKeyId'],
    ];
    for (const [fields, key] of bad) rejects({ kind: 's3', bucket: 'b', ...fields }, ErrorCode.INVALID_ARGUMENT, key);
  });

  test('unknown keys are AOF_ERR_UNKNOWN_OPTION, also inside credentials', () => {
    rejects({ kind: 's3', bucket: 'b', bukket: 'c' }, ErrorCode.UNKNOWN_OPTION, 'tier2.bukket');
    rejects({ kind: 's3', bucket: 'b', credentials: { accessKeyId: 'i', secretAccessKey: 's', token: 't' } }, ErrorCode.UNKNOWN_OPTION, 'tier2.credentials.token');
  });
});
