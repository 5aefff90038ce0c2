import type { LeaderLeases } from '../meta/index.ts'
import { type NodesBlobStore, noRepairs, type RepairTotals } from '../storage/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { LeaderTask } from './leader-task.ts'
import { StatusFeed } from './status-feed.ts'

/** A repair pass as the admin API shows it, updated as it goes. */
export interface RepairStatus extends RepairTotals {
  /** Counts passes of this process, from 1. */
  id: number
  state: 'running' | 'done' | 'stopped' | 'failed'
  /** Read every copy back (a scrub), not only checked that it exists. */
  verify: boolean
  trigger: 'schedule' | 'admin'
  started: number
  ended?: number
  error?: string
}

export interface StorageRepairsOptions {
  store: NodesBlobStore
  leases: LeaderLeases
  logger: Logger
  /** Time between scheduled passes; 0: only when asked (`request`). */
  intervalMs: number
  /** A verifying pass (a scrub) reads back at most this many bytes a second. */
  scrubBytesPerSecond?: number
}

/**
 * Heal, rebalance and scrub of a `nodes://` store as passes over every blob: scheduled, or asked
 * for through the admin API, and run by one process of the cluster at a time (the
 * `storage-repair` leader lease). A pass is resumable in effect: blobs already where placement
 * wants them cost a size check each, so a pass cut off by a stop is finished by the next.
 */
export class StorageRepairs {
  readonly name = 'storage-repairs'
  readonly #o: StorageRepairsOptions
  readonly #task: LeaderTask
  readonly #feed = new StatusFeed<RepairStatus>()
  #passes = 0
  /** What the next pass does, when asked for (a scheduled one never verifies). */
  #next: { verify: boolean; trigger: RepairStatus['trigger'] } | undefined

  constructor(options: StorageRepairsOptions) {
    this.#o = options
    this.#task = new LeaderTask({
      name: 'storage-repair',
      leases: options.leases,
      logger: options.logger,
      intervalMs: options.intervalMs,
      run: (signal) => this.#pass(signal),
    })
  }

  start(): Promise<void> {
    return this.#task.start()
  }

  /** The pass under way, or the last one this process ran. */
  get last(): RepairStatus | undefined {
    return this.#feed.last
  }

  /**
   * Starts a pass unless one runs here already (that one is returned). Resolves once the lease
   * is decided: `undefined` when another process of the cluster leads repairs now.
   */
  async request(options: { verify: boolean }): Promise<RepairStatus | undefined> {
    if (this.last?.state === 'running') return this.last
    this.#next = { verify: options.verify, trigger: 'admin' }
    const led = await this.#task.trigger()
    if (!led) {
      this.#next = undefined
      return undefined
    }
    // The pass has begun (its status exists) by the time the lease is decided and run called.
    return this.last
  }

  /** The pass's status each time it changes (a few times a second at most), until it ends. */
  watch(signal: AbortSignal): AsyncGenerator<RepairStatus> {
    return this.#feed.watch(signal)
  }

  async #pass(signal: AbortSignal): Promise<void> {
    const next = this.#next ?? { verify: false, trigger: 'schedule' as const }
    this.#next = undefined
    const status: RepairStatus = {
      id: ++this.#passes,
      state: 'running',
      ...next,
      started: Date.now(),
      ...noRepairs(),
    }
    this.#feed.publish(status, true)
    try {
      const totals = await this.#o.store.repairAll({
        verify: status.verify,
        signal,
        bytesPerSecond: this.#o.scrubBytesPerSecond,
        onProgress: (_, sofar) => {
          Object.assign(status, sofar)
          this.#feed.publish(status)
        },
      })
      Object.assign(status, totals, { state: signal.aborted ? 'stopped' : 'done' })
      this.#o.logger.info({ ...totals, trigger: status.trigger }, 'storage repair pass done')
    } catch (error) {
      Object.assign(status, { state: 'failed', error: (error as Error).message })
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
