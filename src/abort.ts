/**
 * AbortSignal support for aof2's waits (`append`, `appendBatch`, `flush`, `reader.next`,
 * `log.follow`), with Node's own semantics: an aborted wait rejects with an `AbortError` (`name`
 * 'AbortError', `code` 'ABORT_ERR', message 'The operation was aborted') whose `cause` is
 * `signal.reason`, as `events.once`, `timers/promises` and `stream.finished` do, rather than
 * `signal.reason` itself (which `fetch` throws): callers test `err.name === 'AbortError'` whatever
 * the reason was, and find the reason in `cause`.
 *
 * Every listener added here is removed when its wait settles either way, so a long-lived signal
 * shared by many calls (a request's, a server's shutdown signal) collects none.
 */

/** Node's AbortError shape (its class is internal to Node): name, code and message as Node's. */
class AbortError extends Error {
  readonly code = 'ABORT_ERR';

  constructor(cause: unknown) {
    super('The operation was aborted', { cause });
    this.name = 'AbortError';
  }
}

/** The error an aborted wait rejects with: Node's `AbortError`, `cause` = `signal.reason`. */
export function abortError(signal: AbortSignal): Error {
  return new AbortError(signal.reason);
}

/**
 * `promise`, or a rejection with {@link abortError} as soon as `signal` aborts (at once if it has).
 * The abort listener is removed when `promise` settles first. What `promise` stands for goes on:
 * abort only stops waiting for it.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
