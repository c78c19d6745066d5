/**
 * Worker used by test/unit/errors.test.ts to send errors across a real thread boundary, the way
 * engine workers do: a real fs failure wrapped as AOF_ERR_IO, a WouldBlockError, and a code the
 * main thread does not know, each posted as `serialize()` output.
 */
import { openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { AofError, WouldBlockError, type SerializedAofError } from '../src/errors.js';

const { missingPath } = workerData as { missingPath: string };
const out: SerializedAofError[] = [];
try {
  openSync(missingPath, 'r');
} catch (err) {
  out.push(AofError.io('open segment', missingPath, err).serialize());
}
out.push(new WouldBlockError('tier2', 'object store is behind').serialize());
out.push({ ...AofError.corrupt('from the future', { offset: 8 }).serialize(), code: 'AOF_ERR_FROM_A_NEWER_VERSION' });
parentPort!.postMessage(out);
