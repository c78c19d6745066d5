/**
 * A loopback port nothing listens on right now, for a server a test or benchmark starts as a child
 * process (moto, redis-server). Bind to 0, read the port, close: another process could take it in
 * between, so a caller whose server fails to bind retries with a new one.
 */
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
