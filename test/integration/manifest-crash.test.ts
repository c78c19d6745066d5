/**
 * kill -9 during manifest appends (and, every fourth round, possibly during the child's own open): a child process appends workload transitions (group commits,
 * rotations every 1 KiB, snapshots every 40 records, pruning) and prints each transition whose
 * append resolved; the parent SIGKILLs it at a seeded random moment, then reopens the directory
 * in-process with `strict: true` and checks:
 * - open succeeds, and finds no corruption: a kill only ever leaves torn tails and temp files;
 * - no temp file survives the open;
 * - the catalog equals the workload model after n transitions for some n >= every acknowledged
 *   transition (nothing acknowledged is lost, nothing half-applied appears).
 * Rounds share the directory, so each round also recovers the files of all earlier crashes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ManifestLog } from '../../src/manifest/manifest-log.js';
import { seededRandom } from '../../src/seeded-random.js';
import { locateWorkload } from '../../support/manifest-workload.js';
import { tempRoot } from '../../support/tmp.js';

const CHILD = fileURLToPath(new URL('../../support/manifest-crash-child.js', import.meta.url));
const ROUNDS = 16;
const SEED = 0x3a2f_11c5;
const MIN_KILL_MS = 1;
const MAX_KILL_MS = 80;
const READY_TIMEOUT_MS = 15_000;

interface Run {
  start: number;
  maxAcked: number;
  acks: number;
  ready: boolean;
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

/** `early`: the kill timer starts at spawn, so it can land in the child's own open (replay, repairs). */
function runChild(dir: string, seed: number, killAfterMs: number, early: boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: Run = { start: -1, maxAcked: -1, acks: 0, ready: false, signal: null, code: null, stderr: '' };
    let partial = '';
    let killTimer: NodeJS.Timeout | null = early ? setTimeout(() => child.kill('SIGKILL'), killAfterMs) : null;
    const readyTimer = setTimeout(() => child.kill('SIGKILL'), READY_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (run.stderr += chunk));
    child.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!; // an ack cut by the kill is not an ack
      for (const line of lines) {
        const [word, value] = line.split(' ');
        if (word === 'start') run.start = Number(value);
        else if (word === 'ack') {
          run.acks++;
          run.maxAcked = Math.max(run.maxAcked, Number(value));
        } else if (word === 'ready') {
          run.ready = true;
          clearTimeout(readyTimer);
          killTimer ??= setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(readyTimer);
      if (killTimer !== null) clearTimeout(killTimer);
      run.code = code;
      run.signal = signal;
      resolve(run);
    });
  });
}

test(`manifest survives SIGKILL at random moments (${ROUNDS} rounds)`, async (t) => {
  const { root, cleanup } = tempRoot('aof2-manifest-crash-');
  t.after(cleanup);
  const rand = seededRandom(SEED);
  let durable = 0;
  let trimmedRounds = 0;
  let totalAcks = 0;
  let snapshotsSeen = 0;
  let earlyKills = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Every fourth round the kill may land while the child is still starting or replaying.
    const early = round % 4 === 3;
    const killAfter = early ? 40 + Math.floor(rand() * 160) : MIN_KILL_MS + Math.floor(rand() * (MAX_KILL_MS - MIN_KILL_MS));
    const run = await runChild(root, SEED + round, killAfter, early);
    assert.equal(run.stderr, '', `round ${round}: child reported a problem`);
    assert.equal(run.signal, 'SIGKILL', `round ${round}: child exited with ${run.code}`);
    if (!early) {
      assert.ok(run.ready, `round ${round}: child never got ready`);
      assert.ok(run.maxAcked >= durable, `round ${round}: no ack`);
    } else if (!run.ready) earlyKills++;
    if (run.start >= 0) assert.equal(run.start, durable, `round ${round}: the child recovered what the last reopen found`);

    const { manifest, catalog, report } = await ManifestLog.open({ dir: root, strict: true });
    await manifest.close();
    assert.equal(report.corruptionEvents, 0, `round ${round}: a kill is never corruption`);
    assert.deepEqual(readdirSync(root).filter((n) => n.endsWith('.tmp')), [], `round ${round}: temp files left`);
    const n = locateWorkload(catalog);
    assert.notEqual(n, null, `round ${round}: the catalog is not a prefix of the workload`);
    assert.ok(n! >= run.maxAcked + 1, `round ${round}: catalog holds ${n} transitions, ${run.maxAcked + 1} were acknowledged`);
    durable = n!;
    totalAcks += run.acks;
    if (report.journalLagBytes > 0 || report.tempFilesRemoved > 0) trimmedRounds++;
    if (report.snapshotSeq !== null) snapshotsSeen++;
    // Pruning keeps the directory small however long the history gets.
    assert.ok(readdirSync(root).length <= 40, `round ${round}: ${readdirSync(root).length} files`);
  }
  t.diagnostic(`${ROUNDS} kills: ${durable} transitions durable, ${totalAcks} acks checked, ${trimmedRounds} rounds left a torn tail or temp file, ${snapshotsSeen} replays started from a snapshot, ${earlyKills} kills before the child was ready`);
  assert.ok(durable > ROUNDS * 10, 'the workload made progress');
  assert.ok(snapshotsSeen >= ROUNDS / 2, 'replays start from snapshots');
});
