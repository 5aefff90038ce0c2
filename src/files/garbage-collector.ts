import type { Logger } from '../telemetry/index.ts'
import type { FileService } from './file-service.ts'

export interface GarbageCollectorOptions {
  files: FileService
  logger: Logger
  /**
   * Between runs; the first runs right after start. 0: only that one and those asked for with
   * `runOnce` (a schedule of the cluster, which runs each on one process).
   */
  intervalMs?: number
  /** An upload that has not stored a chunk for this long is abandoned. */
  staleUploadMs?: number
  /** A blob no chunk row names is deleted once it is this old. */
  orphanBlobMs?: number
  /** Key prefixes (two hex characters each) a run checks for orphans: a slice of the store. */
  shardsPerRun?: number
  /** The most orphan checks per second. */
  checksPerSecond?: number
  /**
   * What each run frees first, before the files' own garbage: uploads other modules hold past
   * their time (expired tus uploads), so this run already collects what they leave.
   */
  sweeps?: readonly (() => Promise<unknown>)[]
}

/** The two-hex-character key prefixes, in the order runs walk them. */
const SHARDS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/**
 * Runs `FileService.collectGarbage` periodically; `close()` stops a run in progress and waits
 * for it. Stale uploads and unreferenced chunks are found by query each run; orphan blobs (a
 * crash between a chunk row's delete and its blob's, rare) by walking the store, which each
 * run does for a slice of it only (`shardsPerRun` of the 256 key prefixes, in turn) and at a
 * paced rate, so a store of millions of blobs is neither listed nor queried whole every run.
 */
export class GarbageCollector {
  readonly name = 'garbage-collector'
  readonly #options: Required<GarbageCollectorOptions>
  readonly #log: Logger
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> = Promise.resolve()
  #closed = false
  readonly #abort = new AbortController()
  #shard = 0

  constructor(options: GarbageCollectorOptions) {
    this.#options = {
      intervalMs: 10 * 60_000,
      staleUploadMs: 60 * 60_000,
      orphanBlobMs: 60 * 60_000,
      shardsPerRun: 16,
      checksPerSecond: 500,
      sweeps: [],
      ...options,
    }
    this.#log = options.logger.child({ component: 'gc' })
  }

  async start(): Promise<void> {
    this.#schedule(0)
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#abort.abort()
    clearTimeout(this.#timer)
    await this.#running
  }

  /** One run now, after the one under way (if any) has ended. */
  runOnce(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    this.#running = this.#running.then(() => this.#run())
    return this.#running
  }

  #schedule(delay: number): void {
    if (this.#closed) return
    this.#timer = setTimeout(() => {
      this.#running = this.#run().finally(() => {
        if (this.#options.intervalMs > 0) this.#schedule(this.#options.intervalMs)
      })
    }, delay)
    this.#timer.unref()
  }

  async #run(): Promise<void> {
    try {
      const { shardsPerRun } = this.#options
      const prefixes = Array.from(
        { length: shardsPerRun },
        (_, i) => SHARDS[(this.#shard + i) % 256]!,
      )
      this.#shard = (this.#shard + shardsPerRun) % 256
      // Each sweep on its own: one that fails (a history prune on a full disk) must not keep
      // the files' collection, which frees space, from running.
      for (const sweep of this.#options.sweeps) {
        await sweep().catch((error: unknown) => {
          this.#log.warn({ err: error }, 'a garbage collection sweep failed; will retry')
        })
      }
      await this.#options.files.collectGarbage({
        ...this.#options,
        prefixes,
        signal: this.#abort.signal,
      })
    } catch (error) {
      this.#log.warn({ err: error }, 'garbage collection failed; will retry')
    }
  }
}
