/**
 * A real S3-compatible server for tests: the moto server (`python3 -m moto.server`) as a child
 * process on a free loopback port, spoken to over HTTP exactly as aof2 speaks to S3.
 *
 * - `startS3Server()` starts moto, waits until it answers, creates the bucket. Every run gets its own
 *   key prefix (`runPrefix`), so runs sharing one external bucket never collide.
 * - Outages: `pause()`/`resume()` (SIGSTOP/SIGCONT) freeze the server with its state intact: the
 *   kernel still accepts connections, nothing answers — a hung server. `stop()`/`start()` kill it
 *   and start it again on the same port: a dead server, refused connections; moto keeps its state in
 *   memory, so `start()` comes back empty (bucket recreated).
 * - `AOF2_TEST_S3_ENDPOINT` (with `AOF2_TEST_S3_BUCKET`, `AOF2_TEST_S3_REGION`,
 *   `AOF2_TEST_S3_ACCESS_KEY_ID`, `AOF2_TEST_S3_SECRET_ACCESS_KEY`) points the same tests at any other
 *   S3 instead; the bucket must exist. Then `controllable` is false and stop/start/pause/resume throw:
 *   tests that need them skip with `skipReason`. `reset()` and `close()` delete the run's objects.
 * - The child dies with the test process: SIGKILL from an 'exit' hook, and a watchdog thread inside
 *   the Python process that exits when its parent goes away (covers a SIGKILLed test runner too).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { CreateBucketCommand, DeleteObjectsCommand, HeadBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { S3StoreConfig } from '../src/tier2/s3-store.js';
import { freePort } from './free-port.js';

/**
 * The S3-compatible server of a test run: moto started by this harness, or the store named by
 * `AOF2_TEST_S3_ENDPOINT`. Gives store configs under a per-run prefix and, for moto, outage controls.
 */
export interface S3TestServer {
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  /** Key prefix of this run; `config(p)` puts every store under `<runPrefix>/<p>`. */
  readonly runPrefix: string;
  /** True when this harness runs moto itself; stop/start/pause/resume need it. */
  readonly controllable: boolean;
  /** Why stop/start/pause/resume are unavailable (for `t.skip`), or null. */
  readonly skipReason: string | null;
  /** Milliseconds from spawn to the first answer (moto only; 0 for an external endpoint). */
  readonly startupMs: number;
  /** Tier 2 options of a store under `<runPrefix>/<prefix>`. */
  config(prefix: string): S3StoreConfig;
  /** Kills the server (SIGKILL); it keeps nothing. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty except for the bucket. */
  start(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections are accepted, nothing answers, state is kept. */
  pause(): void;
  /** Unfreezes it (SIGCONT). */
  resume(): void;
  /** Empties the store: moto's reset API plus the bucket again, or deleting this run's objects. */
  reset(): Promise<void>;
  /** Stops moto, or deletes this run's objects from the external bucket. Idempotent. */
  close(): Promise<void>;
}

const ACCESS_KEY_ID = 'aof2-test';
const SECRET_ACCESS_KEY = 'aof2-test-secret';
const READY_TIMEOUT_MS = 20_000;

/** Runs moto's main() with a daemon thread that exits the process once its parent is gone. */
const MOTO_WATCHDOG = `
import os, sys, threading, time
parent = os.getppid()
def watch():
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
from moto.server import main
main(sys.argv[1:])
`;

/** One HTTP request without keep-alive (no socket outlives it); resolves the status code. */
function httpStatus(method: string, url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.once('error', reject);
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function uniqueRunPrefix(): string {
  return `aof2-test-${Date.now().toString(36)}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

function adminClient(endpoint: string, region: string, accessKeyId: string, secretAccessKey: string): S3Client {
  return new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 3000, socketTimeout: 10_000 },
  });
}

/** Deletes every object under `prefix/` (1,000 per request). */
async function deleteUnder(client: S3Client, bucket: string, prefix: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/` }));
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
    if (keys.length === 0) return;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}

/** Starts moto (or adopts `AOF2_TEST_S3_ENDPOINT`) and returns its handle. */
export async function startS3Server(): Promise<S3TestServer> {
  const external = process.env['AOF2_TEST_S3_ENDPOINT'];
  return external !== undefined && external !== '' ? adoptExternal(external) : MotoServer.launch();
}

