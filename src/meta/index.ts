/** The metadata port and its SQLite and PostgreSQL adapters. */
export type { ClientUsage, ClientUsageReader } from './client-usage.ts'
export { MetaError, type MetaErrorCode } from './errors.ts'
export {
  type EventSignals,
  JOB_EVENTS_CHANNEL,
  type Listener,
} from './event-signals.ts'
export { bandProbes, bandsOf, hammingDistance, popcount32 } from './hamming.ts'
export type { HistoryStore, PrunedHistory } from './history-store.ts'
export type {
  HashedImage,
  ImageBucket,
  ImageEntry,
  ImageMatch,
  ImageOutputBucket,
  ImageOutputsEntry,
  ImageStore,
} from './image-store.ts'
export type { LeaderLeases } from './leader-leases.ts'
export type { MetaCalls } from './meta-calls.ts'
export type { MetaDumps } from './meta-dumps.ts'
export type {
  AddChunkOptions,
  ChunkLease,
  HeldChunkLock,
  MetaStore,
  OneChunkOutput,
  ProgressEvent,
} from './meta-store.ts'
export { MIGRATIONS } from './migrations.ts'
export type { NodeRegistry, StorageNodeRecord, StorageNodeState } from './node-registry.ts'
export { PostgresDriver } from './postgres-driver.ts'
export type { BucketAnswer, RateBuckets } from './rate-buckets.ts'
export {
  type ChunkInfo,
  type FileRecord,
  JOB_STATES,
  type JobEvent,
  type JobEventQuery,
  type JobPatch,
  type JobRecord,
  type JobState,
  type ListOptions,
  type ManifestEntry,
  type NewJob,
  type RecordPage,
  type UploadProgress,
  type UploadSummary,
} from './records.ts'
export type {
  NewRun,
  PipelineRecord,
  RunJob,
  RunPatch,
  RunRecord,
  RunState,
  StepSummary,
} from './run-records.ts'
export type { RunStore } from './run-store.ts'
export type {
  ScheduleRecord,
  ScheduleStore,
  ScheduleTicks,
  TickRecord,
  TickState,
} from './schedule-store.ts'
export { DUMP_TABLES, DumpError, type DumpLine, UNDUMPED_TABLES } from './sql-dump.ts'
export { MAX_IMAGE_DISTANCE } from './sql-images.ts'
export { SqlMetaStore } from './sql-meta-store.ts'
export { SqliteDriver } from './sqlite-driver.ts'
export type { TusProgress, TusUploadRecord, TusUploadStore } from './tus-upload-store.ts'
export {
  bucketSpan,
  bucketStart,
  type CounterAdd,
  type CounterRow,
  GRANULARITIES,
  type Granularity,
  type SketchAdd,
  type SketchRow,
  type UsageQuery,
  type UsageStore,
} from './usage-store.ts'
export type {
  DeliveryRecord,
  WebhookPatch,
  WebhookRecord,
  WebhookState,
  WebhookStore,
} from './webhook-store.ts'
