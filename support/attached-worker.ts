/**
 * A worker thread that attaches to a manager of the main thread (`AofManager.attach(handle)`) and
 * reads one of its streams, checking every record (dense ids, the payload test/integration
 * worker-readers writes for that id). Posts `{ ok: true, count, ... }` or `{ ok: false, error }`.
 *
 * Modes (workerData.mode):
 * - `scan`: `nextSync()` from `from` up to `until` (WouldBlock: `await next()` instead);
 * - `next`: `await next()` from `from` up to `until`;
 * - `follow`: `log.follow({ from, durable })` up to `until` (each record checked against durableId);
 * - `wait-close`: `reader.next({ wait: true })` at the tail, reporting how the wait ended;
 * - `abort`: `follow({ signal })` at the tail, aborted after `abortAfterMs`, then the view closed;
 * - `refusals`: the writes and an unknown stream, reporting their error codes.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { AofError, AofManager, WouldBlockError, type LogRecord } from '../src/index.js';
import type { ShareHandle } from '../src/share/share-host.js';
import { recordOf } from './record-batches.js';
import { sameBytes } from './tmp.js';

export interface AttachedWorkerData {
  handle: ShareHandle;
  stream: string;
  mode: 'scan' | 'next' | 'follow' | 'wait-close' | 'abort' | 'refusals';
  from?: number;
  until?: number;
  durable?: boolean;
  abortAfterMs?: number;
}

function check(record: LogRecord, id: number): void {
  if (record.id !== id) throw new Error(`expected record ${id}, got ${record.id}`);
  if (!sameBytes(record.payload, recordOf(id))) throw new Error(`record ${id}: payload differs`);
}

async function run(data: AttachedWorkerData): Promise<Record<string, unknown>> {
  const manager = AofManager.attach(data.handle);
  try {
    if (data.mode === 'refusals') {
      const log = await manager.openStream(data.stream);
      const codes: Record<string, string> = {};
      const codeOf = async (fn: () => unknown): Promise<string> => {
        try {
          await fn();
          return 'none';
        } catch (err) {
          return err instanceof AofError ? err.code : String(err);
        }
      };
      codes['appendSync'] = await codeOf(() => log.appendSync(new Uint8Array(1)));
      codes['append'] = await codeOf(() => log.append(new Uint8Array(1)));
      codes['appendBatch'] = await codeOf(() => log.appendBatch([new Uint8Array(1)]));
      codes['flush'] = await codeOf(() => log.flush());
      codes['settle'] = await codeOf(() => manager.settle());
      codes['unknownStream'] = await codeOf(() => manager.openStream('no-such-stream'));
      codes['badName'] = await codeOf(() => manager.openStream('bad name'));
      const stats = manager.stats();
      return { codes, streams: await manager.listStreams(), statsStreams: stats.streams, nextId: log.nextId };
    }
    const log = await manager.openStream(data.stream);
    const from = data.from ?? 0;
    const until = data.until ?? log.nextId;
    if (data.mode === 'scan' || data.mode === 'next') {
      const reader = log.openReader({ from });
      let wouldBlock = 0;
      for (let id = from; id < until; id++) {
        let record: LogRecord | null = null;
        if (data.mode === 'scan') {
          try {
            record = reader.nextSync();
          } catch (err) {
            if (!(err instanceof WouldBlockError)) throw err;
            wouldBlock++;
            record = await reader.next();
          }
        } else {
          record = await reader.next();
        }
        if (record === null) throw new Error(`record ${id}: null before ${until}`);
        check(record, id);
      }
      reader.close();
      return { count: until - from, wouldBlock };
    }
    if (data.mode === 'follow') {
      let id = from;
      let notDurable = 0;
      for await (const record of log.follow({ from, durable: data.durable === true })) {
        check(record, id);
        if (data.durable === true && record.id > log.durableId) notDurable++;
        if (id === from) parentPort!.postMessage({ reading: true });
        id++;
        if (id >= until) break;
      }
      return { count: id - from, notDurable };
    }
    if (data.mode === 'wait-close') {
      const reader = log.openReader({ from: log.nextId });
      parentPort!.postMessage({ waiting: true });
      try {
        const record = await reader.next({ wait: true });
        return { ended: 'record', id: record?.id };
      } catch (err) {
        return { ended: err instanceof AofError ? err.code : String(err) };
      }
    }
    // abort
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('enough')), data.abortAfterMs ?? 50);
    try {
      for await (const record of log.follow({ from: log.nextId, signal: controller.signal })) void record;
      return { ended: 'done' };
    } catch (err) {
      return { ended: (err as Error).name };
    }
  } finally {
    await manager.close();
  }
}

// The test imports this module's types; only a worker runs it.
if (!isMainThread) {
  run(workerData as AttachedWorkerData).then(
    (result) => parentPort!.postMessage({ ok: true, ...result }),
    (err: unknown) => parentPort!.postMessage({ ok: false, error: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err) }),
  );
}
