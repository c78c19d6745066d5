/**
 * `tier2` options: the s3 variant's keys are type-checked one by one with messages that name the
 * key, and the resolved options carry only known keys (they are structured-cloned into workers).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveConfig } from '../../src/config.js';
import { AofError, ErrorCode } from '../../src/errors.js';
import { CredentialSource, REFRESH_MARGIN_MS } from '../../src/tier2/credentials.js';

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
  test('without a tier2 option there is no Tier 2 (nothing is written outside the root); a local directory is named', () => {
    assert.deepEqual(resolveConfig({ root }).tier2, { kind: 'none' });
    assert.deepEqual(resolveConfig({ root, tier2: { kind: 'fs', root: '/elsewhere/objects' } }).tier2, { kind: 'fs', root: '/elsewhere/objects' });
    // Tier 2 stores Tier 1 files: with Tier 1 off it is off whatever was asked.
    assert.deepEqual(resolveConfig({ root, tier1: { enabled: false }, tier2: { kind: 'fs', root: '/elsewhere/objects' } }).tier2, { kind: 'none' });
  });

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

  test('credentials: every identity the AWS SDK accepts or produces ($source, expiration, accountId, credentialScope) is accepted', () => {
    const expiration = new Date(Date.now() + 3600_000);
    const shapes: Array<[Record<string, unknown>, Record<string, unknown>]> = [
      // fromEnv()(): the SDK adds $source (its feature-tracking metadata) to what it produced.
      [{ accessKeyId: 'id', secretAccessKey: 's', $source: { CREDENTIALS_ENV_VARS: 'g' } }, { accessKeyId: 'id', secretAccessKey: 's' }],
      [
        { accessKeyId: 'id', secretAccessKey: 's', sessionToken: 't', expiration, accountId: '123456789012', credentialScope: 'us-east-1', $source: {} },
        { accessKeyId: 'id', secretAccessKey: 's', sessionToken: 't', expiration, accountId: '123456789012', credentialScope: 'us-east-1' },
      ],
    ];
    for (const [given, resolved] of shapes) {
      const tier2 = resolveConfig({ root, tier2: { kind: 's3', bucket: 'b', credentials: given } }).tier2;
      assert.ok(tier2.kind === 's3');
      assert.deepEqual(tier2.credentials, resolved);
      assert.notEqual(tier2.credentials, given, 'a copy: the caller\'s object is not the client\'s');
      assert.deepEqual(structuredClone(tier2), tier2, 'an identity can cross to a worker');
    }
    // A provider (AwsCredentialIdentityProvider) is kept as is: it is called on the main thread.
    const provider = async (): Promise<{ accessKeyId: string; secretAccessKey: string }> => ({ accessKeyId: 'id', secretAccessKey: 's' });
    const tier2 = resolveConfig({ root, tier2: { kind: 's3', bucket: 'b', credentials: provider } }).tier2;
    assert.ok(tier2.kind === 's3');
    assert.equal(tier2.credentials, provider);
  });

  test('credentials of the wrong shape are still refused, naming the field', () => {
    const bad: Array<[unknown, string, string]> = [
      [null, ErrorCode.INVALID_ARGUMENT, 'tier2.credentials must be an object'],
      [['id', 's'], ErrorCode.INVALID_ARGUMENT, 'tier2.credentials must be an object'],
      [42, ErrorCode.INVALID_ARGUMENT, 'or a function returning one'],
      [{ accessKeyId: 'id', secretAccessKey: 's', expiration: '2030-01-01' }, ErrorCode.INVALID_ARGUMENT, 'tier2.credentials.expiration must be a valid Date'],
      [{ accessKeyId: 'id', secretAccessKey: 's', expiration: new Date(Number.NaN) }, ErrorCode.INVALID_ARGUMENT, 'tier2.credentials.expiration'],
      [{ accessKeyId: 'id', secretAccessKey: 's', accountId: 123456789012 }, ErrorCode.INVALID_ARGUMENT, 'tier2.credentials.accountId'],
      [{ accessKeyId: 'id', secretAccessKey: 's', credentialScope: '' }, ErrorCode.INVALID_ARGUMENT, 'tier2.credentials.credentialScope'],
      [{ accessKeyId: '', secretAccessKey: 's' }, ErrorCode.INVALID_ARGUMENT, 'tier2.credentials.accessKeyId'],
      [{ secretAccessKey: 's', $source: {} }, ErrorCode.INVALID_ARGUMENT, 'needs both accessKeyId and secretAccessKey'],
      [{ accessKeyId: 'id', secretAccessKey: 's', expires: new Date() }, ErrorCode.UNKNOWN_OPTION, 'tier2.credentials.expires'],
    ];
    for (const [credentials, code, mentions] of bad) rejects({ kind: 's3', bucket: 'b', credentials }, code, mentions);
  });

  test('a provider is called once per identity, again only near its expiration; its failure is AOF_ERR_UNAVAILABLE', async () => {
    let now = 1_000_000;
    let calls = 0;
    let answer: () => unknown = () => ({ accessKeyId: `id${calls}`, secretAccessKey: 's', expiration: new Date(now + 3600_000) });
    const source = new CredentialSource(async () => {
      calls++;
      return answer() as { accessKeyId: string; secretAccessKey: string };
    }, () => now);
    const [a, b] = await Promise.all([source.get(), source.get()]);
    assert.equal(calls, 1, 'concurrent callers share one provider call');
    assert.equal(a, b);
    now += 3600_000 - REFRESH_MARGIN_MS - 1;
    assert.equal(await source.get(), a, 'reused until five minutes before it expires');
    now += 2;
    assert.equal((await source.get()).accessKeyId, 'id2', 'refreshed inside the margin');
    now += 3600_000;
    answer = () => ({ accessKeyId: 'id' });
    await assert.rejects(source.get(), (err: unknown) => {
      assert.ok(err instanceof AofError);
      assert.equal(err.code, ErrorCode.UNAVAILABLE);
      assert.equal(err.details?.['storeCode'], 'CredentialsProviderError');
      assert.match(err.message, /the credentials provider failed: .*needs both accessKeyId and secretAccessKey/);
      return true;
    });
    const forever = new CredentialSource(async () => {
      calls++;
      return { accessKeyId: 'static', secretAccessKey: 's' };
    }, () => now);
    const before = calls;
    await forever.get();
    now += 365 * 86_400_000;
    await forever.get();
    assert.equal(calls, before + 1, 'an identity without expiration is kept');
  });

  test('unknown keys are AOF_ERR_UNKNOWN_OPTION, also inside credentials', () => {
    rejects({ kind: 's3', bucket: 'b', bukket: 'c' }, ErrorCode.UNKNOWN_OPTION, 'tier2.bukket');
    rejects({ kind: 's3', bucket: 'b', credentials: { accessKeyId: 'i', secretAccessKey: 's', token: 't' } }, ErrorCode.UNKNOWN_OPTION, 'tier2.credentials.token');
  });
});
