import type { Logger } from '../telemetry/index.ts'
import type { FileService } from './file-service.ts'

export interface GarbageCollectorOptions {
  files: FileService
  logger: Logger
  /** Between runs; the first runs right after start. */
  intervalMs?: number
  /** An upload that has not stored a chunk for this long is abandoned. */
  staleUploadMs?: number
  /** A blob no chunk row names is deleted once it is this old. */
  orphanBlobMs?: number
}

/** Runs `FileService.collectGarbage` periodically; `close()` waits for a run in progress. */
export class GarbageCollector {
  readonly name = 'garbage-collector'
  readonly #options: Required<GarbageCollectorOptions>
  readonly #log: Logger
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> = Promise.resolve()
  #closed = false

  constructor(options: GarbageCollectorOptions) {
    this.#options = {
      intervalMs: 10 * 60_000,
      staleUploadMs: 60 * 60_000,
      orphanBlobMs: 60 * 60_000,
      ...options,
    }
    this.#log = options.logger.child({ component: 'gc' })
  }

  async start(): Promise<void> {
    this.#schedule(0)
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    await this.#running
  }

  #schedule(delay: number): void {
    if (this.#closed) return
    this.#timer = setTimeout(() => {
      this.#running = this.#run().finally(() => this.#schedule(this.#options.intervalMs))
    }, delay)
    this.#timer.unref()
  }

  async #run(): Promise<void> {
    try {
      await this.#options.files.collectGarbage(this.#options)
    } catch (error) {
      this.#log.warn({ err: error }, 'garbage collection failed; will retry')
    }
  }
}
