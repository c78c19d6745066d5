/**
 * Preloaded with `node --import` by test/integration/tier1-codec.test.ts into a child process:
 * makes `@mongodb-js/zstd` impossible to resolve on the thread that loads it, as on a machine
 * where its prebuilt platform package is missing (`npm install --omit=optional`, another libc), so
 * the test sees what `tier1.codec: 'auto'` falls back to. Worker threads do not get it (the pools
 * start them with `execArgv: []`); they load whichever implementation the main thread resolved.
 */
import Module from 'node:module';

interface ModuleInternals {
  _resolveFilename(request: string, ...rest: unknown[]): string;
}
const internals = Module as unknown as ModuleInternals;
const resolve = internals._resolveFilename;
internals._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
  if (request.startsWith('@mongodb-js/zstd')) {
    throw Object.assign(new Error(`Cannot find module '${request}' (hidden by support/hide-zstd-addon.js)`), { code: 'MODULE_NOT_FOUND' });
  }
  return resolve.call(this, request, ...rest);
};
