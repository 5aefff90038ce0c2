import type { LeaderLeases } from '../meta/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { LeaderTask } from './leader-task.ts'
import { StatusFeed } from './status-feed.ts'

/** What every pass's status says, whatever the pass does. */
export interface PassStatus {
  /** Counts passes of this process, from 1. */
  id: number
  state: 'running' | 'done' | 'stopped' | 'failed'
  trigger: 'schedule' | 'admin'
  started: number
  ended?: number
}

export interface LeaderPassesOptions<P, S extends PassStatus> {
  /** The leader lease: one process of the cluster runs a pass at a time. */
  lease: string
  leases: LeaderLeases
  logger: Logger
  /** Time between scheduled passes; 0: only when asked (`request`). */
  intervalMs: number
  ttlMs?: number
  /** What a scheduled pass is asked to do. */
  scheduled: P
  /** A pass's first status, from the common fields and what it was asked to do. */
  begin: (base: PassStatus, params: P) => S
  /** The pass; `progress()` shows watchers the status as it is now (a few times a second). */
  run: (status: S, progress: () => void, signal: AbortSignal) => Promise<void>
  /** Writes a failure into the status (its state is `failed` already). */
  failed: (status: S, error: unknown, signal: AbortSignal) => void
}

/**
 * Passes of a singleton task — a storage repair, a backup — scheduled or asked for, run by one
 * process of the cluster at a time (a `LeaderTask`), with their status for the admin API and
 * its watchers (a `StatusFeed`).
 */
export class LeaderPasses<P, S extends PassStatus> {
  readonly #o: LeaderPassesOptions<P, S>
  readonly #task: LeaderTask
  readonly #feed = new StatusFeed<S>()
  #count = 0
  /** What the next pass does, when asked for. */
  #next: { params: P; trigger: PassStatus['trigger'] } | undefined

  constructor(options: LeaderPassesOptions<P, S>) {
    this.#o = options
    this.#task = new LeaderTask({
      name: options.lease,
      leases: options.leases,
      logger: options.logger,
      intervalMs: options.intervalMs,
      ttlMs: options.ttlMs,
      run: (signal) => this.#pass(signal),
    })
  }

  start(): Promise<void> {
    return this.#task.start()
  }

  /** The pass under way, or the last one this process ran. */
  get last(): S | undefined {
    return this.#feed.last
  }

  /**
   * Starts a pass unless one runs here already (that one is returned). Resolves once the lease
   * is decided: `undefined` when another process of the cluster leads the task now.
   */
  async request(params: P, trigger: PassStatus['trigger'] = 'admin'): Promise<S | undefined> {
    if (this.last?.state === 'running') return this.last
    this.#next = { params, trigger }
    const led = await this.#task.trigger()
    if (!led) {
      this.#next = undefined
      return undefined
    }
    // The pass has begun (its status exists) by the time the lease is decided and run called.
    return this.last
  }

  /** The pass's status each time it changes (a few times a second at most), until it ends. */
  watch(signal: AbortSignal): AsyncGenerator<S> {
    return this.#feed.watch(signal)
  }

  async #pass(signal: AbortSignal): Promise<void> {
    const next = this.#next ?? { params: this.#o.scheduled, trigger: 'schedule' as const }
    this.#next = undefined
    const base: PassStatus = {
      id: ++this.#count,
      state: 'running',
      trigger: next.trigger,
      started: Date.now(),
    }
    const status = this.#o.begin(base, next.params)
    this.#feed.publish(status, true)
    try {
      await this.#o.run(status, () => this.#feed.publish(status), signal)
      status.state = signal.aborted ? 'stopped' : 'done'
    } catch (error) {
      status.state = 'failed'
      this.#o.failed(status, error, signal)
      throw error
    } finally {
      status.ended = Date.now()
      this.#feed.publish(status, true)
    }
  }

  close(): Promise<void> {
    return this.#task.close()
  }
}
