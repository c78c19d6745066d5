export { AofManager } from './aof-manager.js';
export type { FollowerLag, FollowerStats, ManagerStats, ReadOnlyStats } from './manager.js';
export type { CodecChoice, ZstdImplementation } from './codec/zstd.js';
export type { ArenaOccupancy } from './arena/arena.js';
export type { Tier0Figures } from './metrics/engine-metrics.js';
export type { WindowBudgetFigures } from './arena/window-budget.js';
export type { ReplayReport } from './manifest/manifest-log.js';
export { AofLog } from './log.js';
export type { AppendOptions, FlushOptions } from './log.js';
export type { FollowOptions } from './follow.js';
export type { LogRecord } from './reader.js';
export { AofReader } from './reader.js';
export type { ShareHandle } from './share/share-host.js';
export type { ReaderNextOptions, ReaderOptions } from './reader.js';
export type { LogReadStream, ReadStreamOptions, WriteStreamOptions } from './node-streams.js';
export { AofError, WouldBlockError, ErrorCode, WouldBlockKind } from './errors.js';
export type { ErrorCodeValue, SerializedAofError, SerializedCause, WouldBlockKindValue } from './errors.js';
export type { AofManagerOptions, FollowerOptions, FsyncPolicy, MetricsOptions, PrefaultMode, ReadOnlyOptions, ResolvedConfig, Tier0Options, Tier1Options, Tier2Options } from './config.js';
export type { Tier2Credentials, Tier2CredentialsProvider } from './tier2/credentials.js';
export type { StreamOptions } from './config.js';
export type { RetentionOptions } from './retention.js';
export type { Tier2Stats } from './tier2/tier2.js';
export type { Tier1Stats } from './tier1/tier1.js';
export { AOF_EVENTS } from './events.js';
export type {
  AofEventName,
  AofLogger,
  BreakerEvent,
  ManifestAppendFailedEvent,
  SegmentCompressedEvent,
  SegmentEvictedEvent,
  SegmentHydratedEvent,
  SegmentSealedEvent,
  SegmentUploadedEvent,
  TaskEvent,
  TaskKind,
} from './events.js';
export { AOF_SPANS } from './tracing.js';
export type {
  AofSpanName,
  AppendDurableSpanContext,
  ManifestCompactionSpanContext,
  SegmentCompressSpanContext,
  SegmentHydrateSpanContext,
  SegmentSealSpanContext,
  SegmentUploadSpanContext,
  SpanContextBase,
} from './tracing.js';
export { serveMetrics } from './metrics/serve-metrics.js';
export type { MetricsServer, ServeMetricsOptions } from './metrics/serve-metrics.js';
export { ENGINE_METRIC_NAMES } from './metrics/engine-metrics.js';
export { TIER2_METRIC_NAMES } from './metrics/tier2-metrics.js';
export { MANIFEST_METRIC_NAMES } from './metrics/manifest-metrics.js';
export type { HistogramSnapshot } from './metrics/latency-histogram.js';
export type { SegmentCounts } from './metrics/residency.js';
