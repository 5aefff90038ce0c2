import { availableParallelism } from 'node:os'
import type { BlobStore } from '../blobs/index.ts'
import type { CodecPool } from '../codec/index.ts'
import type { FileService } from '../files/index.ts'
import { DEFAULT_IMAGE_LIMITS, Detector, type ImageLimits, Slots } from '../images/index.ts'
import {
  type JobEventFeed,
  type JobKind,
  JobRunner,
  JobService,
  KindRegistry,
} from '../jobs/index.ts'
import type {
  ImageStore,
  LeaderLeases,
  MetaStore,
  RunStore,
  ScheduleStore,
  ScheduleTicks,
} from '../meta/index.ts'
import {
  advanceRunOfJob,
  DeadLetters,
  PendingAdvances,
  PipelineService,
  RunEngine,
  RunService,
  refuseRetryInEndedRun,
} from '../pipelines/index.ts'
import type { ConsumerOptions, Queue } from '../queue/index.ts'
import { type MaintenanceTask, Scheduler, ScheduleService } from '../schedules/index.ts'
import type { Logger, Registry } from '../telemetry/index.ts'
import { jobWorkers, runWorkers, ShardWatcher } from '../worker/index.ts'
import { leadOrReclaim, leaseHolder } from './with-lease.ts'
import { countEndedJobs } from './work-metrics.ts'

export interface JobSystemOptions {
  meta: MetaStore & RunStore & ImageStore & ScheduleStore & ScheduleTicks
  queue: Queue
  /**
   * Whether every consumer of `queue` is in this process (the embedded queue, whose folder no
   * other process may open): job ends then share a run's advance queued and not yet started.
   */
  localQueue?: boolean
  files: FileService
  blobs: BlobStore
  pool: CodecPool
  feed: JobEventFeed
  logger: Logger
  /** The kinds Piper knows (default: the built-in ones). */
  kinds?: KindRegistry
  /** The kinds this process runs tasks of (`--kinds`); default all. None: no workers. */
  serve?: readonly JobKind[]
  /** Tasks of one kind run at once. */
  concurrency: number
  maxOutputBytes?: number
  imageLimits?: ImageLimits
  /** Threads that run image detection models (each loads the model once). */
  detectThreads?: number
  runMaxInFlight?: number
  sweepIntervalMs?: number
  /** How often workers look for new shard queues of their kinds. */
  shardScanMs?: number
  consumer?: ConsumerOptions
  /** The schedules' clock (tests drive it); default `Date.now`. */
  now?: () => number
  /** Where the periodic sweeps' leader is chosen (one process of the cluster sweeps); none: every process. */
  leases?: LeaderLeases
  /** Maintenance the scheduler runs at its ticks (garbage collection, scrub, backups). */
  maintenance?: readonly MaintenanceTask[]
  /** Where workers count and time their tasks. */
  metrics?: Registry
}

/** A long-lived part with a start and a draining, idempotent close. */
export interface Component {
  readonly name: string
  start(): Promise<void>
  close(): Promise<void>
}

/**
 * Jobs and pipelines wired together once, for `piper up` and for tests: the services the
 * gateway calls, the runner and engine workers call, and the worker runtimes for the kinds
 * served. A job of a run that ends queues the run's next advance.
 */
