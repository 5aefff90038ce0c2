import type { Logger } from '../telemetry/index.ts'

/**
 * Runs a sweep at start, then every interval, one at a time: the outboxes of jobs and runs,
 * the search for new shard queues. `before` is what a sweep looks behind: now at start (all of
 * it), one interval ago after that (what a live process has not just handled). A failed sweep
 * is logged and the next one tries again; `close()` stops the timer and waits for the sweep in
 * progress.
 */
export class PeriodicSweep {
  readonly #sweep: (before: number) => Promise<void>
  readonly #intervalMs: number
  readonly #log: Logger
  readonly #what: string
  readonly #lead: (() => Promise<boolean>) | undefined
  #timer: NodeJS.Timeout | undefined
  #sweeping: Promise<void> = Promise.resolve()
  #soon: NodeJS.Timeout | undefined
  #closed = false

  constructor(
    what: string,
    sweep: (before: number) => Promise<void>,
    intervalMs: number,
    log: Logger,
    /**
     * Whether this process should sweep now: in a cluster one process leads each sweep (the
     * others' sweeps would find the same rows). The sweep at start runs in every process.
     */
    lead?: () => Promise<boolean>,
  ) {
    this.#what = what
    this.#sweep = sweep
    this.#intervalMs = intervalMs
    this.#log = log
    this.#lead = lead
  }

  async start(): Promise<void> {
    await this.#sweep(Date.now())
    this.#timer = setInterval(() => {
      this.#sweeping = this.#sweeping
        .then(async () => {
          if (this.#lead && !(await this.#lead())) return
          await this.#sweep(Date.now() - this.#intervalMs)
        })
        .catch((error: unknown) =>
          this.#log.warn({ err: error }, `${this.#what} failed; the next one retries`),
        )
    }, this.#intervalMs)
    this.#timer.unref()
  }

  /**
   * A sweep of everything (`before` now) in `delayMs`, then again at twice the delay (up to the
   * interval) until one succeeds: for rows this process left behind knowingly (a job stored
   * while the queue did not answer), which should go out as soon as they can rather than at
   * the periodic sweep after next. Calls while one is pending join it.
   */
  soon(delayMs: number): void {
    if (this.#soon || this.#closed) return
    this.#soon = setTimeout(() => {
      // A row left behind from now on asks for a sweep of its own (this one may not see it).
      this.#soon = undefined
      this.#sweeping = this.#sweeping.then(async () => {
        try {
          await this.#sweep(Date.now())
        } catch (error) {
          this.#log.debug({ err: error }, `${this.#what} (soon) failed; trying again`)
          this.soon(Math.min(delayMs * 2, this.#intervalMs))
        }
      })
    }, delayMs)
    this.#soon.unref()
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    clearTimeout(this.#soon)
    await this.#sweeping
  }
}
