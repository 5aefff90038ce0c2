import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jobSystem } from '../../src/app/index.ts'
import { type BlobStore, FsBlobStore } from '../../src/blobs/index.ts'
import { CodecPool } from '../../src/codec/index.ts'
import { chunkAnalyzer, FileService } from '../../src/files/index.ts'
import type { ImageLimits } from '../../src/images/index.ts'
import { JobEventFeed } from '../../src/jobs/index.ts'
import { SqliteDriver, SqlMetaStore } from '../../src/meta/index.ts'
import { EmbeddedQueue } from '../../src/queue/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'

export const silent = createLogger({ level: 'silent' })

export interface JobSystemSetup {
  maxOutputBytes?: number
  runMaxInFlight?: number
  /** Start the workers of every kind and the run engine's (default false). */
  workers?: boolean
  chunkSize?: number
  imageLimits?: ImageLimits
  /** Whether uploads measure each chunk's byte histogram (default true, as compress wants). */
  histogram?: boolean
  /** The schedules' clock. */
  now?: () => number
  /** The blob store (started and closed by the system); an fs store in its folder by default. */
  blobs?: BlobStore
}

/**
 * Piper's job and pipeline machinery in this process, on real embedded engines (SQLite, the
 * embedded queue, the fs blob store) in a temporary folder that `close()` removes.
 */
export async function startJobSystem(options: JobSystemSetup = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'piper-jobs-'))
  const logger = silent
  const blobs = options.blobs ?? new FsBlobStore(join(dir, 'blobs'))
  const meta = new SqlMetaStore(new SqliteDriver(join(dir, 'meta.db')))
  const queue = new EmbeddedQueue({ dir: join(dir, 'queue'), logger })
  const pool = new CodecPool(1)
  await Promise.all([blobs.start(), meta.start(), queue.start()])
  const files = new FileService({
    blobs,
    meta,
    logger,
    chunkSize: options.chunkSize ?? 1000,
    analyze: chunkAnalyzer(pool, new Set(options.histogram === false ? [] : ['histogram'])),
  })
  const feed = new JobEventFeed(meta, { pollMs: 50 })
  const system = jobSystem({
    meta,
    queue,
    localQueue: true,
    files,
    blobs,
    pool,
    feed,
    logger,
    concurrency: 2,
    maxOutputBytes: options.maxOutputBytes,
    imageLimits: options.imageLimits,
    runMaxInFlight: options.runMaxInFlight,
    consumer: { backoffMs: 10, maxBackoffMs: 50 },
    now: options.now,
  })
  await system.jobs.start()
  await system.runs.start()
  if (options.workers) for (const w of system.workers) await w.start()
  const close = async () => {
    if (options.workers) for (const w of [...system.workers].reverse()) await w.close()
    await system.runs.close()
    await system.jobs.close()
    await queue.close()
    await pool.close()
    await meta.close()
    await blobs.close()
    await rm(dir, { recursive: true, force: true })
  }
  return { dir, blobs, meta, queue, files, feed, pool, ...system, close }
}

export type StartedJobSystem = Awaited<ReturnType<typeof startJobSystem>>

/** Polls `check` until it returns a value (25 ms apart, 10 s at most). */
export async function until<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await check()
    if (value !== undefined) return value
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`timed out waiting for ${what}`)
}
