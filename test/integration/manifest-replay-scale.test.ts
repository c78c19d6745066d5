/**
 * Snapshots keep replay flat as history grows. The same workload is written with 10,500 and
 * 100,500 transitions (group commits of 1,000 from 4 concurrent appenders, snapshots every
 * 10,000): after a reopen, the number of records replayed is the same for both (bounded by
 * snapshotEvery, whatever the history length), and the catalog is exact. Without snapshots the
 * replay reads the whole history. Wall times are logged for the record (test diagnostics), never
 * asserted: counts are what the design guarantees. What remains proportional is the snapshot
 * itself, i.e. the number of LIVE segments (this workload deletes only one segment in nine, so
 * its catalog grows with history; retention bounds it in practice).
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { ManifestLog, type ReplayReport } from '../../src/manifest/manifest-log.js';
import { workloadModel, workloadOps } from '../../support/manifest-workload.js';
import { tempRoot } from '../../support/tmp.js';
import { CHUNK_FILE_SUFFIX } from '../../src/format/root-layout.js';

const SNAPSHOT_EVERY = 10_000;
const WRITERS = 4;
const BATCH = 250;

async function writeHistory(dir: string, transitions: number, snapshotEvery: number): Promise<{ commits: number; snapshots: number; chunksLeft: number }> {
  const { manifest } = await ManifestLog.open({ dir, snapshotEvery, chunkBytes: 256 * 1024 });
  const step = WRITERS * BATCH;
  for (let i = 0; i < transitions; i += step) {
    const calls: Promise<void>[] = [];
    for (let w = 0; w < WRITERS; w++) {
      const from = Math.min(transitions, i + w * BATCH);
      const to = Math.min(transitions, from + BATCH);
      if (from < to) calls.push(manifest.append(workloadOps(from, to)));
    }
    await Promise.all(calls);
  }
  await manifest.close();
  const stats = manifest.stats();
  return { commits: stats.commits, snapshots: stats.snapshots, chunksLeft: readdirSync(dir).filter((n) => n.endsWith(CHUNK_FILE_SUFFIX)).length };
}

/** Opens `dir` three times (nothing is appended, so each replay is the same); the fastest wall time is logged. */
async function replay(dir: string): Promise<{ report: ReplayReport; ms: number; segments: number }> {
  const runs: { report: ReplayReport; segments: number; ms: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const { manifest, catalog, report } = await ManifestLog.open({ dir, strict: true });
    runs.push({ report, segments: catalog.segmentCount, ms: performance.now() - started });
    await manifest.close(); // one ManifestLog per directory at a time
  }
  const strip = (r: ReplayReport): ReplayReport => ({ ...r, chunkLagSeconds: 0 });
  assert.deepEqual(strip(runs[2]!.report), strip(runs[0]!.report), 'replay is repeatable');
  return { ...runs[2]!, ms: Math.min(...runs.map((r) => r.ms)) };
}

test('replay of 10,500 vs 100,500 transitions reads the same number of records', async (t) => {
  const { root, cleanup } = tempRoot('aof2-scale-');
  t.after(cleanup);
  const rows: string[] = [];
  const replayed: Record<string, number> = {};
  for (const transitions of [10_500, 100_500]) {
    const dir = join(root, String(transitions));
    const written = await writeHistory(dir, transitions, SNAPSHOT_EVERY);
    assert.equal(written.snapshots, Math.floor(transitions / SNAPSHOT_EVERY));
    assert.ok(written.commits <= Math.ceil(transitions / (WRITERS * BATCH)) + written.snapshots, `group commit: ${written.commits} commits`);
    const { report, ms, segments } = await replay(dir);
    // The newest snapshot covers all but the last 500 transitions; replay reads those and its SNAPSHOT marker.
    assert.equal(report.recordsReplayed, 501, `${transitions}: ${JSON.stringify(report)}`);
    assert.ok(report.recordsReplayed <= SNAPSHOT_EVERY);
    assert.ok(report.chunkCount <= 2, `${transitions}: ${report.chunkCount} chunks inspected`);
    assert.equal(report.snapshotSeq, written.snapshots);
    assert.equal(report.corruptionEvents, 0);
    assert.ok(written.chunksLeft <= 6, `pruning keeps the chunk count bounded: ${written.chunksLeft}`);
    const model = workloadModel(transitions);
    assert.equal(segments, model.segmentCount);
    replayed[transitions] = report.recordsReplayed;
    rows.push(`${transitions} transitions, snapshots every ${SNAPSHOT_EVERY}: replayed ${report.recordsReplayed} records from ${report.chunkCount} chunk(s) + snapshot of ${segments} segments in ${ms.toFixed(1)} ms`);
  }
  assert.equal(replayed[10_500], replayed[100_500], 'replay does not grow with history');

  // Without snapshots the whole history is replayed: what the snapshots save.
  const dir = join(root, 'no-snapshots');
  await writeHistory(dir, 100_500, Infinity);
  const { report, ms, segments } = await replay(dir);
  assert.equal(report.recordsReplayed, 100_500);
  assert.equal(report.snapshotSeq, null);
  assert.equal(segments, workloadModel(100_500).segmentCount);
  rows.push(`100500 transitions, no snapshots: replayed ${report.recordsReplayed} records from ${report.chunkCount} chunk(s) in ${ms.toFixed(1)} ms`);
  for (const row of rows) t.diagnostic(row);
});

test('the replayed catalog equals the model exactly after 100,500 transitions', async (t) => {
  const { root, cleanup } = tempRoot('aof2-scale-');
  t.after(cleanup);
  await writeHistory(root, 100_500, SNAPSHOT_EVERY);
  const { manifest, catalog } = await ManifestLog.open({ dir: root });
  t.after(() => manifest.close());
  assert.deepEqual(catalog.toSnapshotStreams(), workloadModel(100_500).toSnapshotStreams());
});
