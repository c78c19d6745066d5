/**
 * Live handles (AofManager, AofLog, AofReader) refuse structured clone — `structuredClone`,
 * `postMessage`, `workerData`, `v8.serialize` — with a message that names AOF_ERR_NOT_CLONEABLE
 * and says what to do instead.
 *
 * Why it is needed: structured clone copies a class instance as a plain object of its own
 * enumerable string-keyed properties. A manager posted to a worker failed on prom-client's
 * functions with their source text as the message; a log arrived silently as `{ name }`, a reader
 * as `{}`: objects that look like handles and do nothing.
 *
 * How, on Node 20: there is no hook into structured clone (no serializer callback, and
 * `worker_threads.markAsUncloneable` only arrived in Node 22.10). So each handle carries one own
 * enumerable property, {@link CLONE_GUARD_KEY}, whose value is a Symbol: structured clone refuses
 * symbols with a DataCloneError whose message is the symbol's description, which is our message.
 * It must be the first property the clone visits, so the handles keep the rest of their public
 * state behind getters (a getter lives on the prototype, which clone never visits).
 *
 * What the caller gets is the platform's DataCloneError (a DOMException), not an AofError: the
 * throw happens inside the serializer, where no code of ours runs. Its message starts with the
 * code, so it can still be matched. Short, because V8 in Node 22 and 24 cuts a symbol of more than
 * 128 characters to its first ~57 and last ~56 with `...<omitted>...` in between (Node 20 prints
 * it whole): the message is at most 120 characters for stream names of up to 8, and for longer
 * names what is cut is the middle, so the code, the handle and the remedy at the end still show. `markAsUncloneable` is deliberately not used where present:
 * its error has a fixed generic message, and the guard already refuses on every version.
 */

import { inspect, type InspectOptions } from 'node:util';

/** Own property of every live handle that makes structured clone refuse it. */
export const CLONE_GUARD_KEY = 'aof2:notCloneable';

/**
 * Makes `handle` refuse structured clone with `AOF_ERR_NOT_CLONEABLE: <what> <remedy>`. Call it
 * first in the constructor (before any other own property is defined). `shown` is what
 * `console.log(handle)` prints instead of the guard (util.inspect would otherwise show only it).
 */
export function refuseClone(handle: object, what: string, remedy: string, shown: () => Record<string, unknown>): void {
  Object.defineProperty(handle, CLONE_GUARD_KEY, {
    value: Symbol(`AOF_ERR_NOT_CLONEABLE: ${what} cannot be cloned; ${remedy}`),
    enumerable: true,
    writable: false,
    configurable: false,
  });
  // Symbol-keyed, so structured clone never visits it.
  Object.defineProperty(handle, inspect.custom, {
    value: (_depth: number, options: InspectOptions) => `${handle.constructor.name} ${inspect(shown(), options)}`,
  });
}

/**
 * What to do instead, shared by the three handles: the end of the message, which survives V8's
 * cut (docs/errors.md has the whole story: a live handle on this thread's shared memory, worker
 * threads and open files; one manager per root, so close it here first).
 */
export const CLONE_REMEDY = 'post plain data, or AofManager.open in that thread';
