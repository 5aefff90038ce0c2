import { MeteredBlobStore } from '../blobs/index.ts'
import { CodecPool } from '../codec/index.ts'
import {
  blobStoreFor,
  ConfigError,
  metaStoreFor,
  type PiperConfig,
  queueFor,
} from '../config/index.ts'
import { ChunkScrubber, chunkAnalyzer, FileService, GarbageCollector } from '../files/index.ts'
import { Gateway, type GatewayOptions } from '../gateway/index.ts'
import { type ImageLimits, OnDemandVariants } from '../images/index.ts'
import { JobEventFeed, KindRegistry } from '../jobs/index.ts'
import { Breakers } from '../net/index.ts'
import { TracedQueue } from '../queue/index.ts'
import { NodesBlobStore, storageMetrics, TieredBlobStore } from '../storage/index.ts'
import {
  createMetricsRegistry,
  type Logger,
  startTracing,
  traceHeaders,
} from '../telemetry/index.ts'
import { TusUploads } from '../tus/index.ts'
import { configuredBackups } from './backups.ts'
import { historyRetention } from './history-retention.ts'
import { type Component, jobSystem } from './job-system.ts'
import { maintenanceTasks } from './maintenance.ts'
import { dependencyChecks } from './readiness.ts'
import { StorageRepairs } from './storage-repairs.ts'
import { usageStats } from './usage-stats.ts'
import { webhookParts } from './webhook-parts.ts'
import { breakerMetrics, metaMetrics, queueMetrics } from './work-metrics.ts'

/**
 * What a process does: `gateway` serves the HTTP API, ticks the schedules and runs the
 * cluster's maintenance (each tick on one process); `worker` runs the tasks of its job kinds
 * and advances runs. `piper up` is both, on the embedded stores; `piper gateway` and
 * `piper worker` are one each, on stores every process shares.
 */
export type Role = 'gateway' | 'worker'

export interface PiperProcess {
  /** In start order: the supervisor starts them so and closes them in reverse. */
  components: Component[]
  /** The HTTP server: the API for a gateway, health and `/metrics` for a worker alone. */
  http: Gateway
}

/**
 * Builds a process of the given roles from the configuration: the one place where Piper is
 * wired, for `piper up` and the role commands. Nothing is started.
 */
