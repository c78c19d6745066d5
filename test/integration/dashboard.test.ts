/**
 * The Grafana dashboard (docs/grafana/aof2-dashboard.json) and the Prometheus alert rules
 * (docs/grafana/aof2-alerts.yml) may name only metrics the engine really exports: every `aof_*`
 * name in a query must be on the registry of a manager that ran a Tier 2 workload (histogram
 * series `_bucket`/`_sum`/`_count` count as their histogram). The seed's replay panels keep their
 * ids and thresholds (panel 12: 3 s / 5 s, panel 13: 1024 / 4096 bytes).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AofManager } from '../../src/index.js';
import { PACKAGE_ROOT } from '../../support/paths.js';
import { fill, smallEngine } from '../../support/tier2-suite.js';
import { tempRoot } from '../../support/tmp.js';

interface Panel {
  id: number;
  title: string;
  targets: { expr: string }[];
  fieldConfig: { defaults: { thresholds?: { steps: { value: number | null }[] } } };
}

const metricNames = (expr: string): string[] => [...expr.matchAll(/\baof_[a-z0-9_]+/g)].map((m) => m[0]);

test('the dashboard and the alert rules refer only to metrics that exist', async (t) => {
  const dashboard = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'docs/grafana/aof2-dashboard.json'), 'utf8')) as { title: string; panels: Panel[] };
  const rules = readFileSync(join(PACKAGE_ROOT, 'docs/grafana/aof2-alerts.yml'), 'utf8');
  const { root, cleanup } = tempRoot();
  t.after(cleanup);
  const manager = await AofManager.open(smallEngine(root, { kind: 'fs', root: `${root}-tier2` }, 1 << 30));
  let exported: Set<string>;
  try {
    await fill(await manager.openStream('dash'), 0, 200);
    await manager.settle();
    exported = new Set((await manager.registry.getMetricsAsJSON()).map((m) => m.name));
  } finally {
    await manager.close();
  }
  const used = new Set<string>();
  for (const panel of dashboard.panels) {
    assert.ok(panel.targets.length > 0, `panel ${panel.id} has a query`);
    for (const target of panel.targets) for (const name of metricNames(target.expr)) used.add(name);
  }
  const ruleExprs = [...rules.matchAll(/^\s*expr:\s*(.+)$/gm)].map((m) => m[1]!);
  assert.ok(ruleExprs.length >= 5, 'the rules file holds the alerts');
  for (const expr of ruleExprs) for (const name of metricNames(expr)) used.add(name);
  const missing = [...used].filter((name) => !exported.has(name) && !exported.has(name.replace(/_(bucket|sum|count)$/, '')));
  assert.deepEqual(missing, [], 'every metric the dashboard or the rules name is exported');
  assert.ok(used.size >= 10, `the dashboard and rules use ${used.size} metrics`);
  // Issue #5's panels: throughput, WouldBlock, queues, tiers, breaker (and the seed's replay panels).
  const onDashboard = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((target) => metricNames(target.expr))));
  for (const name of [
    'aof_appended_records_total',
    'aof_appended_bytes_total',
    'aof_wouldblock_total',
    'aof_queue_depth',
    'aof_tier0_fsync_seconds_bucket',
    'aof_segments',
    'aof_arena_slots',
    'aof_tier1_compress_input_bytes_total',
    'aof_tier1_hydration_seconds_bucket',
    'aof_tier2_breaker_state',
    'aof_tier2_upload_failures_total',
  ]) {
    assert.ok(onDashboard.has(name), `the dashboard shows ${name}`);
  }
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');

  assert.equal(dashboard.title, 'Tiered AOF2 / Manifest Replay');
  const thresholds = (id: number): (number | null)[] => dashboard.panels.find((p) => p.id === id)!.fieldConfig.defaults.thresholds!.steps.map((s) => s.value);
  assert.deepEqual(thresholds(12), [null, 3, 5]);
  assert.deepEqual(thresholds(13), [null, 1024, 4096]);
  assert.match(dashboard.panels.find((p) => p.id === 12)!.targets[0]!.expr, /aof_manifest_replay_chunk_lag_seconds/);
  assert.match(dashboard.panels.find((p) => p.id === 13)!.targets[0]!.expr, /aof_manifest_replay_journal_lag_bytes/);
});
