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
 * Tier 1 off for that reason (fixtures.ts TIER1_OFF): compression would load zstd in a worker.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import type { BenchResult, Suite } from './shared.js';

const nativeAddons: string[] = [];
const dlopen = process.dlopen.bind(process);
process.dlopen = (module: object, filename: string, flags?: number): void => {
  nativeAddons.push(filename);
  dlopen(module, filename, flags);
};

interface SuiteError {
  suite: string;
  message: string;
}

function usage(): string {
  return 'usage: node --expose-gc dist/native-free-bench/run.js [--quick] [--json] [--only <suite>[,<suite>...]]';
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        only: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${usage()}\n`);
    return 2;
  }
  const suites: Suite[] = [
    (await import('./append-sync.js')).appendSync,
    (await import('./append-async.js')).appendAsync,
    (await import('./durable.js')).durable,
    (await import('./memory.js')).memory,
  ];
  if (args.help === true) {
    process.stdout.write(`${usage()}\n\nsuites:\n${suites.map((s) => `  ${s.name.padEnd(14)}${s.description}`).join('\n')}\n`);
    return 0;
  }
  const only = (args.only ?? []).flatMap((s) => s.split(',')).filter((s) => s.length > 0);
  const unknown = only.filter((name) => !suites.some((s) => s.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown suite(s): ${unknown.join(', ')}; expected ${suites.map((s) => s.name).join(', ')}\n`);
    return 2;
  }
  const selected = only.length === 0 ? suites : suites.filter((s) => only.includes(s.name));
  const quick = args.quick === true;
  const { formatResults } = await import('./shared.js');
  const { gcFunction } = await import('./gc.js');
  const options = {
    quick,
    gc: gcFunction(),
    progress: (message: string): void => {
      process.stderr.write(`[bench] ${message}\n`);
    },
  };

  const cpuList = cpus();
  const machine = {
    cores: cpuList.length,
    cpuModel: cpuList[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    totalMemGiB: Math.round(totalmem() / 2 ** 30),
    loadAvgAtStart: loadavg().map((x) => Number(x.toFixed(2))),
  };
  const started = Date.now();
  const results: BenchResult[] = [];
  const errors: SuiteError[] = [];
  for (const suite of selected) {
    const t0 = Date.now();
    try {
      results.push(...(await suite.run(options)));
      options.progress(`${suite.name}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } catch (err) {
      errors.push({ suite: suite.name, message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      options.progress(`${suite.name}: FAILED ${String(err)}`);
    }
  }
  const durationMs = Date.now() - started;
  const { loadedAddons } = await import('./addons.js');
  const addonCheck = loadedAddons(nativeAddons);
  const verifiedOk = results.every((r) => r.verified.length > 0 && r.verified.every((v) => v.ok));

  if (args.json === true) {
    const doc = {
      tool: 'aof2 native-free-bench',
      mode: quick ? 'quick' : 'full',
      command: `node --expose-gc dist/native-free-bench/run.js${quick ? ' --quick' : ''}${only.length > 0 ? ` --only ${only.join(',')}` : ''}`,
      startedAt: new Date(started).toISOString(),
      durationMs,
      machine,
      suites: selected.map((s) => s.name),
      nativeAddons: addonCheck.addons,
      addonCheck: addonCheck.scope,
      errors,
      results,
    };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    process.stdout.write(
      `aof2 native-free-bench (${quick ? 'quick' : 'full'}) — ${machine.cores} cores, ${machine.cpuModel}, node ${machine.node}, ` +
        `load ${machine.loadAvgAtStart.join(' ')}; ${(durationMs / 1000).toFixed(1)} s\n\n`,
    );
    process.stdout.write(`${formatResults(results)}\n`);
    for (const e of errors) process.stdout.write(`\nsuite ${e.suite} FAILED:\n${e.message}\n`);
    if (addonCheck.addons.length > 0) process.stdout.write(`\nnative addons loaded (not allowed): ${addonCheck.addons.join(', ')}\n`);
    process.stdout.write(`\nnative addon check: ${addonCheck.scope}\n`);
  }
  return errors.length === 0 && verifiedOk && addonCheck.addons.length === 0 ? 0 : 1;
}

process.exitCode = await main();
