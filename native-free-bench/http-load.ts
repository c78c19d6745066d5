/**
 * The load generator of the http-audit suite, run as a child process so it does not share the
 * server's event loop (nor count in its process CPU): autocannon against one URL, keep-alive
 * connections, one request in flight per connection. Argument: a JSON `HttpLoadSpec`. Prints one
 * JSON `HttpLoadResult` on stdout: autocannon's totals and the latency of every 2xx response in
 * µs (from its `response` events), so the parent can put them in its own HDR histogram.
 */
import autocannon from 'autocannon';

export interface HttpLoadSpec {
  url: string;
  connections: number;
  durationSec: number;
}

export interface HttpLoadResult {
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationSec: number;
  latenciesUs: number[];
}

const spec = JSON.parse(process.argv[2] ?? '{}') as HttpLoadSpec;
const latenciesUs: number[] = [];
const instance = autocannon({ url: spec.url, connections: spec.connections, duration: spec.durationSec, pipelining: 1 }, (err: unknown, result: autocannon.Result) => {
  if (err !== null && err !== undefined) {
    process.stderr.write(`autocannon failed: ${String(err)}\n`);
    process.exitCode = 1;
    return;
  }
  const out: HttpLoadResult = {
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationSec: result.duration,
    latenciesUs,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
});
instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
  if (statusCode >= 200 && statusCode < 300) latenciesUs.push(Math.round(responseTimeMs * 1000));
});
