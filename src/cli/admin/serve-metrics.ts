/**
 * `aof2-admin serve-metrics <root>`: opens the engine on the root and serves its prom-client
 * registry at `/metrics` with the package's `serveMetrics`, bound to 127.0.0.1 unless `--host` says otherwise
 * (metrics name streams and sizes: not for the open internet by default). For a root no
 * application has open (a stand-by, a restored copy); an application serves its own manager's
 * registry instead. Refuses with exit 3 while another process holds the root lock. Stops on
 * SIGINT/SIGTERM, closing the engine cleanly.
 */
import { readFile } from 'node:fs/promises';
import type { AofManagerOptions } from '../../config.js';
import { AofError } from '../../errors.js';
import { AofManager } from '../../aof-manager.js';
import { serveMetrics, type MetricsServer } from '../../metrics/serve-metrics.js';
import { AdminExit, ExitCode, type ExitCodeValue } from './exit-codes.js';
import { printJson, type Io } from './output.js';
import { checkRoot } from './check-root.js';

export interface ServeMetricsOptions {
  json?: boolean;
  port?: string;
  host?: string;
  /** JSON file of AofManagerOptions (its `root` is ignored): the configuration the root is used with. */
  config?: string;
  /** Open every stream, so per-stream recovery and residency are in the figures. */
  openStreams?: boolean;
}

/** Port 9464: the port registered for Prometheus exporters of OpenTelemetry, a common default. */
export const DEFAULT_METRICS_PORT = 9464;

function parsePort(port: string | undefined): number {
  if (port === undefined) return DEFAULT_METRICS_PORT;
  const n = Number(port);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new AdminExit(ExitCode.USAGE, `--port must be an integer in [0, 65535], got ${port}`);
  return n;
}

async function loadConfig(path: string | undefined, root: string): Promise<AofManagerOptions> {
  if (path === undefined) return { root };
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new AdminExit(ExitCode.USAGE, `--config ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new AdminExit(ExitCode.USAGE, `--config ${path} must hold a JSON object of AofManager options`);
  return { ...(parsed as Omit<AofManagerOptions, 'root'>), root };
}

/**
 * Serves metrics until SIGINT/SIGTERM; resolves to 0 once the engine is closed.
 * @throws AdminExit (exit 2 bad --port/--config, exit 4 address in use or not a root); AOF_ERR_LOCKED (exit 3)
 */
export async function runServeMetrics(root: string, options: ServeMetricsOptions, io: Io): Promise<ExitCodeValue> {
  const port = parsePort(options.port);
  const host = options.host ?? '127.0.0.1';
  await checkRoot(root);
  const config = await loadConfig(options.config, root);
  const manager = await AofManager.open(config);
  let streams: string[] = [];
  let server: MetricsServer;
  try {
    if (options.openStreams === true) {
      streams = await manager.listStreams();
      for (const name of streams) await manager.openStream(name);
    }
    server = await serveMetrics(manager.registry, { port, host });
  } catch (err) {
    await manager.close();
    const cause = err instanceof AofError ? (err.cause as NodeJS.ErrnoException | undefined) : undefined;
    if (cause?.code === 'EADDRINUSE') throw new AdminExit(ExitCode.UNAVAILABLE, `cannot listen on ${host}:${port}: address in use`);
    throw err;
  }
  const url = server.url;
  const bound = Number(new URL(url).port);
  if (options.json === true) printJson(io, { url, host, port: bound, streams });
  else io.out.write(`serving metrics of ${root} at ${url} (${streams.length} stream(s) open); Ctrl-C to stop\n`);

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  await manager.close();
  if (options.json !== true) io.out.write('stopped\n');
  return ExitCode.OK;
}
