/**
 * Errors across a piscina task boundary.
 *
 * Piscina posts whatever a task throws through structured clone, which keeps an Error's message
 * and stack but drops its class and own fields (`code`, `details`): an AofError thrown in a worker
 * arrives as a plain `Error` (checked in test/integration/worker-error.test.ts). So the task modules
 * (workers/compress.ts, workers/hydrate.ts) catch at their entry and throw the plain
 * `SerializedAofError` object `{ code, message, stack, details }` instead, which clones intact,
 * and the main thread rebuilds it with {@link fromWorkerRejection} (→ `AofError.deserialize`).
 * A worker that dies (a crash failpoint, an uncaught exception) rejects with piscina's own Error;
 * that becomes AOF_ERR_WORKER_FAILED with the piscina error as `cause`.
 */
import { AofError, ErrorCode, type SerializedAofError } from './errors.js';

/** True for the plain object a task module throws (see the module comment). */
export function isSerializedAofError(x: unknown): x is SerializedAofError {
  if (typeof x !== 'object' || x === null || x instanceof Error) return false;
  const o = x as Record<string, unknown>;
  return typeof o['code'] === 'string' && typeof o['message'] === 'string';
}

/**
 * Worker side: flattens anything a task threw into the plain shape that survives the trip. An
 * `AofError` keeps its code; a Node fs error becomes AOF_ERR_IO (`context` names the action and
 * path; the fs error's errno fields travel as `cause` and are rebuilt on the main thread); anything
 * else becomes AOF_ERR_WORKER_FAILED.
 */
export function toWorkerError(err: unknown, context: { action: string; path: string }): SerializedAofError {
  if (err instanceof AofError) return err.serialize();
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof errno === 'string' && errno.startsWith('E')) return AofError.io(context.action, context.path, err).serialize();
  const message = err instanceof Error ? err.message : String(err);
  const wrapped = new AofError(ErrorCode.WORKER_FAILED, `${context.action} failed for ${context.path}: ${message}`, {
    details: { path: context.path },
  });
  if (err instanceof Error && err.stack !== undefined) wrapped.stack = err.stack;
  return wrapped.serialize();
}

/**
 * Main side: the AofError for a rejected piscina task. A serialized AofError is rebuilt (code,
 * message, details and the worker's stack kept); an AofError (a task run in-thread) is returned as
 * is; anything else (worker exited, pool destroyed, queue full) is AOF_ERR_WORKER_FAILED with the
 * original as `cause`.
 */
export function fromWorkerRejection(reason: unknown): AofError {
  if (reason instanceof AofError) return reason;
  if (isSerializedAofError(reason)) return AofError.deserialize(reason);
  const message = reason instanceof Error ? reason.message : String(reason);
  return new AofError(ErrorCode.WORKER_FAILED, `worker task failed: ${message}`, { cause: reason });
}
