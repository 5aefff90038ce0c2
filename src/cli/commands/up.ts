import { mkdir } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { configuredBackups, jobSystem, maintenanceTasks, StorageRepairs } from '../../app/index.ts'
import { CodecPool } from '../../codec/index.ts'
import {
  blobStoreFor,
  ConfigError,
  type FlagValues,
  loadConfig,
  localPath,
  metaStoreFor,
  queueFor,
} from '../../config/index.ts'
import { ChunkScrubber, chunkAnalyzer, FileService, GarbageCollector } from '../../files/index.ts'
import { Gateway } from '../../gateway/index.ts'
import { type ImageLimits, OnDemandVariants } from '../../images/index.ts'
import { JobEventFeed, KindRegistry } from '../../jobs/index.ts'
import { lockDir } from '../../log/index.ts'
import { NodesBlobStore, storageMetrics, TieredBlobStore } from '../../storage/index.ts'
import { createLogger, createMetricsRegistry } from '../../telemetry/index.ts'
import { CliError } from '../errors.ts'
import { Supervisor } from '../supervisor.ts'

/** Start-up failures a user can fix, by error code, as one line each. */
const LISTEN_CODES = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL'])

/** Locks a SQLite database file for this server (`E_META_LOCKED` when another holds it). */
async function lockSqlite(path: string): Promise<() => Promise<void>> {
  const file = resolve(path)
  await mkdir(dirname(file), { recursive: true })
  return lockDir(
    dirname(file),
    (owner) =>
      new CliError(
        `the metadata database ${file} is in use by process ${owner} (another piper up): one server per SQLite database; share PostgreSQL instead`,
        { code: 'E_META_LOCKED' },
      ),
    `${basename(file)}.lock`,
  )
}

/** The kinds a `--kinds` list names; a pattern that names none is a configuration error. */
function kindsToServe(kinds: KindRegistry, patterns: readonly string[]) {
  try {
    return kinds.matching(patterns)
  } catch (error) {
    throw new ConfigError((error as Error).message, { setting: 'kinds' })
  }
}

/**
 * `piper up`: the whole of Piper in one process on the embedded defaults. Resolves once a
 * signal has stopped it and every component has closed.
 */