export function jobSystem(options: JobSystemOptions) {
  const { meta, queue, files, blobs, pool, feed, logger } = options
  const kinds = options.kinds ?? new KindRegistry()
  // With every consumer of the queue in this process, an end's advance may be one already queued.
  const pending = options.localQueue ? new PendingAdvances() : undefined
  const advance = advanceRunOfJob(queue, pending)
  const onEnded = options.metrics ? countEndedJobs(options.metrics, advance) : advance
  const canRetry = refuseRetryInEndedRun(meta)
  const sweepIntervalMs = options.sweepIntervalMs
  // Each periodic sweep is led by one process of the cluster; its lease outlasts three sweeps.
  const holder = leaseHolder()
  const leadSweep = (name: string) => {
    const leases = options.leases
    if (!leases) return undefined
    const ttl = 3 * (sweepIntervalMs ?? 30_000)
    return () => leadOrReclaim(leases, name, holder, ttl).catch(() => false)
  }
  const jobs = new JobService({
    meta,
    queue,
    files,
    feed,
    logger,
    kinds,
    onEnded,
    canRetry,
    sweepIntervalMs,
    leadSweep: leadSweep('outbox-sweep'),
  })
  const detector = new Detector({ threads: options.detectThreads })
  const images = {
    limits: options.imageLimits ?? DEFAULT_IMAGE_LIMITS,
    detector,
    store: meta,
    // Four images per core, as many as a kind's workers run at once: with two, the thumbnails
    // bench fell from 0.91 to 0.85 of sharp alone (libvips' threads waited on reads and writes).
    slots: new Slots(4 * availableParallelism()),
  }
  const runner = new JobRunner({
    images,
    meta,
    files,
    blobs,
    queue,
    pool,
    feed,
    logger,
    kinds,
    maxDecompressOutput: options.maxOutputBytes,
    onEnded,
  })
  const pipelines = new PipelineService({ store: meta, kinds, queue })
  const engine = new RunEngine({
    meta,
    jobs,
    kinds,
    feed,
    logger,
    maxInFlight: options.runMaxInFlight,
  })
  const deadLetters = new DeadLetters({ queue, jobs, meta })
  const runs = new RunService({
    meta,
    queue,
    files,
    pipelines,
    engine,
    kinds,
    feed,
    logger,
    sweepIntervalMs,
    leadSweep: leadSweep('run-sweep'),
  })
  const schedules = new ScheduleService({ store: meta, pipelines, now: options.now })
  // Every process that serves requests ticks the schedules; each tick starts one run in all.
  const scheduler = new Scheduler({
    store: meta,
    runs,
    files,
    logger,
    now: options.now,
    tasks: options.maintenance,
  })
  const serve = options.serve ?? kinds.all
  const kindWorkers = {
    queue,
    runner,
    logger,
    kinds: serve,
    concurrency: options.concurrency,
    consumer: options.consumer,
    metrics: options.metrics,
  }
  const kindRuntimes = serve.length === 0 ? [] : jobWorkers(kindWorkers)
  const workersLog = logger.child({ component: 'workers' })
  const workers: Component[] =
    serve.length === 0
      ? []
      : [
          // First, so closed last: a detection the workers wait for finishes before it stops.
          { name: 'detector', start: async () => {}, close: () => detector.close() },
          together('job-workers', kindRuntimes, (started) => {
            // One line for all of them (each runtime says its topic at debug).
            const fields = { kinds: serve.length, topics: kindRuntimes.length }
            if (started)
              workersLog.info({ ...fields, concurrency: options.concurrency }, 'workers started')
            else workersLog.info(fields, 'workers stopped')
          }),
          new ShardWatcher({ ...kindWorkers, intervalMs: options.shardScanMs }),
          runWorkers({
            queue,
            engine,
            logger,
            concurrency: 4,
            pending,
            consumer: options.consumer,
            metrics: options.metrics,
          }),
        ]
  return {
    kinds,
    jobs,
    runner,
    pipelines,
    engine,
    runs,
    deadLetters,
    workers,
    images,
    schedules,
    scheduler,
  }
}

export type JobSystem = ReturnType<typeof jobSystem>

/**
 * Components started and closed as one, all at once: a worker runtime per kind's topic and
 * its dead letters (30 with 14 kinds) each wait out a poll as they close, in parallel here.
 * `said` is told once they have all started, and once they have all closed.
 */
function together(
  name: string,
  parts: readonly Component[],
  said?: (started: boolean) => void,
): Component {
  return {
    name,
    start: async () => {
      for (const part of parts) await part.start()
      said?.(true)
    },
    close: async () => {
      await Promise.all(parts.map((part) => part.close()))
      said?.(false)
    },
  }
}
