/**
 * `npm run chaos -- --quick` inside `npm test` (issue #6): the chaos runner (chaos/run.ts) as a
 * child process with `--quick --json`, and its verdict checked here: every scenario ran (none
 * skipped, except disk-full where this machine refuses a tmpfs mount, with the reason shown),
 * injected what it should, reached its quick target, lost 0 records and hung 0 operations.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ScenarioReport } from '../../chaos/scenario.js';

const RUNNER = fileURLToPath(new URL('../../chaos/run.js', import.meta.url));

interface Summary {
  mode: string;
  ok: boolean;
  scenarios: ScenarioReport[];
}

function runQuick(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, '--quick', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('chaos --quick: every scenario runs, injects its faults, loses nothing and hangs nothing', { timeout: 600_000 }, async (t) => {
  const started = Date.now();
  const { code, stdout, stderr } = await runQuick();
  let summary: Summary;
  try {
    summary = JSON.parse(stdout) as Summary;
  } catch {
    assert.fail(`the runner printed no JSON (exit ${code}):\n${stdout.slice(-2000)}\n${stderr.slice(-4000)}`);
  }
  assert.equal(summary.mode, 'quick');
  const byName = new Map(summary.scenarios.map((s) => [s.name, s]));
  assert.deepEqual([...byName.keys()], ['sigkill', 'sigkill-1k', 'crash-storm', 'outage', 'disk-full', 'corrupt-fuzz'], 'every scenario ran, in order');
  for (const s of summary.scenarios) {
    t.diagnostic(`${s.name}: ${s.status}, rounds ${s.rounds}, injected ${s.injected}, verified ${s.verified}, lost ${s.lost}, hung ${s.hung}, ${(s.durationMs / 1000).toFixed(1)} s${s.reason === null ? '' : ` (${s.reason})`}`);
    if (s.status === 'skipped') {
      // Only the tmpfs mount may be refused (no root or CAP_SYS_ADMIN); the reason says so.
      assert.equal(s.name, 'disk-full', `${s.name} was skipped: ${s.reason}`);
      t.diagnostic(`disk-full skipped here: ${s.reason}`);
      continue;
    }
    assert.equal(s.lost, 0, `${s.name}: records lost (${s.failures.join('; ')})`);
    assert.equal(s.hung, 0, `${s.name}: hung operations (${s.failures.join('; ')})`);
    assert.equal(s.status, 'passed', `${s.name}: ${s.reason}\n${s.failures.join('\n')}`);
    assert.ok(s.targetMet, `${s.name}: quick target not met (${s.target})`);
    assert.ok(s.verified > 0, `${s.name}: verified no record`);
  }
  const f = (name: string, key: string): number => Number(byName.get(name)!.figures[key] ?? 0);
  // What each scenario had to inject.
  assert.ok(byName.get('sigkill')!.injected >= 5, 'at least 5 SIGKILLs');
  assert.ok(f('sigkill', 'acknowledged') > 0 && f('sigkill', 'child.uploaded') > 0 && f('sigkill', 'child.evicted') > 0, 'kills landed while uploading and evicting');
  assert.ok(byName.get('sigkill-1k')!.injected >= 1 && f('sigkill-1k', 'fullReads') >= 1, 'a SIGKILL across 1,000 streams, then every stream read from id 0');
  assert.ok(byName.get('crash-storm')!.injected >= 60, 'at least 60 injected worker crashes');
  assert.ok(f('crash-storm', 'crashes.compress') > 0 && f('crash-storm', 'crashes.upload') > 0 && f('crash-storm', 'crashes.hydrate') > 0, 'crashes in all three pools');
  assert.ok(f('outage', 'freezes') >= 1 && f('outage', 'slowWindows') >= 1, 'the store was frozen and slowed');
  assert.ok(f('outage', 'breakerOpened') >= 1 && f('outage', 'breakerClosed') >= 1, 'the breaker opened and closed');
  if (byName.get('disk-full')!.status !== 'skipped') assert.ok(f('disk-full', 'error.AOF_ERR_IO.ENOSPC') >= 2, 'ENOSPC reported as AOF_ERR_IO');
  assert.ok(byName.get('corrupt-fuzz')!.injected >= 3000 && f('corrupt-fuzz', 'cases.wholeRoot') >= 40, 'fuzz cases ran');
  assert.equal(code, summary.ok ? 0 : 1);
  t.diagnostic(`quick chaos run: ${((Date.now() - started) / 1000).toFixed(0)} s`);
});
