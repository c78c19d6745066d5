/**
 * A TCP proxy on loopback that can slow a connection down: every chunk, in either direction, is
 * forwarded `delayMs` after it arrived (order kept per direction), so an object store behind it
 * answers late without being changed. `delayMs = 0` forwards at once. Used by the `outage`
 * scenario in front of moto; built on node:net only.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface LatencyProxy {
  readonly endpoint: string;
  /** Added latency per chunk (ms); change it at any time. */
  delayMs: number;
  readonly stats: { connections: number; chunks: number; delayedChunks: number };
  close(): Promise<void>;
}

/** Forwards `from` to `to`, holding each chunk `proxy.delayMs` (in order); back-pressure kept. */
function pipeDelayed(from: Socket, to: Socket, proxy: LatencyProxy): void {
  let releaseAt = 0;
  from.on('data', (chunk: Buffer) => {
    proxy.stats.chunks++;
    const delay = proxy.delayMs;
    if (delay <= 0 && releaseAt <= Date.now()) {
      if (!to.write(chunk)) from.pause();
      return;
    }
    proxy.stats.delayedChunks++;
    // Never earlier than a chunk already scheduled: the byte stream must stay in order.
    releaseAt = Math.max(Date.now() + delay, releaseAt);
    setTimeout(() => {
      if (!to.destroyed && !to.write(chunk)) from.pause();
    }, releaseAt - Date.now());
  });
  to.on('drain', () => from.resume());
  from.on('end', () => setTimeout(() => to.end(), Math.max(0, releaseAt - Date.now())));
}

export async function startLatencyProxy(targetHost: string, targetPort: number): Promise<LatencyProxy> {
  const sockets = new Set<Socket>();
  const proxy: LatencyProxy = {
    endpoint: '',
    delayMs: 0,
    stats: { connections: 0, chunks: 0, delayedChunks: 0 },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
  const server: Server = createServer((client) => {
    proxy.stats.connections++;
    const upstream = connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    const done = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', done);
    upstream.on('error', done);
    client.on('close', done);
    upstream.on('close', done);
    pipeDelayed(client, upstream, proxy);
    pipeDelayed(upstream, client, proxy);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  (proxy as { endpoint: string }).endpoint = `http://127.0.0.1:${port}`;
  return proxy;
}
