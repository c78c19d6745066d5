/**
 * What the Tier 2 suites share: one S3-compatible server per benchmark run, a raw S3 client for
 * the baselines, and the bucket listing the suites verify against.
 *
 * - The server is the test harness's (support/s3-server.ts, compiled beside this directory
 *   under dist/): moto over HTTP on loopback, started on first use, killed by the runner's dispose
 *   (and by the harness's own exit hook and watchdog if the run dies). `AOF2_TEST_S3_ENDPOINT`
 *   points the benchmarks at another S3 exactly as it does the tests. Reused rather than copied: a
 *   second moto launcher would drift from the one the tests keep working.
 * - The raw client is configured like the engine's S3 store (src/tier2/s3-store.ts): same
 *   credentials, path style, checksums only when required, no `Expect: 100-continue`, two SDK
 *   attempts, the same timeouts. A baseline with other client settings would measure the settings,
 *   not the engine.
 * - Each suite works under its own key prefix of the run (`server.config(prefix)`), so suites and
 *   rounds never see each other's objects; `deleteUnder` empties a prefix between rounds so moto's
 *   memory stays bounded.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { S3_DEFAULTS, type S3StoreConfig } from '../src/tier2/s3-store.js';
import { startS3Server, type S3TestServer } from '../support/s3-server.js';
import type { SuiteOptions } from '../native-free-bench/shared.js';

let server: Promise<S3TestServer> | null = null;

/** The run's S3 server, started on first use. */
export function benchS3(options: SuiteOptions): Promise<S3TestServer> {
  if (server === null) {
    // The SDK warns on every client about Node versions it will stop supporting; noise here.
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
    const starting = startS3Server();
    server = starting;
    starting.then(
      (s) => options.progress(`S3: ${s.controllable ? `moto on ${s.endpoint} (started in ${s.startupMs.toFixed(0)} ms)` : `external ${s.endpoint}`}`),
      () => {
        if (server === starting) server = null;
      },
    );
  }
  return server;
}

/** Stops the server (or deletes the run's objects from an external bucket). Idempotent. */
export async function disposeS3(): Promise<void> {
  const s = server;
  server = null;
  if (s !== null) await (await s.catch(() => null))?.close();
}

/** An S3 client with the engine store's settings (see the module comment). Destroy it after use. */
export function rawClient(config: S3StoreConfig): S3Client {
  return new S3Client({
    region: config.region ?? S3_DEFAULTS.region,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    ...(config.forcePathStyle === undefined ? {} : { forcePathStyle: config.forcePathStyle }),
    ...(config.credentials === undefined ? {} : { credentials: typeof config.credentials === 'function' ? config.credentials : { ...config.credentials } }),
    maxAttempts: S3_DEFAULTS.maxAttempts,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    expectContinueHeader: false,
    requestHandler: { connectionTimeout: S3_DEFAULTS.connectTimeoutMs, socketTimeout: S3_DEFAULTS.requestTimeoutMs },
  });
}

/** The full key of object `key` of a store (the store's prefix, one slash, the key). */
export function fullKey(config: S3StoreConfig, key: string): string {
  const prefix = (config.prefix ?? '').replace(/^\/+|\/+$/g, '');
  return prefix === '' ? key : `${prefix}/${key}`;
}

/** Every object under `prefix` (a full key prefix), with its size, ascending. */
export async function listUnder(client: S3Client, bucket: string, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key !== undefined) out.set(o.Key, o.Size ?? -1);
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return out;
}

/** Deletes every object under `prefix` (1,000 per request). */
export async function deleteUnder(client: S3Client, bucket: string, prefix: string): Promise<void> {
  const keys = [...(await listUnder(client, bucket, prefix)).keys()];
  for (let i = 0; i < keys.length; i += 1000) {
    const Objects = keys.slice(i, i + 1000).map((Key) => ({ Key }));
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects, Quiet: true } }));
  }
}

/**
 * CPU time (user + system, ms) used so far by this process's child python3 processes — moto, when
 * the harness runs it — from /proc; null elsewhere (another OS, an external endpoint). On a small
 * machine the server shares the cores with the engine, so its CPU per MB is part of the story.
 */
export function serverCpuMs(): number | null {
  let total = 0;
  let found = false;
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return null;
  }
  const tick = 10; // ms per clock tick: USER_HZ is 100 on every Linux ABI Node supports
  for (const pid of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // comm is in parentheses and may hold spaces: the fields after the last ')' are fixed.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // fields[0] is state (field 3), so field n is fields[n - 3]: ppid 4, utime 14, stime 15.
    if (Number(fields[1]) !== process.pid || !comm.startsWith('python')) continue;
    found = true;
    total += (Number(fields[11]) + Number(fields[12])) * tick;
  }
  return found ? total : null;
}
