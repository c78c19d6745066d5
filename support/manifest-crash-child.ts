/**
 * Child process for the manifest kill -9 test (test/integration/manifest-crash.test.ts; not a test itself).
 *
 *   node manifest-crash-child.js <dir> <seed>
 *
 * Opens a ManifestLog on <dir> with small chunks and frequent snapshots (so a kill lands in
 * rotations, snapshot writes and pruning as often as in plain commits), finds how many workload
 * transitions the recovered catalog reflects, and keeps appending the next ones from several
 * concurrent writers (group commits of varied sizes), plus occasional on-demand snapshots.
 * Protocol on stdout: `start <n>`, `ack <i>` lines (transition i and all before it are durable:
 * printed only after its append resolved), `ready` after the first ack; then acks until killed.
 * Anything unexpected exits with code 2 and a message on stderr.
 */
import { ManifestLog } from '../src/manifest/manifest-log.js';
import { seededRandom } from '../src/seeded-random.js';
import { locateWorkload, workloadOps } from './manifest-workload.js';

const CRASH_MANIFEST_OPTIONS = { chunkBytes: 1024, snapshotEvery: 40 } as const;

const [dir, seedArg] = process.argv.slice(2);
if (dir === undefined || seedArg === undefined) {
  process.stderr.write('usage: manifest-crash-child.js <dir> <seed>\n');
  process.exit(2);
}

function die(message: string): never {
  process.stderr.write(`manifest-crash-child: ${message}\n`);
  process.exit(2);
}

const { manifest, catalog } = await ManifestLog.open({ dir, ...CRASH_MANIFEST_OPTIONS }).catch((err: unknown) => die(`open failed: ${String(err)}`));
const start = locateWorkload(catalog);
if (start === null) die('recovered catalog is not a prefix of the workload');
process.stdout.write(`start ${start}\n`);

const rand = seededRandom(Number(seedArg));
let next = start;
let acks = '';
let scheduled = false;
const ack = (i: number): void => {
  acks += `ack ${i}\n`;
  if (!scheduled) {
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      const out = acks;
      acks = '';
      process.stdout.write(out);
    });
  }
};

// Transitions are numbered in call order and append keeps call order, so the durable set is
// always a prefix of 0..next-1.
const appendNext = async (): Promise<void> => {
  const count = 1 + Math.floor(rand() * 4);
  const from = next;
  next += count;
  await manifest.append(workloadOps(from, from + count));
  ack(from + count - 1);
};

await appendNext().catch((err: unknown) => die(`warm-up append: ${String(err)}`));
process.stdout.write(`ack ${next - 1}\nready\n`);

const writers = 2 + Math.floor(rand() * 6);
for (let w = 0; w < writers; w++) {
  void (async () => {
    for (;;) {
      await appendNext();
      if (rand() < 0.02) await manifest.snapshot();
    }
  })().catch((err: unknown) => die(`writer ${w}: ${String(err)}`));
}
