/**
 * Piscina task module for test/integration/worker-error.test.ts: fails in the ways a Tier 1 task
 * can, so the test can see what reaches the main thread through piscina's structured clone.
 */
import { openSync } from 'node:fs';
import { AofError, ErrorCode } from '../src/errors.js';
import { toWorkerError } from '../src/worker-error.js';

/** What the task does: throw an AofError as is, throw one flattened for the boundary, flatten an fs or a type error, or return. */
export type ThrowMode = 'raw-aof-error' | 'flattened-aof-error' | 'flattened-fs-error' | 'flattened-type-error' | 'ok';

export default function task({ mode, path }: { mode: ThrowMode; path: string }): string {
  const context = { action: 'test task', path };
  switch (mode) {
    case 'raw-aof-error':
      throw AofError.corrupt('raw', { offset: 8 });
    case 'flattened-aof-error':
      throw toWorkerError(new AofError(ErrorCode.INJECTED, 'injected', { details: { job: 'hydrate', where: 'x' } }), context);
    case 'flattened-fs-error':
      try {
        openSync(path, 'r');
      } catch (err) {
        throw toWorkerError(err, context);
      }
      return 'unreachable';
    case 'flattened-type-error':
      throw toWorkerError(new TypeError('a bug'), context);
    case 'ok':
      return 'ok';
  }
}