export async function assembleProcess(
  config: PiperConfig,
  roles: ReadonlySet<Role>,
  logger: Logger,
): Promise<PiperProcess> {
  const serving = roles.has('gateway')
  const kinds = new KindRegistry()
  const serve =
    !roles.has('worker') || config.kinds.includes('none') ? [] : kindsToServe(kinds, config.kinds)
  // Every remote dependency (PostgreSQL, a queue server or NATS, S3, each storage node) is
  // called through a circuit breaker of these; /metrics shows them all.
  const breakers = new Breakers({ resetMs: config.circuitResetMs, logger })
  const { tracing, queue } = await tracedQueue(config, roles, logger, breakers)
  const queueComponent = { name: 'queue', start: () => queue.start(), close: () => queue.close() }
  const meta = await metaStoreFor(config.meta, { breakers })
  // nodes://registry reads its nodes from the metadata store, so the store starts first.
  const longTerm = await blobStoreFor(config.blobs, {
    storageToken: config.storageToken,
    logger,
    registry: meta,
    breakers,
  })
  // /readyz asks the metadata store and the queue anyway (through their breakers); the bucket
  // is asked only while its circuit is not closed (a storage node down is not unready).
  const blobsBreaker = breakers.get('blobs')
  const probed = blobsBreaker
    ? [{ breaker: blobsBreaker, probe: () => longTerm.stat(PROBE_KEY) }]
    : []
  const metrics = createMetricsRegistry()
  // With a staging tier, uploads land on it at disk speed and move to PIPER_BLOBS afterwards.
  // Every operation and byte is counted for /metrics, by adapter.
  const blobs = new MeteredBlobStore(
    config.staging
      ? new TieredBlobStore({ staging: await blobStoreFor(config.staging), longTerm, logger })
      : longTerm,
    metrics,
  )
  // Chunk hashing and counting (and, with jobs, the codec) run on these threads.
  const pool = new CodecPool(config.workers)
  const threads = { name: 'codec-pool', start: async () => {}, close: () => pool.close() }
  const files = new FileService({
    blobs,
    meta,
    logger,
    chunkSize: config.chunkSize,
    // Only what some job kind reads: a byte histogram per chunk for compress.
    analyze: chunkAnalyzer(pool, kinds.chunkAnalyses()),
    hash: (bytes) => pool.sha256(bytes),
  })
  // Resumable uploads: their state between requests is in the metadata store, so any gateway
  // takes the next PATCH; expired ones are freed by garbage collection.
  const tus = new TusUploads({
    files,
    meta,
    logger,
    expireAfterMs: config.tusExpireAfterMs,
    maxSize: config.tusMaxSize,
  })
  const stats = usageStats({ meta, logger })
  // Both run at the ticks of their schedules (one process of the cluster each); gc also at start.
  const gc = new GarbageCollector({
    files,
    logger,
    intervalMs: 0,
    sweeps: [
      () => tus.sweepExpired(),
      stats.prune,
      historyRetention({ meta, logger, retentionMs: config.historyRetentionMs }),
    ],
  })
  const scrubber = new ChunkScrubber({
    blobs,
    logger,
    intervalMs: 0,
    bytesPerSecond: config.scrubBytesPerSecond,
  })
  // With PIPER_BACKUPS: backups asked for through /v1/admin/backups or at PIPER_BACKUP_SCHEDULE.
  const backups = serving
    ? await configuredBackups(config, { meta, source: blobs, logger })
    : undefined
  // Live status follows the jobs every process writes: on PostgreSQL, their commits announce
  // themselves, so a job run by a worker is seen by every gateway at once (not at its next poll).
  const feed = new JobEventFeed(meta, { signals: meta })
  const imageLimits: ImageLimits = {
    maxInputPixels: config.imageMaxInputPixels,
    maxFrames: config.imageMaxFrames,
    maxInputBytes: config.imageMaxInputBytes,
    maxOutputDimension: config.imageMaxOutputDimension,
    allowSvg: config.imageAllowSvg,
  }
  const system = jobSystem({
    meta,
    queue,
    localQueue: config.queue.startsWith('embedded:'),
    files,
    blobs,
    pool,
    feed,
    logger,
    kinds,
    serve,
    // Four tasks per thread: a task spends most of its time reading its chunk, writing and
    // syncing the output and committing it, so with two per thread the pool sat idle (512 MiB
    // job: 3.6 s with two per thread, 3.0 s with four). At least 16: a task over a small file
    // is nearly all waiting (its commit's sync, its blob's), and with 8 at once a fan-out of
    // 1 000 tiny files left the main thread of a 2-core machine idle for 43% of its run.
    concurrency: Math.max(MIN_TASKS_PER_KIND, 4 * pool.size),
    maxOutputBytes: config.maxDecompressOutput,
    imageLimits,
    detectThreads: config.detectThreads,
    runMaxInFlight: config.runMaxInFlight,
    maintenance: maintenanceTasks(config, { gc, scrubber, backups }),
    metrics,
    leases: meta,
  })
  // Storage nodes are healed and rebalanced by one process of the cluster at a time.
  const nodes = longTerm instanceof NodesBlobStore ? longTerm : undefined
  const repairs =
    nodes && serving
      ? new StorageRepairs({
          store: nodes,
          leases: meta,
          logger,
          intervalMs: config.storageRepairIntervalMs,
          scrubBytesPerSecond: config.scrubBytesPerSecond,
        })
      : undefined
  const webhooks = webhookParts(config, {
    meta,
    queue,
    logger,
    metrics,
    serving,
    working: roles.has('worker'),
  })
  if (nodes) storageMetrics(metrics, nodes)
  queueMetrics(metrics, queue)
  breakerMetrics(metrics, breakers)
  metaMetrics(metrics, meta)
  const common: GatewayOptions = {
    host: config.host,
    port: config.port,
    logger,
    admins: config.adminClients,
    metrics,
    ready: dependencyChecks({ meta, queue, breakers: probed }),
    queueStats: () => queue.stats(),
    admission: {
      buckets: meta,
      perMinute: config.rateLimitPerMinute,
      burst: config.rateLimitBurst,
      maxQueuedJobs: config.maxQueuedJobs,
    },
    limits: {
      maxConnections: config.maxConnections,
      headersTimeoutMs: config.headersTimeoutMs,
      idleTimeoutMs: config.idleTimeoutMs,
      uploadsPerClient: config.uploadsPerClient,
      streamsPerClient: config.streamsPerClient,
      legacyRequests: config.legacyRequests,
    },
    browser: {
      publicHosts: config.publicHosts,
      corsOrigins: config.corsOrigins,
      inlineHosts: config.inlineHosts,
    },
  }
  const analyzed = new Set(config.imageAnalyzeUploads)
  const http = new Gateway(
    serving
      ? {
          ...common,
          storage: {
            files,
            meta,
            jsonBodyLimit: config.jsonBodyLimit,
            quotas: { bytes: config.quotaBytes, files: config.quotaFiles, jobs: config.quotaJobs },
            tus,
            webhooks: webhooks.service,
          },
          stats: stats.routes,
          jobs: {
            service: system.jobs,
            feed,
            kinds,
            pipelines: system.pipelines,
            runs: system.runs,
            deadLetters: system.deadLetters,
            schedules: system.schedules,
          },
          images: {
            store: meta,
            limits: imageLimits,
            variants: new OnDemandVariants({ files, limits: imageLimits }),
            analyzeUploads: (client) => analyzed.has('*') || analyzed.has(client),
          },
          backups,
          ...(nodes && repairs
            ? {
                storageAdmin: {
                  store: nodes,
                  repairs,
                  token: config.storageToken,
                  ...(config.blobs.startsWith('nodes://registry') ? { registry: meta } : {}),
                },
              }
            : {}),
        }
      : { ...common, ops: { meta } },
  )
  const components: Component[] = [
    // First, so closed last: the spans of everything else's shutdown are flushed too.
    tracing,
    threads,
    queueComponent,
    meta,
    feed,
    blobs,
    ...(repairs ? [repairs] : []),
    ...(backups ? [backups.target, backups] : []),
    system.jobs,
    system.runs,
    ...(serving ? [system.scheduler, stats.task] : []),
    ...system.workers,
    ...webhooks.components,
    ...(serving ? [gc, scrubber] : []),
    http,
  ]
  return { components, http }
}