async function adoptExternal(endpoint: string): Promise<S3TestServer> {
  const env = (name: string, fallback: string): string => process.env[name] || fallback;
  const bucket = env('AOF2_TEST_S3_BUCKET', 'aof2-test');
  const region = env('AOF2_TEST_S3_REGION', 'us-east-1');
  const accessKeyId = env('AOF2_TEST_S3_ACCESS_KEY_ID', ACCESS_KEY_ID);
  const secretAccessKey = env('AOF2_TEST_S3_SECRET_ACCESS_KEY', SECRET_ACCESS_KEY);
  const client = adminClient(endpoint, region, accessKeyId, secretAccessKey);
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    client.destroy();
    throw new Error(`AOF2_TEST_S3_ENDPOINT=${endpoint}: bucket ${bucket} is not usable (${(err as Error).name})`, { cause: err });
  }
  const runPrefix = uniqueRunPrefix();
  const skipReason = `needs a server this test can stop; AOF2_TEST_S3_ENDPOINT=${endpoint} is external`;
  const refuse = (): never => {
    throw new Error(skipReason);
  };
  let closed = false;
  return {
    endpoint,
    bucket,
    region,
    runPrefix,
    controllable: false,
    skipReason,
    startupMs: 0,
    config: (prefix) => ({
      kind: 's3',
      bucket,
      prefix: `${runPrefix}/${prefix}`,
      endpoint,
      region,
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
    }),
    stop: async () => refuse(),
    start: async () => refuse(),
    pause: refuse,
    resume: refuse,
    reset: () => deleteUnder(client, bucket, runPrefix),
    close: async () => {
      if (closed) return;
      closed = true;
      try {
        await deleteUnder(client, bucket, runPrefix);
      } finally {
        client.destroy();
      }
    },
  };
}

class MotoServer implements S3TestServer {
  readonly bucket = 'aof2-test';
  readonly region = 'us-east-1';
  readonly runPrefix = uniqueRunPrefix();
  readonly controllable = true;
  readonly skipReason = null;
  readonly endpoint: string;
  startupMs = 0;
  readonly #port: number;
  #child: ChildProcess | null = null;
  #stderrTail = '';
  readonly #killOnExit = (): void => {
    // SIGKILL also ends a SIGSTOPped process; 'exit' hooks must be synchronous, kill() is.
    this.#child?.kill('SIGKILL');
  };

  private constructor(port: number) {
    this.#port = port;
    this.endpoint = `http://127.0.0.1:${port}`;
  }

  static async launch(): Promise<MotoServer> {
    const server = new MotoServer(await freePort());
    process.on('exit', server.#killOnExit);
    try {
      await server.start();
    } catch (err) {
      await server.close();
      throw err;
    }
    return server;
  }

  config(prefix: string): S3StoreConfig {
    return {
      kind: 's3',
      bucket: this.bucket,
      prefix: `${this.runPrefix}/${prefix}`,
      endpoint: this.endpoint,
      region: this.region,
      forcePathStyle: true,
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    };
  }

  async start(): Promise<void> {
    if (this.#child !== null) throw new Error('moto is already running');
    const started = performance.now();
    // AOF2_TEST_PYTHON: an interpreter that has moto when `python3` on PATH does not (.ci/run sets it).
    const child = spawn(process.env['AOF2_TEST_PYTHON'] ?? 'python3', ['-c', MOTO_WATCHDOG, '-H', '127.0.0.1', '-p', String(this.#port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.#child = child;
    this.#stderrTail = '';
    // Werkzeug logs every request to stderr: keep only a tail for error messages.
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#stderrTail = (this.#stderrTail + chunk).slice(-4096);
    });
    // Neither the child nor its pipe keeps the test process alive; the 'exit' hook kills the child.
    child.unref();
    (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
    let exited: string | null = null;
    child.once('exit', (code, signal) => {
      exited = `exited with ${code ?? signal}`;
      if (this.#child === child) this.#child = null;
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exited !== null) throw new Error(`moto ${exited} before answering on port ${this.#port}:\n${this.#stderrTail}`);
      try {
        await httpStatus('GET', `${this.endpoint}/moto-api/`, 1000);
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`moto did not answer on port ${this.#port} within ${READY_TIMEOUT_MS} ms:\n${this.#stderrTail}`);
        await sleep(25);
      }
    }
    this.startupMs = performance.now() - started;
    await this.#createBucket();
  }

  async #createBucket(): Promise<void> {
    const client = adminClient(this.endpoint, this.region, ACCESS_KEY_ID, SECRET_ACCESS_KEY);
    try {
      await client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } finally {
      client.destroy();
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    if (child.exitCode === null && child.signalCode === null) {
      // Ref'd again so the pending 'exit' keeps this process alive until the child is gone.
      child.ref();
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await gone;
    }
    this.#child = null;
  }

  pause(): void {
    if (this.#child === null) throw new Error('moto is not running');
    this.#child.kill('SIGSTOP');
  }

  resume(): void {
    if (this.#child === null) throw new Error('moto is not running');
    this.#child.kill('SIGCONT');
  }

  async reset(): Promise<void> {
    const status = await httpStatus('POST', `${this.endpoint}/moto-api/reset`, 5000);
    if (status !== 200) throw new Error(`moto reset answered HTTP ${status}`);
    await this.#createBucket();
  }

  async close(): Promise<void> {
    await this.stop();
    process.off('exit', this.#killOnExit);
  }
}
