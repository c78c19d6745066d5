/**
 * Installs the peer libraries into peer-bench/node_modules when they are missing or older than
 * peer-bench/package-lock.json: `npm ci` in peer-bench/, exact versions from that lockfile. The
 * peers suite calls it before loading them, so `npm run bench:peers` and `npm run bench` work on a
 * clone whose root install never fetched them (docs/decisions.md, "The package ships
 * dist/, built in prepack; the peer libraries live under peer-bench/").
 *
 * npm's output goes to our stderr: stdout carries the runner's --json document. The npm is the one
 * running us under `npm run bench:peers`, else the one on PATH (support/npm.ts).
 */
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { runNpm } from '../support/npm.js';
import { PEER_PACKAGE_JSON, PEER_PACKAGES } from './libraries.js';

const PEER_DIR = dirname(PEER_PACKAGE_JSON);
/** npm writes this copy of the lockfile into node_modules after every install. */
const INSTALLED_LOCK = join(PEER_DIR, 'node_modules', '.package-lock.json');

function mtimeMs(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** Why the peers need installing, or null when every one resolves and the install is current. */
export function peerInstallReason(): string | null {
  const require = createRequire(PEER_PACKAGE_JSON);
  const missing = PEER_PACKAGES.filter((name) => {
    try {
      require.resolve(name);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) return `${missing.join(', ')} not installed in peer-bench/node_modules`;
  const installed = mtimeMs(INSTALLED_LOCK);
  const locked = mtimeMs(join(PEER_DIR, 'package-lock.json'));
  if (installed !== null && locked !== null && locked > installed) return 'peer-bench/package-lock.json changed since the last install';
  return null;
}

/** Runs `npm ci` in peer-bench/ if peerInstallReason() says so; rejects when npm fails. */
export async function ensurePeerLibraries(progress: (message: string) => void): Promise<void> {
  const reason = peerInstallReason();
  if (reason === null) return;
  progress(`peers: ${reason}: npm ci in ${PEER_DIR}`);
  const howToRetry = 'the peers suite did not run; install them by hand: npm ci --prefix peer-bench';
  let result;
  try {
    result = await runNpm(['ci', '--no-audit', '--no-fund'], { cwd: PEER_DIR, stdio: ['ignore', 2, 2] });
  } catch (err) {
    throw new Error(`peers: could not start npm (${(err as Error).message}); ${howToRetry}`);
  }
  if (result.code !== 0) throw new Error(`peers: npm ci in peer-bench/ failed (${result.signal ?? `exit ${result.code}`}); ${howToRetry}`);
  const after = peerInstallReason();
  if (after !== null) throw new Error(`peers: after npm ci in peer-bench/: ${after}; ${howToRetry}`);
}
