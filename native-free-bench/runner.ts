/**
 * The command-line runner both benchmark suites share (native-free-bench/run.ts and
 * native-codec-bench/run.ts): flags, suite selection, machine description, the run loop, and the
 * report as a table or one JSON document. The two entry files differ only in their suites and in
 * whether a native addon is allowed.
 *
 * Imports nothing but node builtins and this directory's pure-JS helpers, so native-free-bench can
 * load it after installing its dlopen wrapper.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { loadedAddons } from './addons.js';
import { gcFunction } from './gc.js';
import type { BenchDocument } from './report.js';
import { formatResults, SuiteSkipped, type BenchResult, type Suite } from './shared.js';

export interface RunnerSpec {
  /** Directory name, e.g. `native-free-bench`: names the tool and the script. */
  tool: string;
  /** Progress prefix on stderr, e.g. `bench`. */
  tag: string;
  suites: Suite[];
  /** False: a loaded native addon is reported and fails the run. True: it is listed for the record. */
  addonsAllowed: boolean;
  /** Addons seen by a process.dlopen wrapper, when the entry file installed one. */
  dlopenSeen?: readonly string[];
  /** Runs after the suites, even when one threw (temp datasets, servers...); awaited. */
  dispose?: () => void | Promise<void>;
}

interface SuiteError {
  suite: string;
  message: string;
}

interface SuiteSkip {
  suite: string;
  reason: string;
}

/** Parses argv, runs the selected suites, prints the report; resolves with the exit status. */
export async function runBenchmarks(spec: RunnerSpec): Promise<number> {
  const script = `dist/${spec.tool}/run.js`;
  const usage = `usage: node --expose-gc ${script} [--quick] [--json] [--only <suite>[,<suite>...]]`;
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
    process.stderr.write(`${(err as Error).message}\n${usage}\n`);
    return 2;
  }
  const { suites } = spec;
  if (args.help === true) {
    process.stdout.write(`${usage}\n\nsuites:\n${suites.map((s) => `  ${s.name.padEnd(15)}${s.description}`).join('\n')}\n`);
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
  const options = {
    quick,
    gc: gcFunction(),
    progress: (message: string): void => {
      process.stderr.write(`[${spec.tag}] ${message}\n`);
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
  const skipped: SuiteSkip[] = [];
  try {
    for (const suite of selected) {
      const t0 = Date.now();
      try {
        results.push(...(await suite.run(options)));
        options.progress(`${suite.name}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      } catch (err) {
        if (err instanceof SuiteSkipped) {
          skipped.push({ suite: suite.name, reason: err.message });
          options.progress(`${suite.name}: SKIPPED: ${err.message}`);
          continue;
        }
        errors.push({ suite: suite.name, message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        options.progress(`${suite.name}: FAILED ${String(err)}`);
      }
    }
  } finally {
    await spec.dispose?.();
  }
  const durationMs = Date.now() - started;
  const loadAvgAtEnd = loadavg().map((x) => Number(x.toFixed(2)));
  const addonCheck = loadedAddons(spec.dlopenSeen ?? []);
  const addonsOk = spec.addonsAllowed || addonCheck.addons.length === 0;
  const verifiedOk = results.every((r) => r.verified.length > 0 && r.verified.every((v) => v.ok));

  if (args.json === true) {
    const doc: BenchDocument = {
      tool: `aof2 ${spec.tool}`,
      mode: quick ? 'quick' : 'full',
      command: `node --expose-gc ${script}${quick ? ' --quick' : ''}${only.length > 0 ? ` --only ${only.join(',')}` : ''}`,
      startedAt: new Date(started).toISOString(),
      durationMs,
      machine: { ...machine, loadAvgAtEnd },
      suites: selected.map((s) => s.name),
      nativeAddons: addonCheck.addons,
      addonCheck: addonCheck.scope,
      errors,
      skipped,
      results,
    };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    process.stdout.write(
      `aof2 ${spec.tool} (${quick ? 'quick' : 'full'}) — ${machine.cores} cores, ${machine.cpuModel}, node ${machine.node}, ` +
        `load ${machine.loadAvgAtStart.join(' ')} at start, ${loadAvgAtEnd.join(' ')} at end; ${(durationMs / 1000).toFixed(1)} s\n\n`,
    );
    process.stdout.write(`${formatResults(results)}\n`);
    for (const e of errors) process.stdout.write(`\nsuite ${e.suite} FAILED:\n${e.message}\n`);
    for (const s of skipped) process.stdout.write(`\nsuite ${s.suite} SKIPPED: ${s.reason}\n`);
    if (spec.addonsAllowed) {
      process.stdout.write(`\nnative addons loaded (expected here: the zstd binding): ${addonCheck.addons.join(', ') || 'none'}\n`);
    } else {
      if (addonCheck.addons.length > 0) process.stdout.write(`\nnative addons loaded (not allowed): ${addonCheck.addons.join(', ')}\n`);
      process.stdout.write(`\nnative addon check: ${addonCheck.scope}\n`);
    }
  }
  return errors.length === 0 && verifiedOk && addonsOk ? 0 : 1;
}
