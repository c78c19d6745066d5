/**
 * The benchmark's native-addon guard sees addons loaded by worker threads, which the runner's
 * process.dlopen wrapper cannot (a worker has its own `process`): a real worker thread loads the
 * zstd binding and the guard must list it, while the main thread's dlopen hook saw nothing.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { loadedAddons, mappedAddons } from '../../native-free-bench/addons.js';

const ZSTD_ADDON = /zstd[^/]*\.node$/;

test('an addon loaded in a worker thread is found; the dlopen hook alone misses it', { skip: !existsSync('/proc/self/maps') && 'no /proc/self/maps here' }, async () => {
  const hooked: string[] = [];
  const original = process.dlopen;
  process.dlopen = (module: object, filename: string, flags?: number): void => {
    hooked.push(filename);
    original.call(process, module, filename, flags);
  };
  try {
    assert.ok(!(mappedAddons() ?? []).some((p) => ZSTD_ADDON.test(p)), 'zstd is not loaded before the worker runs');
    const codec = new URL('../../src/codec/zstd.js', import.meta.url).href;
    const worker = new Worker(`import(${JSON.stringify(codec)}).then((m) => { m.loadZstd(); process.exit(0); });`, { eval: true });
    const code = await new Promise<number>((resolve, reject) => {
      worker.once('exit', resolve);
      worker.once('error', reject);
    });
    assert.equal(code, 0);
    assert.deepEqual(hooked, [], 'the main thread hook did not see the worker load the addon');
    const { addons, scope } = loadedAddons(hooked);
    assert.match(scope, /\/proc\/self\/maps/);
    assert.ok(addons.some((p) => ZSTD_ADDON.test(p)), `zstd addon listed: ${addons.join(', ')}`);
  } finally {
    process.dlopen = original;
  }
});
