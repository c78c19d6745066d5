/**
 * `npm run bench [-- --quick] [-- --json] [-- --report-dir <dir>]`: every benchmark runner, one
 * after the other, each in its own process —
 *   native-free-bench/run.ts   the engine alone (append, durable, memory), no native addon loaded;
 *   native-codec-bench/run.ts  Tier 1 and Tier 2 (zstd, S3 on moto);
 *   peer-bench/run.ts          aof2 against lmdb-js, hypercore, sonic-boom, fs.createWriteStream
 *                              (installing them into peer-bench/node_modules first if missing),
 *                              and log.follow() against Redis Streams (a redis-server it starts).
 * Separate processes keep the pure-engine suites free of the addons the others load, and keep one
 * suite's leftovers (page cache, threads, heap) out of the next one's figures.
 *
 * A full run then writes the report (report.ts): docs/perf/<tool>.json and .svg, and the generated
 * blocks of docs/performance.md. A quick run writes it only with --report-dir (CI figures are not
 * the published ones). Prints the runners' tables, or with --json one document { runs: [...] }.
 * Exit status: the worst of the runners' (0 ok, 1 a suite failed or a verification failed).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeReport, type BenchDocument } from './report.js';
import { formatResults } from './shared.js';

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUNNERS = ['native-free-bench', 'native-codec-bench', 'peer-bench'];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'report-dir': { type: 'string' },
  },
  strict: true,
});

/** Runs one runner with --json; its progress goes straight to our stderr. */
function runOne(tool: string): Promise<{ doc: BenchDocument | null; code: number }> {
  const script = join(PACKAGE_ROOT, 'dist', tool, 'run.js');
  const argv = ['--expose-gc', script, '--json', ...(args.quick === true ? ['--quick'] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      let doc: BenchDocument | null = null;
      try {
        doc = JSON.parse(stdout) as BenchDocument;
      } catch {
        process.stderr.write(`[bench] ${tool} printed no JSON document (exit ${code})\n`);
      }
      resolve({ doc, code: code ?? 1 });
    });
  });
}

const docs: BenchDocument[] = [];
let exitCode = 0;
for (const tool of RUNNERS) {
  process.stderr.write(`[bench] ${tool}\n`);
  const { doc, code } = await runOne(tool);
  exitCode = Math.max(exitCode, code === 0 && doc !== null ? 0 : 1);
  if (doc !== null) docs.push(doc);
}

const reportDir = args['report-dir'] ?? (args.quick === true ? null : join(PACKAGE_ROOT, 'docs', 'perf'));
if (reportDir !== null) {
  // The published figures live in docs/performance.md; a report elsewhere gets its own copy.
  const markdown = args['report-dir'] === undefined ? join(PACKAGE_ROOT, 'docs', 'performance.md') : join(reportDir, 'performance.md');
  const written = writeReport(docs, reportDir, markdown);
  process.stderr.write(`[bench] report: ${written.join(', ')}\n`);
}

if (args.json === true) {
  process.stdout.write(`${JSON.stringify({ runs: docs }, null, 2)}\n`);
} else {
  for (const doc of docs) {
    process.stdout.write(`\n${doc.tool} (${doc.mode}), ${(doc.durationMs / 1000).toFixed(1)} s, load ${doc.machine.loadAvgAtStart.join(' ')}\n\n`);
    process.stdout.write(`${formatResults(doc.results)}\n`);
  }
}
process.exitCode = exitCode;
