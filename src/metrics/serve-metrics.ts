/**
 * `serveMetrics(registry)`: a minimal node:http endpoint for Prometheus. `GET /metrics` renders
 * the registry (prom-client reads the engine's counters at that moment); anything else is 404,
 * another method 405. Bound to 127.0.0.1 unless `host` says otherwise: metrics name streams and
 * paths, and exposing them beyond the machine is a decision to make on purpose.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { AofError } from '../errors.js';

/** Options of `serveMetrics(registry, options)`. */
export interface ServeMetricsOptions {
  /** TCP port; 0 (default) picks a free one (read it from `url`). */
  port?: number;
  /** Interface to bind (default 127.0.0.1). `0.0.0.0` or `::` exposes the endpoint to the network. */
  host?: string;
}

/** The HTTP server `serveMetrics()` started. */
export interface MetricsServer {
  /** `http://host:port/metrics`. */
  url: string;
  /** Stops accepting connections and closes idle ones; resolves once the server is closed. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves `registry` at `GET /metrics`.
 * @throws (rejects) AOF_ERR_INVALID_ARGUMENT on a bad port; AOF_ERR_IO when the port cannot be bound
 */
export async function serveMetrics(registry: Registry, options: ServeMetricsOptions = {}): Promise<MetricsServer> {
  const port = options.port ?? 0;
  const host = options.host ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw AofError.invalidArgument(`port must be an integer in 0..65535, got ${String(port)}`, { port });
  if (typeof host !== 'string' || host.length === 0) throw AofError.invalidArgument('host must be a non-empty string', { host });
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(AofError.io('listen', `${host}:${port}`, err)));
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${shownHost}:${address.port}/metrics`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
