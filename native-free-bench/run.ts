/**
 * Benchmark runner: `npm run bench [-- --quick] [-- --json] [-- --only <suite>[,<suite>]]`
 * (or `node --expose-gc dist/native-free-bench/run.js ...`).
 *
 *   --quick   short runs for CI (the whole suite in well under 30 s)
 *   --json    one JSON document on stdout (progress goes to stderr either way)
 *   --only    run only the named suite(s); repeatable or comma-separated
 *
 * Exit status: 0 when every suite ran and verified its records, 1 otherwise (a suite threw, a
 * verification failed, or a native addon was loaded). Missed performance targets are reported, not
 * failed: figures from a shared machine are not a verdict.
 *
 * The suites must load no native addon: process.dlopen is wrapped before anything else is
 * imported (every other import below is dynamic for that reason), and at the end every `.node`
 * file mapped into the process is listed from /proc/self/maps, which also catches an addon loaded
 * inside a worker thread (a worker has its own `process`, so the wrapper does not see it; see
 * addons.ts). Any addon found is reported and fails the run. The suites open their managers with
 * Tier 1 off for that reason (fixtures.ts TIERS_OFF): compression would load zstd in a worker. The
 * same suites run again at default options, beside their tiers-off twins, in native-codec-bench.
 */
const nativeAddons: string[] = [];
const dlopen = process.dlopen.bind(process);
process.dlopen = (module: object, filename: string, flags?: number): void => {
  nativeAddons.push(filename);
  dlopen(module, filename, flags);
};

const { runBenchmarks } = await import('./runner.js');
process.exitCode = await runBenchmarks({
  tool: 'native-free-bench',
  tag: 'bench',
  suites: [
    (await import('./append-sync.js')).appendSync,
    (await import('./append-async.js')).appendAsync,
    (await import('./append-batch.js')).appendBatch,
    (await import('./durable.js')).durable,
    (await import('./memory.js')).memory,
    (await import('./many-streams.js')).manyStreams,
    (await import('./recovery.js')).recovery,
    (await import('./metrics-overhead.js')).metricsOverhead,
    (await import('./first-touch.js')).firstTouch,
    (await import('./cold-start.js')).coldStart,
    (await import('./low-rate.js')).lowRate,
    (await import('./http-audit.js')).httpAudit,
    (await import('./live-tail.js')).liveTail,
    (await import('./read-only.js')).readOnly,
    (await import('./worker-readers.js')).workerReaders,
  ],
  addonsAllowed: false,
  dlopenSeen: nativeAddons,
});
