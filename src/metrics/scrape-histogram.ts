/**
 * A prom-client-compatible histogram whose buckets come from the engine at scrape time.
 *
 * prom-client's own Histogram can only `observe()`, which would put prom-client on the path that
 * records (appends, the flush worker). This class implements the small interface the Registry
 * calls (`name`, `help`, `type`, `aggregator`, `get()`, `reset()`) and renders a snapshot read
 * when scraped: cumulative `_bucket{le}` series, `_sum` and `_count`, exactly what prom-client
 * prints for its own histograms.
 */
import type { Metric, Registry } from 'prom-client';
import type { HistogramSnapshot } from './latency-histogram.js';

/** One line of the exposition: `metricName{labels} value`. */
interface ScrapeValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/** What Registry.getMetricsAsString and getMetricsAsJSON read from a metric's get(). */
interface ScrapeMetricObject {
  name: string;
  help: string;
  type: 'histogram';
  aggregator: 'sum';
  values: ScrapeValue[];
}

export class ScrapeHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly labelNames: string[] = [];
  readonly #read: () => HistogramSnapshot;

  constructor(name: string, help: string, read: () => HistogramSnapshot) {
    this.name = name;
    this.help = help;
    this.#read = read;
  }

  /** Registers this histogram on `registry`. */
  register(registry: Registry): void {
    registry.registerMetric(this as unknown as Metric);
  }

  get(): Promise<ScrapeMetricObject> {
    const snap = this.#read();
    const values: ScrapeValue[] = [];
    let cumulative = 0;
    for (let i = 0; i <= snap.bounds.length; i++) {
      cumulative += snap.counts[i] ?? 0;
      const le = i < snap.bounds.length ? snap.bounds[i]! : '+Inf';
      values.push({ metricName: `${this.name}_bucket`, labels: { le }, value: cumulative });
    }
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: snap.sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: snap.count });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** The engine owns the figures; a registry reset cannot rewind them. */
  reset(): void {}
}
