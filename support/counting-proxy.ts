/**
 * An HTTP proxy in front of an S3-compatible server that logs every request: the engine is pointed
 * at the proxy (`tier2.endpoint`), every request from any thread (the main thread's store, the
 * upload and hydrate workers' own S3 clients) passes through it, and a test asserts how many
 * requests an operation cost and which byte ranges they asked for. The bytes themselves are
 * forwarded untouched, both ways.
 *
 * Plain HTTP to a plain-HTTP server only (moto on loopback): the `Host` header is forwarded as the
 * client signed it, which a real S3 endpoint (TLS, its own host name) would refuse. Tests skip it
 * against `AOF2_TEST_S3_ENDPOINT`.
 */
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** One request as the proxy saw it. */
export interface ProxiedRequest {
  method: string;
  /** The URL path, decoded, without the query: `/<bucket>/<key>` (path-style addressing). */
  path: string;
  /** The `Range` header (`bytes=a-b`), or null for a whole object or a non-GET. */
  range: string | null;
}

export class CountingProxy {
  readonly endpoint: string;
  readonly #server: Server;
  readonly #agent: Agent;
  readonly #log: ProxiedRequest[];

  private constructor(server: Server, agent: Agent, port: number, log: ProxiedRequest[]) {
    this.#server = server;
    this.#agent = agent;
    this.#log = log;
    this.endpoint = `http://127.0.0.1:${port}`;
  }

  /** Starts a proxy on a free loopback port, forwarding to `target` (`http://host:port`). */
  static async start(target: string): Promise<CountingProxy> {
    const upstream = new URL(target);
    if (upstream.protocol !== 'http:') throw new Error(`CountingProxy forwards to plain HTTP only, not ${target}`);
    const agent = new Agent({ keepAlive: true });
    const log: ProxiedRequest[] = [];
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://proxy');
      const range = req.headers.range;
      log.push({ method: req.method ?? '', path: decodeURIComponent(url.pathname), range: typeof range === 'string' ? range : null });
      const forward = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.once('error', (err) => {
        if (!res.headersSent) res.writeHead(502);
        res.end(String(err));
      });
      req.pipe(forward);
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const addr = server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : 0);
      });
    });
    return new CountingProxy(server, agent, port, log);
  }

  /** A position in the log: {@link since} returns what came after it. */
  mark(): number {
    return this.#log.length;
  }

  /** Requests seen after `mark`, in arrival order (copies). */
  since(mark: number): ProxiedRequest[] {
    return this.#log.slice(mark).map((r) => ({ ...r }));
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#agent.destroy();
  }
}
