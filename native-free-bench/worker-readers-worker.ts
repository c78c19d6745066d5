/**
 * The worker thread of the worker-readers suite (native-free-bench/worker-readers.ts; not a suite
 * itself). `workerData` is the owner's `manager.shareHandle()`: the worker attaches
 * (`AofManager.attach`), posts `ready`, then answers the suite's requests (worker-readers-work.ts
 * has the messages):
 *
 * - `scan`: opens the stream (once; before its clock starts), runs the same clocked scan as the
 *   main thread (`timedScan`) and posts its figures and histogram;
 * - `follow`: opens the stream, brings the view's ids up to the owner's (`refresh()`), runs
 *   `timedFollow` until `count` records or a `stop`, posting `following` once it waits for the
 *   first record (the suite's writer starts then);
 * - `close`: closes the view (every reader released: nothing left pinned in the owner's arena),
 *   posts `closed` and lets the thread end.
 *
 * It loads what the main thread's suites load (the engine's JS, hdr-histogram-js's pure JS build,
 * tinybench through shared.ts): no native addon (the runner's /proc/self/maps check covers this
 * thread too).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AofManager, type AofLog } from '../src/index.js';
import { LatencyHistogram } from './shared.js';
import { timedFollow, timedScan, type FromWorker, type ToWorker } from './worker-readers-work.js';

const port = parentPort!;
const manager = AofManager.attach(workerData);
const logs = new Map<string, AofLog>();
let following: AbortController | null = null;

async function openLog(name: string): Promise<AofLog> {
  let log = logs.get(name);
  if (log === undefined) {
    log = await manager.openStream(name);
    logs.set(name, log);
  }
  return log;
}

function post(message: FromWorker): void {
  port.postMessage(message);
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.kind) {
    case 'scan': {
      const log = await openLog(message.stream);
      const histogram = new LatencyHistogram('nextSync() (batch mean)');
      const figures = timedScan(log, message.size, histogram);
      post({ kind: 'scanned', figures, histogram: histogram.encode() });
      return;
    }
    case 'follow': {
      const log = await openLog(message.stream);
      await manager.refresh();
      const histogram = new LatencyHistogram('record (append to read)');
      following = new AbortController();
      const signal = following.signal;
      const figures = await timedFollow(log, message.from, message.count, message.size, histogram, signal, () => post({ kind: 'following' }));
      following = null;
      post({ kind: 'followed', figures, histogram: histogram.encode() });
      return;
    }
    case 'stop':
      following?.abort(new Error('the follow window is over'));
      return;
    case 'close':
      await manager.close();
      post({ kind: 'closed' });
      port.close();
      return;
  }
}

port.on('message', (message: ToWorker) => {
  handle(message).catch((err: unknown) => post({ kind: 'error', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
});
post({ kind: 'ready' });
