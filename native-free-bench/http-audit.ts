/**
 * http-audit: a tiny node:http service that appends one audit event (~180 B JSON, events.ts) per
 * request, against the same service without the log, in the same run (issue #12, "cheap at low
 * rates": an HTTP service keeps at least 0.9x of its requests per second).
 *
 * The service answers every request with a 16-byte JSON body; with the log, the handler first
 * appends the request's event (`appendSync`; on WouldBlock `await append()` of it, then answers),
 * on a manager at `{ root }` plus the variant's tier options, so durability is the default
 * (fsync 'interval'). The event bytes come from a pool built before the run, so neither side pays
 * JSON.stringify and the difference is aof2's.
 *
 * Load: autocannon (20 keep-alive connections, one request in flight each) in a child process
 * (http-load.ts), so it does not share the server's event loop; both sides are driven the same way
 * on the same two cores. Rounds alternate: the service without the log, then with it per variant.
 * Reported: requests/s (2xx responses over autocannon's duration), the latency of every response,
 * and the server process's CPU per request (`process.cpuUsage()`, every thread of this process:
 * aof2's workers count, the load generator does not).
 *
 * Each manager serves two windows back to back: the first right after `open()` carries its
 * one-time costs (the new flush worker's code compiling, the arena's background prefault running
 * beside the loaded server on the same two cores), the second is the steady state. The ratio and
 * its target are the steady state's; the first window's requests/s is reported beside it
 * ("including start-up"), with the arena MiB still to prefault when it began.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { AofManager, WouldBlockError, type AofLog, type AofManagerOptions } from '../src/index.js';
import { JsonEvents } from './events.js';
import { tempRoot, TIERS_OFF, variantCase, verifyEvents, type TierVariant } from './fixtures.js';
import type { HttpLoadResult, HttpLoadSpec } from './http-load.js';
import { atLeast, LatencyHistogram, measured, pairTwins, ratioResult, verification, type BenchResult, type Suite, type SuiteOptions, type Verification, summedVerifications } from './shared.js';

const CONNECTIONS = 20;
const STREAM = 'audit';
const SEED = 8080;
const BODY = Buffer.from('{"ok":true,"n":1}');
const LOAD_SCRIPT = fileURLToPath(new URL('./http-load.js', import.meta.url));
/** A load run that has not printed its result this long after its duration has hung. */
const LOAD_GRACE_MS = 30_000;

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Runs the load generator for `durationSec` against `url`; resolves with its result. */
function runLoad(url: string, durationSec: number): Promise<HttpLoadResult> {
  const spec: HttpLoadSpec = { url, connections: CONNECTIONS, durationSec };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD_SCRIPT, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), durationSec * 1000 + LOAD_GRACE_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`load generator exited with ${code}: ${stderr.trim()}`);
        resolve(JSON.parse(stdout) as HttpLoadResult);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

interface Served {
  requests: number;
}

