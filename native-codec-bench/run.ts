/**
 * Tier 1 benchmark runner: `npm run bench:tiered [-- --quick] [-- --json] [-- --only <suite>[,<suite>]]`
 * (or `node --expose-gc dist/native-codec-bench/run.js ...`).
 *
 *   --quick   short runs for CI (test/integration/bench-tiered-quick.test.ts)
 *   --json    one JSON document on stdout (progress goes to stderr either way)
 *   --only    run only the named suite(s); repeatable or comma-separated
 *
 * Unlike native-free-bench/, these suites load the zstd addon (in the engine's workers, and on
 * this thread for the raw baselines): the loaded addons are listed in the report for the record,
 * not refused. Everything else is shared with native-free-bench/ (result shape, histograms,
 * tables), so the two reports read alike.
 *
 * Exit status: 0 when every suite ran and verified its data, 1 otherwise. Missed performance
 * targets are reported, not failed: figures from a shared machine are not a verdict.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { loadedAddons } from '../native-free-bench/addons.js';
import { gcFunction } from '../native-free-bench/gc.js';
import { formatResults, type BenchResult, type Suite } from '../native-free-bench/shared.js';
import { coldScan } from './cold-scan.js';
import { disposeDatasets } from './fixtures.js';
import { pointRead } from './point-read.js';
import { tieredIngest } from './tiered-ingest.js';

const SUITES: Suite[] = [tieredIngest, pointRead, coldScan];

interface SuiteError {
  suite: string;
  message: string;
}

function usage(): string {
  return 'usage: node --expose-gc dist/native-codec-bench/run.js [--quick] [--json] [--only <suite>[,<suite>...]]';
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
  if (args.help === true) {
    process.stdout.write(`${usage()}\n\nsuites:\n${SUITES.map((s) => `  ${s.name.padEnd(15)}${s.description}`).join('\n')}\n`);
    return 0;
  }
  const only = (args.only ?? []).flatMap((s) => s.split(',')).filter((s) => s.length > 0);
  const unknown = only.filter((name) => !SUITES.some((s) => s.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown suite(s): ${unknown.join(', ')}; expected ${SUITES.map((s) => s.name).join(', ')}\n`);
    return 2;
  }
  const selected = only.length === 0 ? SUITES : SUITES.filter((s) => only.includes(s.name));
  const quick = args.quick === true;
  const options = {
    quick,
    gc: gcFunction(),
    progress: (message: string): void => {
      process.stderr.write(`[bench:tiered] ${message}\n`);
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
  try {
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
  } finally {
    disposeDatasets();
  }
  const durationMs = Date.now() - started;
  const loadAvgAtEnd = loadavg().map((x) => Number(x.toFixed(2)));
  const verifiedOk = results.every((r) => r.verified.length > 0 && r.verified.every((v) => v.ok));
  const addons = loadedAddons([]);

  if (args.json === true) {
    const doc = {
      tool: 'aof2 native-codec-bench',
      mode: quick ? 'quick' : 'full',
      command: `node --expose-gc dist/native-codec-bench/run.js${quick ? ' --quick' : ''}${only.length > 0 ? ` --only ${only.join(',')}` : ''}`,
      startedAt: new Date(started).toISOString(),
      durationMs,
      machine: { ...machine, loadAvgAtEnd },
      suites: selected.map((s) => s.name),
      nativeAddons: addons.addons,
      addonCheck: addons.scope,
      errors,
      results,
    };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    process.stdout.write(
      `aof2 native-codec-bench (${quick ? 'quick' : 'full'}) — ${machine.cores} cores, ${machine.cpuModel}, node ${machine.node}, ` +
        `load ${machine.loadAvgAtStart.join(' ')} at start, ${loadAvgAtEnd.join(' ')} at end; ${(durationMs / 1000).toFixed(1)} s\n\n`,
    );
    process.stdout.write(`${formatResults(results)}\n`);
    for (const e of errors) process.stdout.write(`\nsuite ${e.suite} FAILED:\n${e.message}\n`);
    process.stdout.write(`\nnative addons loaded (expected here: the zstd binding): ${addons.addons.join(', ') || 'none'}\n`);
  }
  return errors.length === 0 && verifiedOk ? 0 : 1;
}

process.exitCode = await main();
