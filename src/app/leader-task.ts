import type { LeaderLeases } from '../meta/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { leaseHolder, withLease } from './with-lease.ts'

export interface LeaderTaskOptions {
  /** The lease's name: one process in the cluster runs the task at a time. */
  name: string
  leases: LeaderLeases
  logger: Logger
  /** Time between runs (and between attempts to lead); 0: only when triggered. */
  intervalMs: number
  /** How long a lease lasts unless renewed (default 60 s; renewed every third of it). */
  ttlMs?: number
  /** One run; it should stop soon after `signal` aborts (at close). */
  run: (signal: AbortSignal) => Promise<void>
}

/**
 * A singleton task: every interval, the process asks for the task's lease and, when it leads,
 * runs the task, renewing the lease while it works. Should that process die, its lease runs
 * out and another process takes the task over at its next attempt. `close()` stops the timer,
 * aborts a run in progress, waits for it and gives the lease up; it is idempotent.
 */
export class LeaderTask {
  readonly name: string
  readonly #o: LeaderTaskOptions
  readonly #holder = leaseHolder()
  readonly #stop = new AbortController()
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> = Promise.resolve()
  #closing: Promise<void> | undefined
  #busy = false

  constructor(options: LeaderTaskOptions) {
    this.#o = options
    this.name = `leader:${options.name}`
  }

  async start(): Promise<void> {
    if (this.#o.intervalMs <= 0) return
    this.#timer = setInterval(() => {
      // A run longer than the interval is not followed by a queue of attempts.
      if (!this.#busy) this.#tick()
    }, this.#o.intervalMs)
    this.#timer.unref()
  }

  /** Whether a run (or an attempt to lead) is under way in this process. */
  get busy(): boolean {
    return this.#busy
  }

  /** One attempt: lead, then run (also what the timer does). Resolves when the run has ended. */
  runOnce(): Promise<void> {
    this.#tick()
    return this.#running
  }

  /**
   * One attempt now, without waiting for the run: resolves as soon as the lease is decided —
   * true when this process leads (the run goes on), false when another process holds it.
   */
  trigger(): Promise<boolean> {
    return new Promise((decided) => this.#tick(decided))
  }

  #tick(decided: (led: boolean) => void = () => {}): void {
    this.#running = this.#running
      .then(() => this.#attempt(decided))
      .catch((error: unknown) => {
        this.#o.logger.warn(
          { err: error, task: this.#o.name },
          'singleton task failed; the next interval retries',
        )
      })
      .finally(() => decided(false))
  }

  async #attempt(decided: (led: boolean) => void): Promise<void> {
    if (this.#stop.signal.aborted) return
    this.#busy = true
    try {
      const o = this.#o
      await withLease(
        {
          leases: o.leases,
          name: o.name,
          holder: this.#holder,
          ttlMs: o.ttlMs ?? 60_000,
          onDecided: decided,
          // A task on a schedule keeps leading; one run only when asked gives the lease up.
          keep: o.intervalMs > 0,
        },
        () => o.run(this.#stop.signal),
      )
    } finally {
      this.#busy = false
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer)
      this.#stop.abort()
      await this.#running
      await this.#o.leases.resign(this.#o.name, this.#holder).catch(() => {})
    })()
    return this.#closing
  }
}
