/**
 * Prometheus metrics of manifest replay, with the names operators alert on (seed 002):
 * - `aof_manifest_replay_chunk_lag_seconds` (gauge): wall-clock seconds the last replay spent
 *   loading the snapshot, trimming and replaying chunks;
 * - `aof_manifest_replay_journal_lag_bytes` (gauge): trailing uncommitted bytes the last replay
 *   found (and trimmed) past the chunks' committed lengths;
 * - `aof_manifest_replay_chunk_count` (gauge): chunks the last replay inspected;
 * - `aof_manifest_replay_corruption_events` (counter): CRC or decode failures seen by every replay
 *   since the registry was created.
 *
 * The engine keeps its own numbers (ReplayReport); this file only renders them, so a process
 * without a registry pays nothing. Creation is get-or-create: prom-client refuses to register a
 * name twice, and a registry can outlive one manifest (reopen in the same process).
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** Names of the manifest replay metrics, by field; docs/metrics.md describes each. */
export const MANIFEST_METRIC_NAMES = {
  chunkLagSeconds: 'aof_manifest_replay_chunk_lag_seconds',
  journalLagBytes: 'aof_manifest_replay_journal_lag_bytes',
  chunkCount: 'aof_manifest_replay_chunk_count',
  corruptionEvents: 'aof_manifest_replay_corruption_events',
} as const;

export interface ManifestMetrics {
  chunkLagSeconds: Gauge;
  journalLagBytes: Gauge;
  chunkCount: Gauge;
  corruptionEvents: Counter;
}

/** What a replay reports to the metrics (a subset of ReplayReport). */
export interface ReplayFigures {
  chunkLagSeconds: number;
  journalLagBytes: number;
  chunkCount: number;
  corruptionEvents: number;
}

function gauge(registry: Registry, name: string, help: string): Gauge {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Gauge) return existing;
  return new Gauge({ name, help, registers: [registry] });
}

/**
 * Creates the replay metrics on `registry`, or returns the ones already registered there.
 * @throws Error from prom-client when a metric of another kind already uses one of the names
 */
export function createManifestMetrics(registry: Registry): ManifestMetrics {
  const existing = registry.getSingleMetric(MANIFEST_METRIC_NAMES.corruptionEvents);
  const corruptionEvents =
    existing instanceof Counter
      ? existing
      : new Counter({
          name: MANIFEST_METRIC_NAMES.corruptionEvents,
          help: 'CRC or decode failures observed while replaying the manifest log',
          registers: [registry],
        });
  return {
    chunkLagSeconds: gauge(registry, MANIFEST_METRIC_NAMES.chunkLagSeconds, 'Wall-clock seconds the last manifest replay spent trimming and replaying'),
    journalLagBytes: gauge(registry, MANIFEST_METRIC_NAMES.journalLagBytes, 'Trailing uncommitted bytes found by the last manifest replay'),
    chunkCount: gauge(registry, MANIFEST_METRIC_NAMES.chunkCount, 'Manifest log chunks inspected by the last replay'),
    corruptionEvents,
  };
}

/** Publishes one replay's figures: gauges are set, the corruption counter accumulates. */
export function recordReplay(metrics: ManifestMetrics, figures: ReplayFigures): void {
  metrics.chunkLagSeconds.set(figures.chunkLagSeconds);
  metrics.journalLagBytes.set(figures.journalLagBytes);
  metrics.chunkCount.set(figures.chunkCount);
  metrics.corruptionEvents.inc(figures.corruptionEvents);
}
