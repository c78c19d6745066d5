/**
 * Regression (issue 10, section 6): `tier2.credentials` refused credential objects the AWS SDK
 * produced — `fromEnv()()` gives `{ accessKeyId, secretAccessKey, $source }`, the SDK adds
 * `$source` to an object it used, STS identities carry `expiration` and `accountId` — and provider
 * functions. Each is used end to end here against a real S3 server (moto, or `AOF2_TEST_S3_ENDPOINT`):
 * segments go up through the upload worker threads, then a fresh root rebuilds from the bucket and
 * reads every record back through the hydrate worker threads, which fetch with the same credentials.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { AofManager } from '../../src/index.js';
import type { Tier2Credentials, Tier2CredentialsProvider } from '../../src/tier2/credentials.js';
import { startS3Server, type S3TestServer } from '../../support/s3-server.js';
import { fill, readBack, smallEngine } from '../../support/tier2-suite.js';
import { tempRoot } from '../../support/tmp.js';

let server: S3TestServer;
let n = 0;
before(async () => {
  server = await startS3Server();
});
after(() => server.close());

/** The test server's own key pair (moto accepts any; an external S3 needs the configured one). */
function serverKeys(): { accessKeyId: string; secretAccessKey: string } {
  const creds = server.config('').credentials;
  assert.ok(creds !== undefined && typeof creds !== 'function');
  return { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey };
}

/** Writes 1,500 records through Tier 2 with `credentials`, rebuilds a fresh root from the bucket with them, reads everything. */
async function roundTrip(label: string, credentials: Tier2Credentials | Tier2CredentialsProvider): Promise<void> {
  const cfg = { ...server.config(`creds-${label}-${n++}`), credentials };
  const first = tempRoot('aof2-creds-');
  {
    const manager = await AofManager.open(smallEngine(first.root, cfg, 1 << 30));
    const log = await manager.openStream('events');
    await fill(log, 0, 1500);
    await manager.close(); // seals, compresses, uploads (upload workers), replicates the manifest
    assert.ok(manager.stats().tier2!.segmentsUploaded > 0, `${label}: segments were uploaded`);
    assert.equal(manager.stats().tier2!.uploadFailures, 0);
  }
  first.cleanup();
  const second = tempRoot('aof2-creds-');
  try {
    const manager = await AofManager.open(smallEngine(second.root, cfg, 1 << 30));
    try {
      assert.ok(manager.stats().restoredManifestFiles > 0, `${label}: the manifest came from Tier 2`);
      const log = await manager.openStream('events');
      assert.equal(log.nextId, 1500);
      await readBack(log, 0, 1500); // frames fetched by the hydrate workers
      assert.ok(manager.stats().tier1.framesDecompressed > 0);
    } finally {
      await manager.close();
    }
  } finally {
    second.cleanup();
    rmSync(`${second.root}-tier2`, { recursive: true, force: true });
  }
}

test('an identity from the SDK: fromEnv()() with its $source', { timeout: 120_000 }, async () => {
  const keys = serverKeys();
  const saved = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };
  process.env['AWS_ACCESS_KEY_ID'] = keys.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = keys.secretAccessKey;
  let identity;
  try {
    identity = await fromEnv()();
  } finally {
    if (saved.id === undefined) delete process.env['AWS_ACCESS_KEY_ID'];
    else process.env['AWS_ACCESS_KEY_ID'] = saved.id;
    if (saved.secret === undefined) delete process.env['AWS_SECRET_ACCESS_KEY'];
    else process.env['AWS_SECRET_ACCESS_KEY'] = saved.secret;
  }
  assert.ok('$source' in identity, 'the SDK marks what it produced with $source');
  await roundTrip('from-env', identity);
});

test('an STS-shaped identity: sessionToken, expiration (a Date), accountId, credentialScope', { timeout: 120_000 }, async (t) => {
  if (!server.controllable) return t.skip('an external S3 would reject a made-up session token');
  await roundTrip('sts-shaped', {
    ...serverKeys(),
    sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN',
    expiration: new Date(Date.now() + 3600_000),
    accountId: '123456789012',
    credentialScope: 'us-east-1',
  });
});

test('a provider function: called on the main thread, its identity reaches the upload and hydrate workers', { timeout: 120_000 }, async () => {
  let calls = 0;
  const provider = async (): Promise<Tier2Credentials> => {
    calls++;
    // Expires in an hour: cached (one call serves every task) until five minutes before.
    return { ...serverKeys(), expiration: new Date(Date.now() + 3600_000) };
  };
  await roundTrip('provider', provider);
  assert.ok(calls >= 2, `the provider was asked (by each manager), got ${calls} calls`);
  assert.ok(calls <= 8, `an unexpired identity is reused, not fetched per task (${calls} calls)`);
});
