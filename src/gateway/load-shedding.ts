import type { ClientUsageReader } from '../meta/index.ts'
import { HttpError } from './errors.ts'

/**
 * Refuses new work — jobs and runs — while the work waiting (jobs queued across all clients)
 * is at `maxQueuedJobs`: 503 `E_OVERLOADED` with `Retry-After`, so clients back off instead of
 * piling on. Under the bound each new job counts again (cheap: the queued jobs have an index of
 * their own and are fewer than the bound); over it, the count is kept a second, so a flood of
 * refused requests costs no queries. 0: no bound.
 */
export class LoadShedding {
  readonly #usage: ClientUsageReader
  readonly #max: number
  readonly #now: () => number
  #over: { at: number; queued: number } | undefined

  constructor(usage: ClientUsageReader, maxQueuedJobs: number, now: () => number = Date.now) {
    this.#usage = usage
    this.#max = maxQueuedJobs
    this.#now = now
  }

  async check(): Promise<void> {
    if (this.#max <= 0) return
    const now = this.#now()
    if (!this.#over || now - this.#over.at >= 1000) {
      const queued = await this.#usage.queuedJobs()
      this.#over = queued >= this.#max ? { at: now, queued } : undefined
      if (!this.#over) return
    }
    const { queued } = this.#over
    throw Object.assign(
      new HttpError(
        503,
        'E_OVERLOADED',
        `${queued} jobs are waiting (the bound is ${this.#max}); try again shortly`,
      ),
      { retryAfterSeconds: 5 },
    )
  }
}
