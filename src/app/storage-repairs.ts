import type { LeaderLeases } from '../meta/index.ts'
import { type NodesBlobStore, noRepairs, type RepairTotals } from '../storage/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { LeaderPasses, type PassStatus } from './leader-passes.ts'

/** A repair pass as the admin API shows it, updated as it goes. */
export interface RepairStatus extends RepairTotals, PassStatus {
  /** Read every copy back (a scrub), not only checked that it exists. */
  verify: boolean
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
  readonly #passes: LeaderPasses<{ verify: boolean }, RepairStatus>

  constructor(options: StorageRepairsOptions) {
    const { store, logger } = options
    this.#passes = new LeaderPasses<{ verify: boolean }, RepairStatus>({
      lease: 'storage-repair',
      leases: options.leases,
      logger,
      intervalMs: options.intervalMs,
      // A scheduled pass never verifies.
      scheduled: { verify: false },
      begin: (base, params) => ({ ...base, ...params, ...noRepairs() }),
      run: async (status, progress, signal) => {
        const totals = await store.repairAll({
          verify: status.verify,
          signal,
          bytesPerSecond: options.scrubBytesPerSecond,
          onProgress: (_, sofar) => {
            Object.assign(status, sofar)
            progress()
          },
        })
        Object.assign(status, totals)
        logger.info({ ...totals, trigger: status.trigger }, 'storage repair pass done')
      },
      failed: (status, error) => {
        status.error = (error as Error).message
      },
    })
  }

  start(): Promise<void> {
    return this.#passes.start()
  }

  /** The pass under way, or the last one this process ran. */
  get last(): RepairStatus | undefined {
    return this.#passes.last
  }

  /**
   * Starts a pass unless one runs here already (that one is returned). Resolves once the lease
   * is decided: `undefined` when another process of the cluster leads repairs now.
   */
  request(options: { verify: boolean }): Promise<RepairStatus | undefined> {
    return this.#passes.request({ verify: options.verify })
  }

  /** The pass's status each time it changes (a few times a second at most), until it ends. */
  watch(signal: AbortSignal): AsyncGenerator<RepairStatus> {
    return this.#passes.watch(signal)
  }

  close(): Promise<void> {
    return this.#passes.close()
  }
}
