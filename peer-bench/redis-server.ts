/**
 * The redis-server the Redis Streams peer runs against: Debian's `redis-server` binary, started by
 * the benchmark as a child process on a free loopback port, and stopped by it. No Redis is assumed
 * to be running, and none that is running is used.
 *
 * - Found as `$AOF2_REDIS_SERVER`, else `redis-server` on PATH or in /usr/bin, /usr/sbin,
 *   /usr/local/bin. Missing: {@link findRedisServer} returns null and the suite is skipped with
 *   {@link REDIS_INSTALL_HINT} (docs/decisions.md, "The Redis Streams peer").
 * - Started with no configuration file, so the machine's /etc/redis/redis.conf plays no part:
 *   `--bind 127.0.0.1 --port <free>`, RDB snapshots off (`--save ''`: a fork during a window would
 *   be Redis's background save, not the stream path), and the persistence of {@link RedisPersistence}.
 * - Ready when it answers PING with PONG (not while it says LOADING).
 * - Stopped by SIGTERM (Redis shuts down cleanly, its AOF fsync'd), SIGKILL after 5 s. Besides
 *   `stop()` in the suite's `finally`, a server dies with the process that started it: SIGKILL from
 *   an 'exit' hook, SIGINT/SIGTERM handlers that kill it and then let the signal take its course,
 *   and where util-linux's `setpriv` exists (Debian's base system) a parent-death signal, so even a
 *   SIGKILLed benchmark leaves no redis-server behind.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/free-port.js';

/** What to run when redis-server is missing: it comes from Debian's package of the same name. */
export const REDIS_INSTALL_HINT = 'apt-get install -y redis-server (as root; Debian package redis-server)';

/**
 * How the server keeps the stream.
 * - `none`: in memory only (`--appendonly no`): lost with the process.
 * - `aof-everysec`: `--appendonly yes --appendfsync everysec`: each write goes to the AOF file
 *   before the reply, fsync'd once a second in the background. Redis's own "durable enough" setting,
 *   and the counterpart of aof2's default `fsync: 'interval'` (`fsyncIntervalMs: 1000`).
 */
export type RedisPersistence = 'none' | 'aof-everysec';

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
/** Binding a port someone took between freePort() and the server's bind: try a new one. */
const PORT_ATTEMPTS = 3;
const SEARCH_DIRS = ['/usr/bin', '/usr/sbin', '/usr/local/bin'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The path of an executable named `name` on PATH or in `extra`, or null. */
function which(name: string, extra: readonly string[] = []): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== ''), ...extra];
  for (const dir of dirs) {
    const path = join(dir, name);
    if (executable(path)) return path;
  }
  return null;
}

/** The redis-server binary to start: `$AOF2_REDIS_SERVER` (must be executable), else the search above; null if none. */
export function findRedisServer(): string | null {
  const override = process.env['AOF2_REDIS_SERVER'];
  if (override !== undefined && override !== '') return executable(override) ? override : null;
  return which('redis-server', SEARCH_DIRS);
}

/** `redis-server --version`'s version (`7.0.15`), or its whole first line if the format is new. */
export async function redisServerVersion(binary: string): Promise<string> {
  const { stdout } = await promisify(execFile)(binary, ['--version'], { timeout: 10_000 });
  const line = stdout.split('\n')[0] ?? '';
  return /\bv=(\S+)/.exec(line)?.[1] ?? line.trim();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One PING on a fresh connection: true on PONG, false on anything else (refused, LOADING, timeout). */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/** Servers still running, killed by the process hooks below if the process goes first. */
const running = new Set<ChildProcess>();

function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** SIGINT/SIGTERM: kill the servers, then re-raise with our handler gone (the default ends the process). */
function onSignal(signal: NodeJS.Signals): void {
  killAll();
  removeHooks();
  process.kill(process.pid, signal);
}

let hooked = false;
function addHooks(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function removeHooks(): void {
  if (!hooked) return;
  hooked = false;
  process.off('exit', killAll);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

/** A redis-server child process listening on 127.0.0.1:`port`. */
export class RedisServer {
  readonly port: number;
  readonly persistence: RedisPersistence;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;

  private constructor(port: number, persistence: RedisPersistence, child: ChildProcess, exited: Promise<void>) {
    this.port = port;
    this.persistence = persistence;
    this.#child = child;
    this.#exited = exited;
  }

  /**
   * Starts `binary` with `persistence`, its files (the AOF) under `dir`, and resolves once it
   * answers PING. Rejects with the server's own output when it exits or stays silent.
   */
  static async start(binary: string, persistence: RedisPersistence, dir: string): Promise<RedisServer> {
    let lastError: Error | null = null;
    for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
      try {
        return await RedisServer.#startOn(binary, persistence, dir, await freePort());
      } catch (err) {
        lastError = err as Error;
        if (!/address already in use/i.test(lastError.message)) throw lastError;
      }
    }
    throw lastError!;
  }

  static async #startOn(binary: string, persistence: RedisPersistence, dir: string, port: number): Promise<RedisServer> {
    const args = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--protected-mode', 'yes',
      '--daemonize', 'no',
      '--dir', dir,
      '--save', '',
      ...(persistence === 'none' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'everysec']),
      // Warnings only, on stdout: its start-up banner and notices would just fill the pipe.
      '--logfile', '',
      '--loglevel', 'warning',
    ];
    const setpriv = which('setpriv', SEARCH_DIRS);
    // setpriv execs redis-server in the same process with PR_SET_PDEATHSIG set: the kernel kills it
    // when this process dies, however it dies.
    const [command, argv] = setpriv === null ? [binary, args] : [setpriv, ['--pdeathsig', 'SIGKILL', '--', binary, ...args]];
    addHooks();
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let output = '';
    const keep = (chunk: string): void => {
      output = (output + chunk).slice(-4096);
    };
    child.stdout!.setEncoding('utf8').on('data', keep);
    child.stderr!.setEncoding('utf8').on('data', keep);
    let exitedWith: string | null = null;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exitedWith = `exited with ${code ?? signal}`;
        running.delete(child);
        if (running.size === 0) removeHooks();
        resolve();
      });
    });
    let spawnError: Error | null = null;
    child.once('error', (err) => {
      // Not started at all (ENOENT, EACCES): no 'exit' follows.
      spawnError = err;
      running.delete(child);
      if (running.size === 0) removeHooks();
    });
    const server = new RedisServer(port, persistence, child, exited);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (spawnError !== null) throw new Error(`could not start ${command}: ${(spawnError as Error).message}`);
      if (exitedWith !== null) throw new Error(`redis-server ${exitedWith} before answering on port ${port}: ${output.trim()}`);
      if (await pings(port)) return server;
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`redis-server did not answer PING on port ${port} within ${READY_TIMEOUT_MS} ms: ${output.trim()}`);
      }
      await sleep(20);
    }
  }

  /** SIGTERM (a clean shutdown), SIGKILL after {@link STOP_GRACE_MS}; resolves once it has exited. Idempotent. */
  async stop(): Promise<void> {
    const child = this.#child;
    // No pid: it never started (its 'error' was reported by start()).
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    try {
      await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
