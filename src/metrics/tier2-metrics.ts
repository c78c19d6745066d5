/**
 * Prometheus metrics of Tier 2, read from the engine's own counters at scrape time (prom-client
 * `collect`), so uploads and evictions never call into prom-client:
 * - `aof_tier2_breaker_state` (gauge): 0 closed, 1 open, 2 half-open;
 * - `aof_tier2_breaker_transitions_total{to}` (counter): openings and closings since open;
 * - `aof_tier2_uploads_total`, `aof_tier2_upload_bytes_total`, `aof_tier2_upload_retries_total`
 *   (counters); `aof_tier2_upload_queue` (gauge: uploads waiting or running);
 * - `aof_tier2_pending_bytes` (gauge): local bytes not in Tier 2 yet (what back-pressure compares
 *   with the Tier 1 budget); `aof_tier1_local_bytes` (gauge): local Tier 1 files;
 * - `aof_tier2_upload_failures_total` (counter): uploads given up (a corrupt local copy, never uploaded);
 * - `aof_tier2_evictions_total` (counter): local Tier 1 copies evicted after upload;
 * - `aof_tier2_index_fetches_total` (counter): frame indexes read from objects (two ranged GETs
 *   each), and `aof_tier2_index_manifest_reads_total` (counter): first reads of a Tier 2 segment
 *   whose index came from the manifest (no index request).
 * Issue #5 adds the rest of the engine's metrics; these exist now because the circuit breaker's
 * state must be observable from the day it can open.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Tier2Stats } from '../tier2/tier2.js';

/** Names of the Tier 2 metrics (uploads, circuit breaker, local cache), by field; docs/metrics.md describes each. */
export const TIER2_METRIC_NAMES = {
  breakerState: 'aof_tier2_breaker_state',
  breakerTransitions: 'aof_tier2_breaker_transitions_total',
  uploads: 'aof_tier2_uploads_total',
  uploadBytes: 'aof_tier2_upload_bytes_total',
  uploadRetries: 'aof_tier2_upload_retries_total',
  uploadFailures: 'aof_tier2_upload_failures_total',
  uploadQueue: 'aof_tier2_upload_queue',
  pendingBytes: 'aof_tier2_pending_bytes',
  localBytes: 'aof_tier1_local_bytes',
  evictions: 'aof_tier2_evictions_total',
  manifestAppendFailures: 'aof_tier2_manifest_append_failures_total',
  indexFetches: 'aof_tier2_index_fetches_total',
  indexesFromManifest: 'aof_tier2_index_manifest_reads_total',
} as const;

/**
 * Registers the Tier 2 metrics on `registry`, each reading `stats()` when scraped; returns their names.
 * `pendingRawBytes` adds raw segments still waiting for compression to the pending gauge.
 */
export function registerTier2Metrics(registry: Registry, stats: () => Tier2Stats, pendingRawBytes: () => number): string[] {
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  };
  // Counters are monotonic totals kept by the engine: collect() sets them by resetting and adding.
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  };
  gauge(TIER2_METRIC_NAMES.breakerState, 'Tier 2 circuit breaker: 0 closed, 1 open, 2 half-open', () => stats().breakerState);
  new Counter({
    name: TIER2_METRIC_NAMES.breakerTransitions,
    help: 'Tier 2 circuit breaker transitions since the manager opened',
    labelNames: ['to'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ to: 'open' }, stats().breakerOpened);
      this.inc({ to: 'closed' }, stats().breakerClosed);
    },
  });
  counter(TIER2_METRIC_NAMES.uploads, 'Segments uploaded to Tier 2', () => stats().segmentsUploaded);
  counter(TIER2_METRIC_NAMES.uploadBytes, 'Bytes uploaded to Tier 2', () => stats().uploadedBytes);
  counter(TIER2_METRIC_NAMES.uploadRetries, 'Upload attempts that failed and were retried', () => stats().uploadRetries);
  gauge(TIER2_METRIC_NAMES.uploadQueue, 'Uploads waiting or running', () => stats().uploadQueue);
  gauge(TIER2_METRIC_NAMES.pendingBytes, 'Local bytes not in Tier 2 yet (compared with the Tier 1 budget)', () => stats().pendingBytes + pendingRawBytes());
  gauge(TIER2_METRIC_NAMES.localBytes, 'Bytes of local Tier 1 files', () => stats().localBytes);
  counter(TIER2_METRIC_NAMES.uploadFailures, 'Uploads given up (a corrupt local copy is never uploaded)', () => stats().uploadFailures);
  counter(TIER2_METRIC_NAMES.manifestAppendFailures, 'NEEDS_RECOVERY records that could not be appended (the next upload finds the damage again)', () => stats().manifestAppendFailures);
  counter(TIER2_METRIC_NAMES.evictions, 'Local Tier 1 copies evicted after upload', () => stats().segmentsEvicted);
  counter(TIER2_METRIC_NAMES.indexFetches, 'Frame indexes read from Tier 2 objects (two ranged GETs each): segments whose index the manifest did not hold', () => stats().indexFetches);
  counter(TIER2_METRIC_NAMES.indexesFromManifest, 'First reads of a Tier 2 segment whose frame index came from the manifest (no index request)', () => stats().indexesFromManifest);
  return Object.values(TIER2_METRIC_NAMES);
}
