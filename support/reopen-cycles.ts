/**
 * The open / append one / close cycles of test/integration/reopen-cycles.test.ts, in this process
 * or in a child (support/reopen-cycles-child.ts) that the test kills with SIGKILL: the stream and
 * payloads both use, the child runner, and the check of what a root holds afterwards.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AofManager, type AofManagerOptions } from '../src/index.js';
import { SEGMENT_FILE_SUFFIX, TIER1_FILE_SUFFIX, streamDir } from '../src/format/root-layout.js';
import { payloadFor, sameBytes } from './tmp.js';

export const REOPEN_STREAM = 's';
/** Small records: a cycle adds one frame of 48 bytes, so no segment ever fills. */
export const REOPEN_PAYLOAD_BYTES = 32;

const CHILD = fileURLToPath(new URL('./reopen-cycles-child.js', import.meta.url));
/** A child that acknowledges nothing for this long is hung, not slow. */
const CHILD_STALL_MS = 60_000;

/** One open, one append, one close; returns the id the record got. */
export async function cycle(options: AofManagerOptions): Promise<number> {
  const manager = await AofManager.open(options);
  try {
    const log = await manager.openStream(REOPEN_STREAM);
    return await log.append(payloadFor(log.nextId, REOPEN_PAYLOAD_BYTES));
  } finally {
    await manager.close();
  }
}

/**
 * Runs the cycling child on `root` and SIGKILLs it in the cycle after its `killAfter`-th
 * acknowledgement (at least 2), `fraction` of a cycle later (a cycle's length measured between its
 * last two acknowledgements): 0.1 lands near the end of that cycle's close or the next open, 0.5 in
 * its recovery or append, 0.9 in its close, as far as the cycles keep their pace. Resolves with the
 * ids it acknowledged (each durable: the child runs fsync 'always') and the delay used.
 * @throws Error when the child exits on its own or stalls
 */
export function killedChild(root: string, killAfter: number, fraction: number): Promise<{ acked: number[]; delayMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, root, String(10 * killAfter)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    const ackedAt: number[] = [];
    let delayMs = 0;
    let partial = '';
    let stderr = '';
    let killed = false;
    let stall = setTimeout(() => child.kill('SIGKILL'), CHILD_STALL_MS);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      // An ack cut by the kill is not an ack.
      partial = lines.pop()!;
      for (const line of lines) {
        acked.push(Number(line));
        ackedAt.push(performance.now());
        clearTimeout(stall);
        stall = setTimeout(() => child.kill('SIGKILL'), CHILD_STALL_MS);
        if (acked.length === killAfter) {
          killed = true;
          delayMs = Math.round(fraction * (ackedAt[killAfter - 1]! - ackedAt[killAfter - 2]!));
          setTimeout(() => child.kill('SIGKILL'), delayMs);
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(stall);
      if (killed && signal === 'SIGKILL') resolve({ acked, delayMs });
      else reject(new Error(`reopen-cycles child ended with code ${code}, signal ${signal} after ${acked.length} acks${killed ? '' : ' (not the planned kill)'}: ${stderr}`));
    });
  });
}

/** Raw and Tier 1 segment files of the stream. */
export function segmentFiles(root: string): { raw: string[]; tier1: string[] } {
  const names = readdirSync(streamDir(root, REOPEN_STREAM));
  return { raw: names.filter((n) => n.endsWith(SEGMENT_FILE_SUFFIX)), tier1: names.filter((n) => n.endsWith(TIER1_FILE_SUFFIX)) };
}

/**
 * Opens the root and reads the stream back: its nextId, and the ids whose bytes are not
 * `payloadFor(id)` (none expected). Every id from 0 to nextId - 1 is read: dense by construction.
 */
export async function readBack(options: AofManagerOptions): Promise<{ nextId: number; read: number; wrong: number[] }> {
  const manager = await AofManager.open(options);
  try {
    const log = await manager.openStream(REOPEN_STREAM);
    const wrong: number[] = [];
    let read = 0;
    for await (const record of log.read({ from: 0 })) {
      if (record.id !== read || !sameBytes(record.payload, payloadFor(record.id, REOPEN_PAYLOAD_BYTES))) wrong.push(record.id);
      read++;
    }
    return { nextId: log.nextId, read, wrong };
  } finally {
    await manager.close();
  }
}
