/**
 * Runs npm from a test or a benchmark: the npm that runs us when we run under `npm run` / `npm
 * test` (same version, same configuration), else the one on PATH.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { basename } from 'node:path';

/** How to start npm: a command and the arguments that go before npm's own. */
export function npmCommand(): { command: string; prefixArgs: string[] } {
  const execPath = process.env['npm_execpath'];
  if (execPath !== undefined && basename(execPath) === 'npm-cli.js') return { command: process.execPath, prefixArgs: [execPath] };
  return { command: 'npm', prefixArgs: [] };
}

/**
 * The environment for an npm working on another project: ours without the variables the outer
 * npm sets about *this* package and script (npm_package_*, npm_lifecycle_*, the local prefix...),
 * which describe the wrong project there. npm's configuration (npmrc files, npm_config_cache,
 * npm_config_registry...) is kept.
 */
export function npmEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(package_|lifecycle_|command$|config_local_prefix$)/.test(key) || key === 'INIT_CWD') continue;
    env[key] = value;
  }
  return env;
}

export interface NpmResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Captured output; empty for a stream passed through (`stdio` 'inherit' or a descriptor). */
  stdout: string;
  stderr: string;
}

/**
 * `npm <args>` in `cwd`; resolves when it exits, whatever its status. `stdio` defaults to
 * capturing stdout and stderr; pass e.g. `['ignore', 2, 2]` to send npm's output to our stderr.
 */
export function runNpm(args: readonly string[], options: { cwd: string; stdio?: StdioOptions; timeoutMs?: number }): Promise<NpmResult> {
  const { command, prefixArgs } = npmCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...prefixArgs, ...args], {
      cwd: options.cwd,
      env: npmEnvironment(),
      stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
      shell: process.platform === 'win32',
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