/**
 * With OTEL_* set, spans go to the OTLP endpoint and every message carries the trace context
 * of its publisher; the tracing component flushes them at close (a no-op when off).
 */
async function tracedQueue(
  config: PiperConfig,
  roles: ReadonlySet<Role>,
  logger: Logger,
  breakers: Breakers,
) {
  const started = startTracing(roles.size > 1 ? 'piper' : `piper-${[...roles][0]}`)
  const tracing: Component = {
    name: 'tracing',
    start: async () => {},
    close: async () => started?.close(),
  }
  const queue = await queueFor(config.queue, {
    logger,
    token: config.queueToken,
    timeoutMs: config.queueTimeoutMs,
    breakers,
  })
  return { tracing, queue: new TracedQueue(queue, traceHeaders) }
}

/** A key no chunk has (not a sha256 of anything stored): what a probe of a blob store asks. */
const PROBE_KEY = '0'.repeat(64)

/** The kinds a `--kinds` list names; a pattern that names none is a configuration error. */
function kindsToServe(kinds: KindRegistry, patterns: readonly string[]) {
  try {
    return kinds.matching(patterns)
  } catch (error) {
    throw new ConfigError((error as Error).message, { setting: 'kinds' })
  }
}

/** Tasks of one kind a process runs at once, however few its codec threads (see `concurrency`). */
const MIN_TASKS_PER_KIND = 16
