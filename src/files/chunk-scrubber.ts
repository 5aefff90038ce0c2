import type { BlobStore } from '../blobs/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { Pace } from './pace.ts'
import { readVerified } from './verified-chunks.ts'

export interface ChunkScrubberOptions {
  blobs: BlobStore
  logger: Logger
  /**
   * Between passes over every chunk; the first starts one interval after start. 0: only those
   * asked for with `runOnce` (a schedule of the cluster, which runs each on one process).
   */
  intervalMs?: number
  /** The most a pass reads per second, so serving and jobs keep the disk. */
  bytesPerSecond?: number
}

export interface ScrubResult {
  checked: number
  bytes: number
  damaged: string[]
}

/**
 * Reads every stored chunk now and then and checks it against its key (its sha256), so disk
 * damage is found before a download or a job trips over it (and, with replicas, in time to
 * heal it). Rate-limited; a damaged chunk is logged at error level with its key, and is never
 * served as good in the meantime (reads check it too).
 */
export class ChunkScrubber {
  readonly name = 'chunk-scrubber'
  readonly #o: Required<ChunkScrubberOptions>
  readonly #log: Logger
  readonly #abort = new AbortController()
  #timer: NodeJS.Timeout | undefined
  #running: Promise<unknown> = Promise.resolve()
  #busy = false

  constructor(options: ChunkScrubberOptions) {
    this.#o = { intervalMs: 24 * 3_600_000, bytesPerSecond: 32 << 20, ...options }
    this.#log = options.logger.child({ component: 'scrub' })
  }

  async start(): Promise<void> {
    this.#schedule()
  }

  async close(): Promise<void> {
    this.#abort.abort()
    clearTimeout(this.#timer)
    await this.#running.catch(() => {})
  }

  /** One pass over every chunk. */
  async scrub(): Promise<ScrubResult> {
    const result: ScrubResult = { checked: 0, bytes: 0, damaged: [] }
    const pace = new Pace(this.#o.bytesPerSecond)
    for await (const { key } of this.#o.blobs.list()) {
      if (this.#abort.signal.aborted) break
      let bytes = 0
      try {
        for await (const piece of readVerified(this.#o.blobs, key)) bytes += piece.length
      } catch (error) {
        const code = (error as { code?: string }).code
        if (code === 'E_CHUNK_CORRUPT') {
          result.damaged.push(key)
          this.#log.error({ key, err: error }, 'damaged chunk found')
        } else if (code !== 'E_BLOB_NOT_FOUND') throw error
      }
      result.checked++
      result.bytes += bytes
      await pace.spend(bytes, this.#abort.signal)
    }
    return result
  }

  /** One logged pass now, unless one runs already (that one is awaited). */
  runOnce(): Promise<unknown> {
    if (this.#busy) return this.#running
    this.#busy = true
    this.#running = this.scrub()
      .then(
        (r) =>
          this.#log.info(
            { checked: r.checked, bytes: r.bytes, damaged: r.damaged.length },
            'scrub done',
          ),
        (error: unknown) => this.#log.warn({ err: error }, 'scrub failed; will retry'),
      )
      .finally(() => {
        this.#busy = false
      })
    return this.#running
  }

  #schedule(): void {
    if (this.#abort.signal.aborted || this.#o.intervalMs <= 0) return
    this.#timer = setTimeout(() => {
      this.runOnce().finally(() => this.#schedule())
    }, this.#o.intervalMs)
    this.#timer.unref()
  }
}
