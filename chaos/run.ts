/**
 * `npm run chaos`: the reliability suite (issue #6). Runs the scenarios in order within a total time
 * bound and prints one line per scenario (or, with `--json`, one JSON document on stdout).
 *
 *   node dist/chaos/run.js [--quick] [--json] [--only <scenario>[,<scenario>...]] [--minutes <n>] [--seed <n>]
 *
 * - Full mode (default): about 30 minutes in total; each scenario gets a share of `--minutes` and
 *   keeps going (more rounds, more faults) until its share is used, then stops by itself.
 * - `--quick`: each scenario stops as soon as its small quick target is met (a few minutes at most
 *   in all); this is what `npm test` runs (test/integration/chaos-quick.test.ts).
 * Exit code 0 when every scenario that ran passed (lost 0, hung 0, no failure) and none was
 * skipped; 1 otherwise. Progress goes to stderr.
 */
import { cpus, totalmem } from 'node:os';
import { corruptFuzz } from './corrupt-fuzz.js';
import { crashStorm } from './crash-storm.js';
import { diskFull } from './disk-full.js';
import { outage } from './outage.js';
import { threw, type Scenario, type ScenarioReport } from './scenario.js';
import { sigkill } from './sigkill.js';
import { sigkill1k } from './sigkill-1k.js';

export const SCENARIOS: readonly Scenario[] = [sigkill, sigkill1k, crashStorm, outage, diskFull, corruptFuzz];

interface Args {
  quick: boolean;
  json: boolean;
  only: string[] | null;
  minutes: number;
  seed: number;
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: node dist/chaos/run.js [--quick] [--json] [--only <name,...>] [--minutes <n>] [--seed <n>]\nscenarios: ${SCENARIOS.map((s) => s.name).join(', ')}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, json: false, only: null, minutes: Number.NaN, seed: 20261201 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') args.quick = true;
    else if (a === '--json') args.json = true;
    else if (a === '--only') args.only = value().split(',');
    else if (a === '--minutes') args.minutes = Number(value());
    else if (a === '--seed') args.seed = Number(value());
    else usage(`unknown argument ${a}`);
  }
  if (args.only !== null) for (const name of args.only) if (!SCENARIOS.some((s) => s.name === name)) usage(`unknown scenario ${name}`);
  if (Number.isNaN(args.minutes)) args.minutes = args.quick ? 5 : 30;
  if (!(args.minutes > 0)) usage('--minutes must be a positive number');
  if (!Number.isSafeInteger(args.seed) || args.seed < 0) usage('--seed must be a non-negative integer');
  return args;
}

function line(r: ScenarioReport): string {
  const figures = Object.entries(r.figures)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return (
    `${r.status.toUpperCase().padEnd(7)} ${r.name.padEnd(12)} rounds=${r.rounds} injected=${r.injected} verified=${r.verified} lost=${r.lost} hung=${r.hung} ` +
    `duration=${(r.durationMs / 1000).toFixed(1)}s target(${r.target})=${r.targetMet ? 'met' : 'NOT met'}` +
    (r.reason !== null ? `\n        reason: ${r.reason}` : '') +
    (figures === '' ? '' : `\n        ${figures}`)
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const chosen = SCENARIOS.filter((s) => args.only === null || args.only.includes(s.name));
  const started = Date.now();
  const end = started + args.minutes * 60_000;
  const log = (msg: string): void => {
    process.stderr.write(`[chaos ${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);
  };
  const reports: ScenarioReport[] = [];
  for (let i = 0; i < chosen.length; i++) {
    const scenario = chosen[i]!;
    // This scenario's share of the time that is left, by weight among those still to run.
    const remainingShare = chosen.slice(i).reduce((sum, s) => sum + s.share, 0);
    const deadline = Date.now() + Math.max(0, end - Date.now()) * (scenario.share / remainingShare);
    log(`${scenario.name}: ${scenario.description} (until +${((deadline - started) / 1000).toFixed(0)}s)`);
    let report: ScenarioReport;
    try {
      report = await scenario.run({ quick: args.quick, deadline, seed: args.seed + i * 1_000_003, log });
    } catch (err) {
      report = threw(scenario.name, err);
    }
    reports.push(report);
    log(line(report));
  }
  const ok = reports.every((r) => r.status === 'passed');
  const summary = {
    mode: args.quick ? 'quick' : 'full',
    minutes: args.minutes,
    seed: args.seed,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform}-${process.arch}` },
    ok,
    scenarios: reports,
  };
  if (args.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    process.stdout.write(`aof2 chaos (${summary.mode}, ${args.minutes} min budget, seed ${args.seed}) on ${summary.machine.cpus}x ${summary.machine.cpuModel}, node ${process.version}\n`);
    for (const r of reports) process.stdout.write(`${line(r)}\n`);
    process.stdout.write(`${ok ? 'OK' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
  // Worker pools, moto and timers of failed rounds may linger: the verdict is in, exit now.
  process.exit(ok ? 0 : 1);
}

await main();
