/**
 * The read-only tests' writer process, from the parent's side (support/read-only-writer.ts is the
 * child): start it on a root, send it commands, read its answers, kill it. And the payloads it
 * writes, so a reader checks every byte without the writer telling it what it wrote.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AofManagerOptions } from '../src/index.js';
import { payloadFor } from './tmp.js';

const CHILD = fileURLToPath(new URL('./read-only-writer.js', import.meta.url));
/** A command that does not answer within this long is a hang, not a slow machine (a deadline, not a timing check). */
const ANSWER_TIMEOUT_MS = 60_000;

/** Record `id` of `stream`: `payloadFor` salted with the stream name, so streams differ. */
export function followPayload(stream: string, id: number, size: number): Uint8Array {
  let salt = 0;
  for (let i = 0; i < stream.length; i++) salt = (salt * 31 + stream.charCodeAt(i)) >>> 0;
  return payloadFor((id + salt * 1_000_003) >>> 0, size);
}

/**
 * Options of the writer process: the manager's (JSON: a `tier2` S3 config with static credentials
 * crosses, a credentials provider does not), with a local-directory Tier 2 given by its path.
 */
export type WriterOptions = Omit<AofManagerOptions, 'root' | 'logger' | 'metrics'> & { tier2Root?: string };

/** A writer process holding a root (see support/read-only-writer.ts for its commands). */
export class WriterProcess {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: string[] = [];
  #waiting: ((line: string) => void) | null = null;
  #partial = '';
  #stderr = '';
  /** Resolves with how the process ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(root: string, options: WriterOptions, env: Record<string, string>) {
    this.#child = spawn(process.execPath, [CHILD, root, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.#child.stdout.setEncoding('utf8');
    this.#child.stderr.setEncoding('utf8');
    this.#child.stderr.on('data', (chunk: string) => {
      this.#stderr += chunk;
    });
    this.#child.stdout.on('data', (chunk: string) => {
      const lines = (this.#partial + chunk).split('\n');
      this.#partial = lines.pop()!;
      for (const line of lines) this.#lines.push(line);
      this.#deliver();
    });
    this.exited = new Promise((resolve) => this.#child.on('close', (code, signal) => resolve({ code, signal })));
    void this.exited.then(() => {
      this.#lines.push(`exited ${this.#stderr}`);
      this.#deliver();
    });
  }

  /** Starts a writer on `root` (with `env` added to its environment: failpoints) and waits until its manager is open. */
  static async start(root: string, options: WriterOptions, env: Record<string, string> = {}): Promise<WriterProcess> {
    const writer = new WriterProcess(root, options, env);
    const line = await writer.#next();
    if (line !== 'ready') throw new Error(`writer did not start: ${line}`);
    return writer;
  }

  /** Sends one command and returns its answer line. @throws when the writer answers `error` or dies */
  async command(line: string): Promise<string> {
    this.#child.stdin.write(`${line}\n`);
    const answer = await this.#next();
    if (answer.startsWith('error') || answer.startsWith('exited')) throw new Error(`writer: ${line}: ${answer}`);
    return answer;
  }

  /** SIGKILL: the process ends with no chance to write or sync anything more. */
  async kill(): Promise<void> {
    this.#child.kill('SIGKILL');
    await this.exited;
  }

  /** Closes the manager and waits for the process to end. */
  async close(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) await this.command('close');
    await this.exited;
  }

  #deliver(): void {
    if (this.#waiting !== null && this.#lines.length > 0) {
      const resolve = this.#waiting;
      this.#waiting = null;
      resolve(this.#lines.shift()!);
    }
  }

  #next(): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`writer gave no answer in ${ANSWER_TIMEOUT_MS} ms (stderr: ${this.#stderr})`)), ANSWER_TIMEOUT_MS);
      this.#waiting = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
      this.#deliver();
    });
  }
}