export async function upCommand(flags: FlagValues): Promise<void> {
  const { config, warnings } = loadConfig({ flags })
  const logger = createLogger({ level: config.logLevel })
  for (const warning of warnings) logger.warn(warning)
  const kinds = new KindRegistry()
  const serve = config.kinds.includes('none') ? [] : kindsToServe(kinds, config.kinds)

  try {
    await mkdir(config.data, { recursive: true })
  } catch (error) {
    throw new CliError(`cannot create data folder ${config.data}: ${(error as Error).message}`, {
      code: 'E_DATA_DIR',
      cause: error,
    })
  }

  // One `piper up` per data folder, whatever the queue: two would share one SQLite database
  // and blob store, each collecting garbage the other is still writing. Taken before anything
  // opens a file there (or starts a thread that would keep a refused process alive).
  const unlockData = await lockDir(
    config.data,
    (owner) =>
      new CliError(
        `the data folder ${config.data} is in use by process ${owner} (another piper up): stop it or use another --data`,
        { code: 'E_DATA_LOCKED' },
      ),
  )
  // A SQLite database named outside the data folder is locked too (beside it, as NAME.lock):
  // `piper keys` may still open it, but not a second server.
  const unlockMeta = config.meta.startsWith('sqlite:')
    ? await lockSqlite(localPath(config.meta)).catch(async (error: unknown) => {
        await unlockData()
        throw error
      })
    : undefined
  const dataLock = {
    name: 'data-lock',
    start: async () => {},
    close: async () => {
      await unlockMeta?.()
      await unlockData()
    },
  }
  const queue = await queueFor(config.queue, { logger, token: config.queueToken })
  const queueComponent = { name: 'queue', start: () => queue.start(), close: () => queue.close() }
  const meta = await metaStoreFor(config.meta)
  // nodes://registry reads its nodes from the metadata store, so the store starts first.
  const longTerm = await blobStoreFor(config.blobs, {
    storageToken: config.storageToken,
    logger,
    registry: meta,
  })
  // With a staging tier, uploads land on it at disk speed and move to PIPER_BLOBS afterwards.
  const blobs = config.staging
    ? new TieredBlobStore({
        staging: await blobStoreFor(config.staging),
        longTerm,
        logger,
      })
    : longTerm
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
  // Both run at the ticks of their schedules (one process of the cluster each); gc also at start.
  const gc = new GarbageCollector({ files, logger, intervalMs: 0 })
  const scrubber = new ChunkScrubber({
    blobs,
    logger,
    intervalMs: 0,
    bytesPerSecond: config.scrubBytesPerSecond,
  })
  // With PIPER_BACKUPS: backups asked for through /v1/admin/backups or at PIPER_BACKUP_SCHEDULE.
  const backups = await configuredBackups(config, { meta, source: blobs, logger })
  const feed = new JobEventFeed(meta)
  const imageLimits: ImageLimits = {
    maxInputPixels: config.imageMaxInputPixels,
    maxFrames: config.imageMaxFrames,
    maxInputBytes: config.imageMaxInputBytes,
    maxOutputDimension: config.imageMaxOutputDimension,
    allowSvg: config.imageAllowSvg,
  }
  const { jobs, pipelines, runs, deadLetters, workers, schedules, scheduler } = jobSystem({
    meta,
    queue,
    files,
    blobs,
    pool,
    feed,
    logger,
    kinds,
    serve,
    // Four tasks per thread: a task spends most of its time reading its chunk, writing and
    // syncing the output and committing it, so with two per thread the pool sat idle (512 MiB
    // job: 3.6 s with two per thread, 3.0 s with four).
    concurrency: 4 * pool.size,
    maxOutputBytes: config.maxDecompressOutput,
    imageLimits,
    detectThreads: config.detectThreads,
    runMaxInFlight: config.runMaxInFlight,
    maintenance: maintenanceTasks(config, { gc, scrubber, backups }),
  })
  // Storage nodes are healed and rebalanced by one process of the cluster at a time.
  const nodes = longTerm instanceof NodesBlobStore ? longTerm : undefined
  const repairs = nodes
    ? new StorageRepairs({
        store: nodes,
        leases: meta,
        logger,
        intervalMs: config.storageRepairIntervalMs,
        scrubBytesPerSecond: config.scrubBytesPerSecond,
      })
    : undefined
  const metrics = createMetricsRegistry()
  if (nodes) storageMetrics(metrics, nodes)
  const analyzed = new Set(config.imageAnalyzeUploads)
  const gateway = new Gateway({
    host: config.host,
    port: config.port,
    logger,
    storage: {
      files,
      meta,
      jsonBodyLimit: config.jsonBodyLimit,
      quotas: { bytes: config.quotaBytes, files: config.quotaFiles, jobs: config.quotaJobs },
    },
    jobs: { service: jobs, feed, kinds, pipelines, runs, deadLetters, schedules },
    images: {
      store: meta,
      limits: imageLimits,
      variants: new OnDemandVariants({ files, limits: imageLimits }),
      analyzeUploads: (client) => analyzed.has('*') || analyzed.has(client),
    },
    admins: config.adminClients,
    metrics,
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
    browser: {
      publicHosts: config.publicHosts,
      corsOrigins: config.corsOrigins,
      inlineHosts: config.inlineHosts,
    },
    limits: {
      maxConnections: config.maxConnections,
      headersTimeoutMs: config.headersTimeoutMs,
      idleTimeoutMs: config.idleTimeoutMs,
      uploadsPerClient: config.uploadsPerClient,
      streamsPerClient: config.streamsPerClient,
      legacyRequests: config.legacyRequests,
    },
  })

  const supervisor = new Supervisor(logger)
  const stopped = supervisor.stopOnSignals()
  try {
    await supervisor.start([
      dataLock,
      threads,
      queueComponent,
      meta,
      blobs,
      ...(repairs ? [repairs] : []),
      ...(backups ? [backups.target, backups] : []),
      jobs,
      runs,
      scheduler,
      ...workers,
      gc,
      scrubber,
      gateway,
    ])
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? ''
    if (LISTEN_CODES.has(code)) {
      throw new CliError(`cannot listen on ${config.host}:${config.port}: ${code}`, {
        code: 'E_LISTEN',
        cause: error,
      })
    }
    if (code.startsWith('E_')) {
      throw new CliError((error as Error).message, { code, cause: error })
    }
    throw error
  }
  logger.info({ data: config.data, url: gateway.url }, 'piper is up')
  await stopped
}
