/**
 * Prometheus metrics of a follower (`AofManager.open({ follower })`), read from its `stats()` at
 * scrape time (prom-client `collect`), so polls never call into prom-client:
 * - `aof_follower_lag_seconds{stream}` (gauge): seconds from the newest record the follower can
 *   read to now (FollowerLag.lagSeconds; absent for a stream with no segment yet);
 * - `aof_follower_records_not_uploaded{stream}` (gauge): records the writer's replicated manifest
 *   records as sealed that the bucket does not hold yet;
 * - `aof_follower_next_id{stream}` (gauge): one past the last record the follower can read;
 * - `aof_follower_polls_total`, `aof_follower_manifest_gets_total`,
 *   `aof_follower_manifest_replays_total` (counters);
 * - `aof_follower_last_change_timestamp_seconds` (gauge): when a poll last found the manifest
 *   objects changed (absent before the first change).
 * docs/metrics.md describes each.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { FollowerStats } from '../manager.js';

/** Names of the follower metrics, by field; docs/metrics.md describes each. */
export const FOLLOWER_METRIC_NAMES = {
  lagSeconds: 'aof_follower_lag_seconds',
  recordsNotUploaded: 'aof_follower_records_not_uploaded',
  nextId: 'aof_follower_next_id',
  polls: 'aof_follower_polls_total',
  manifestGets: 'aof_follower_manifest_gets_total',
  manifestReplays: 'aof_follower_manifest_replays_total',
  lastChange: 'aof_follower_last_change_timestamp_seconds',
} as const;

/** Registers the follower metrics on `registry`, each reading `stats()` when scraped; returns their names. */
export function registerFollowerMetrics(registry: Registry, stats: () => FollowerStats): string[] {
  const names: string[] = [];
  const perStream = (name: string, help: string, read: (lag: FollowerStats['streams'][string]) => number | null): void => {
    names.push(name);
    new Gauge({
      name,
      help,
      labelNames: ['stream'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [stream, lag] of Object.entries(stats().streams)) {
          const value = read(lag);
          if (value !== null) this.set({ stream }, value);
        }
      },
    });
  };
  const counter = (name: string, help: string, read: (s: FollowerStats) => number): void => {
    names.push(name);
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read(stats()));
      },
    });
  };
  perStream(FOLLOWER_METRIC_NAMES.lagSeconds, 'Seconds from the newest record the follower can read to now (an upper bound of its lag)', (lag) => lag.lagSeconds);
  perStream(FOLLOWER_METRIC_NAMES.recordsNotUploaded, 'Records the writer sealed (replicated manifest) that the bucket does not hold yet', (lag) => lag.recordsNotUploaded);
  perStream(FOLLOWER_METRIC_NAMES.nextId, 'One past the last record the follower can read', (lag) => lag.nextId);
  counter(FOLLOWER_METRIC_NAMES.polls, 'Polls of the bucket (one LIST of manifest/ each)', (s) => s.polls);
  counter(FOLLOWER_METRIC_NAMES.manifestGets, 'Manifest objects fetched (only those whose ETag changed)', (s) => s.manifestGets);
  counter(FOLLOWER_METRIC_NAMES.manifestReplays, 'Polls that found the manifest objects changed and replayed them', (s) => s.manifestReplays);
  names.push(FOLLOWER_METRIC_NAMES.lastChange);
  new Gauge({
    name: FOLLOWER_METRIC_NAMES.lastChange,
    help: 'When a poll last found the manifest objects changed (seconds since the epoch)',
    registers: [registry],
    collect() {
      this.reset();
      const at = stats().lastChangeAt;
      if (at !== null) this.set(at / 1000);
    },
  });
  return names;
}