/** Starts the service on a free loopback port; `log` null is the service without the audit log. */
async function startServer(log: AofLog | null, events: JsonEvents, served: Served): Promise<{ url: string; close: () => Promise<void> }> {
  const answer = (res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
    res.end(BODY);
  };
  const handler =
    log === null
      ? (_req: IncomingMessage, res: ServerResponse): void => {
          served.requests++;
          answer(res);
        }
      : (_req: IncomingMessage, res: ServerResponse): void => {
          const payload = events.payload(served.requests++);
          try {
            log.appendSync(payload);
          } catch (err) {
            if (!(err instanceof WouldBlockError)) throw err;
            log.append(payload).then(
              () => answer(res),
              () => {
                res.writeHead(500).end();
              },
            );
            return;
          }
          answer(res);
        };
  const server = createServer({ keepAlive: true }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/audit`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Side {
  name: string;
  histogram: LatencyHistogram;
  ok: number;
  seconds: number;
  cpuUs: number;
  served: number;
  failures: number;
}

function newSide(name: string): Side {
  return { name, histogram: new LatencyHistogram('request (each, client side)'), ok: 0, seconds: 0, cpuUs: 0, served: 0, failures: 0 };
}

/** One window of load against a running service, recorded into `side` (null: warmup). */
async function window(url: string, durationSec: number, served: Served, side: Side | null): Promise<void> {
  const before = served.requests;
  const cpu0 = cpuMicros();
  const r = await runLoad(url, durationSec);
  const cpuUs = cpuMicros() - cpu0;
  if (side === null) return;
  for (const us of r.latenciesUs) side.histogram.record(us * 1000);
  side.ok += r.ok;
  side.seconds += r.durationSec;
  side.cpuUs += cpuUs;
  side.served += served.requests - before;
  side.failures += r.non2xx + r.errors + r.timeouts;
}

interface LogSide extends Side {
  variant: TierVariant;
  verified: Verification[][];
  /** The first window after each open (start-up included), not in the ratio. */
  startup: Side;
  prefaultLeftMiB: number[];
}

/**
 * The service with the log: fresh root, manager open (untimed), a start-up window and a steady
 * window of load (both recorded when `record`), close, verify.
 */
async function logWindow(side: LogSide, events: JsonEvents, durationSec: number, record: boolean): Promise<void> {
  const { root, cleanup } = tempRoot('http-audit');
  try {
    const config: AofManagerOptions = { root, ...side.variant.options };
    const manager = await AofManager.open(config);
    let closed = false;
    try {
      const log = await manager.openStream(STREAM);
      const served: Served = { requests: 0 };
      const server = await startServer(log, events, served);
      try {
        const { doneBytes, totalBytes } = manager.stats().prefault;
        if (record) side.prefaultLeftMiB.push((totalBytes - doneBytes) / 2 ** 20);
        await window(server.url, durationSec, served, record ? side.startup : null);
        await window(server.url, durationSec, served, record ? side : null);
      } finally {
        await server.close();
      }
      const appended = log.nextId;
      await manager.close();
      closed = true;
      if (record) {
        side.verified.push([
          verification('subject', served.requests, appended, 'requests the service handled = records appended (nextId)'),
          ...(await verifyEvents(config, STREAM, appended, events, 100)),
        ]);
      }
    } finally {
      if (!closed) await manager.close().catch(() => undefined);
    }
  } finally {
    cleanup();
  }
}


function sideMeasurement(side: Side): ReturnType<typeof measured> {
  return measured(side.name, side.ok, side.seconds * 1e9, side.ok, side.histogram, {
    cpuUsPerRequest: side.cpuUs / Math.max(1, side.served),
    failedRequests: side.failures,
  });
}

/** The suite over `variants`: each round the service without the log, then with it per variant. */
export function httpAuditSuite(variants: readonly TierVariant[]): Suite {
  return {
    name: 'http-audit',
    description: `node:http service appending one ~180 B audit event per request vs the same service without the log (autocannon, ${CONNECTIONS} connections)`,
    async run(options: SuiteOptions): Promise<BenchResult[]> {
      const { seconds, rounds } = options.quick ? { seconds: 1, rounds: 1 } : { seconds: 5, rounds: 3 };
      const events = new JsonEvents(SEED);
      const suffix = (v: TierVariant): string => (variants.length > 1 ? `, ${v.label}` : '');
      const bare = newSide('service without the log');
      const sides: LogSide[] = variants.map((variant) => ({
        ...newSide(`service with the audit log${suffix(variant)}`),
        variant,
        verified: [],
        startup: newSide(`service with the audit log${suffix(variant)}, start-up window`),
        prefaultLeftMiB: [],
      }));
      const bareServed: Served = { requests: 0 };
      const bareServer = await startServer(null, events, bareServed);
      try {
        options.progress('http-audit: warmup');
        await window(bareServer.url, 1, bareServed, null);
        for (const side of sides) await logWindow(side, events, 1, false);
        for (let r = 0; r < rounds; r++) {
          options.progress(`http-audit: round ${r + 1}/${rounds}, ${seconds} s per side`);
          await window(bareServer.url, seconds, bareServed, bare);
          for (const side of sides) await logWindow(side, events, seconds, true);
        }
      } finally {
        await bareServer.close();
      }
      const baseline = sideMeasurement(bare);
      return pairTwins(
        sides.map((side) => {
          const subject = sideMeasurement(side);
          const result = ratioResult({
            suite: 'http-audit',
            case: variantCase(`1 audit event per request, ${CONNECTIONS} connections`, side.variant, variants),
            subject,
            baseline,
            ratioOf: 'requests/s (2xx)',
            targets: [],
            verified: summedVerifications(side.verified, 'windows'),
            tiers: side.variant.setting,
            notes: [
              `${rounds} window(s) of ${seconds} s per side (autocannon in a child process); server process CPU per request ` +
                `${subject.extra['cpuUsPerRequest']!.toFixed(1)} µs with the log, ${baseline.extra['cpuUsPerRequest']!.toFixed(1)} µs without; ` +
                `failed requests ${subject.extra['failedRequests']} / ${baseline.extra['failedRequests']}`,
              `including start-up (the first ${seconds} s window after each open, not in the ratio): ` +
                `${(side.startup.ok / Math.max(1e-9, side.startup.seconds)).toFixed(0)} req/s, ` +
                `${((side.startup.ok / Math.max(1e-9, side.startup.seconds)) / (bare.ok / Math.max(1e-9, bare.seconds))).toFixed(2)}x of the service without the log; ` +
                `arena MiB left to prefault at its start: ${side.prefaultLeftMiB.map((m) => m.toFixed(0)).join(', ')}`,
            ],
          });
          result.targets.push(atLeast('ratio', 0.9, result.ratio));
          return result;
        }),
      );
    },
  };
}

/** native-free-bench's suite: tiers off. */
export const httpAudit: Suite = httpAuditSuite([TIERS_OFF]);
