/**
 * Parent side of the kill -9 tests: spawns support/crash-child.ts, collects the ids it
 * acknowledges, and SIGKILLs it a given time after it reports `ready`. Shared by
 * test/integration/crash*.test.ts and the chaos scenarios sigkill and sigkill-1k.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { crashStreams } from './crash-workload.js';

const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url));
/**
 * A child that never gets ready is a hang, not a slow machine. The `many` child creates 1,000
 * segment files in its warm-up, 3-15 s on a loaded 2-core machine: it gets more.
 */
const READY_TIMEOUT_MS = 15_000;
const MANY_READY_TIMEOUT_MS = 120_000;

/** What the parent learned from one crash child, read from its stdout before (and after) the kill. */
export interface ChildRun {
  /** nextId per stream the child saw after its own recovery (its `start` line). */
  startIds: number[];
  /** Whether the child reached `ready` (false: it hung or died during start-up). */
  ready: boolean;
  /** Highest acknowledged id per stream (-1 when none), and the number of acks. */
  maxAcked: number[];
  acked: number;
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
  /** The last `stats <json>` line the child printed (`tier2` mode), null if none. */
  stats: Record<string, number> | null;
}

/**
 * Runs the crash child in `mode` and kills it `killAfterMs` after `ready`. `tier2` and `many`
 * modes need `storeDir`, the fs Tier 2 directory.
 */
export function runCrashChild(root: string, seed: number, killAfterMs: number, mode: 'append' | 'tier1' | 'tier2' | 'park' | 'many' = 'append', storeDir?: string): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const args = [CHILD, root, String(seed), mode, ...(storeDir === undefined ? [] : [storeDir])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: ChildRun = { startIds: [], ready: false, maxAcked: crashStreams(mode).map(() => -1), acked: 0, signal: null, code: null, stderr: '', stats: null };
    let partial = '';
    let killTimer: NodeJS.Timeout | null = null;
    const readyTimer = setTimeout(() => child.kill('SIGKILL'), mode === 'many' ? MANY_READY_TIMEOUT_MS : READY_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      run.stderr += chunk;
    });
    child.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      // The last element is an unterminated line (or ''): an ack cut by the kill is not an ack.
      partial = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('start')) {
          run.startIds = line.split(' ').slice(1).map(Number);
          continue;
        }
        if (line.startsWith('stats ')) {
          run.stats = JSON.parse(line.slice('stats '.length)) as Record<string, number>;
          continue;
        }
        if (line === 'ready') {
          run.ready = true;
          clearTimeout(readyTimer);
          killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
          continue;
        }
        const [stream, id] = line.split(' ').map(Number) as [number, number];
        run.acked++;
        if (id > run.maxAcked[stream]!) run.maxAcked[stream] = id;
      }
    });
    child.on('error', reject);
    // 'close' (not 'exit'): every byte the child wrote before dying has been read by then.
    child.on('close', (code, signal) => {
      clearTimeout(readyTimer);
      if (killTimer !== null) clearTimeout(killTimer);
      run.code = code;
      run.signal = signal;
      resolve(run);
    });
  });
}
