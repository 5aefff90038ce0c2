import {
  type BackupEntry,
  type BackupManifest,
  type BackupProgress,
  checkBackupTarget,
  createBackup,
  listBackups,
  noProgress,
  type PruneResult,
  pruneBackups,
  type RetentionPolicy,
} from '../backup/index.ts'
import type { BlobStore } from '../blobs/index.ts'
import { blobStoreFor, type PiperConfig } from '../config/index.ts'
import type { LeaderLeases, MetaDumps } from '../meta/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { LeaderTask } from './leader-task.ts'
import { StatusFeed } from './status-feed.ts'

/** A backup as the admin API shows it, updated as it goes. */
export interface BackupStatus extends Omit<BackupProgress, 'id'> {
  /** Counts backups this process ran, from 1 (the backup's own id is `backup`). */
  id: number
  backup?: string
  state: 'running' | 'done' | 'stopped' | 'failed'
  trigger: 'schedule' | 'admin'
  started: number
  ended?: number
  manifest?: BackupManifest
  pruned?: PruneResult
  error?: { code: string; message: string }
}

export interface BackupsOptions {
  meta: MetaDumps & { readonly name: string }
  leases: LeaderLeases
  /** The live blob store and the one backups go to. */
  source: BlobStore
  target: BlobStore
  logger: Logger
  bytesPerSecond?: number
  /** After each backup, the backups this policy does not keep are deleted. */
  keep?: RetentionPolicy
}

/**
 * Backups made by `piper up` while it serves: asked for through the admin API (or at the ticks
 * of `PIPER_BACKUP_SCHEDULE`), run by one process of the cluster at a time through the `backup`
 * lease — the one `piper backup create` and `prune` take, so a backup from the CLI and one from
 * here never overlap.
 */
export class Backups {
  readonly name = 'backups'
  readonly #o: BackupsOptions
  readonly #task: LeaderTask
  readonly #feed = new StatusFeed<BackupStatus>()
  #count = 0
  #trigger: BackupStatus['trigger'] = 'schedule'

  constructor(options: BackupsOptions) {
    this.#o = options
    this.#task = new LeaderTask({
      name: 'backup',
      leases: options.leases,
      logger: options.logger,
      // Only when asked: by the admin API, or by the scheduler at a tick of PIPER_BACKUP_SCHEDULE.
      intervalMs: 0,
      // Renewed every 20 s while a backup runs; a killed process's lease ends within a minute.
      ttlMs: 60_000,
      run: (signal) => this.#backup(signal),
    })
  }

  start(): Promise<void> {
    return this.#task.start()
  }

  /** The store backups go to (started and closed by whoever made it). */
  get target(): BlobStore {
    return this.#o.target
  }

  get last(): BackupStatus | undefined {
    return this.#feed.last
  }

  /** The backups in the target store, oldest first. */
  list(): Promise<BackupEntry[]> {
    return listBackups(this.#o.target)
  }

  /**
   * Starts a backup unless one runs here already (that one is returned). Resolves once the lease
   * is decided: `undefined` when another process (or `piper backup`) is backing up now.
   */
  async request(trigger: BackupStatus['trigger'] = 'admin'): Promise<BackupStatus | undefined> {
    if (this.last?.state === 'running') return this.last
    this.#trigger = trigger
    const led = await this.#task.trigger()
    this.#trigger = 'schedule'
    return led ? this.last : undefined
  }

  watch(signal: AbortSignal): AsyncGenerator<BackupStatus> {
    return this.#feed.watch(signal)
  }

  async #backup(signal: AbortSignal): Promise<void> {
    const status: BackupStatus = {
      id: ++this.#count,
      state: 'running',
      trigger: this.#trigger,
      started: Date.now(),
      ...noProgress(),
    }
    this.#feed.publish(status, true)
    try {
      status.manifest = await createBackup({
        meta: this.#o.meta,
        source: this.#o.source,
        target: this.#o.target,
        bytesPerSecond: this.#o.bytesPerSecond,
        signal,
        onProgress: ({ id, ...progress }) => {
          Object.assign(status, progress, { backup: id })
          this.#feed.publish(status)
        },
      })
      if (this.#o.keep)
        status.pruned = await pruneBackups({ store: this.#o.target, policy: this.#o.keep })
      status.state = 'done'
      this.#o.logger.info(
        {
          backup: status.backup,
          chunks: status.chunks,
          copied: status.copied,
          trigger: status.trigger,
        },
        'backup complete',
      )
    } catch (error) {
      const code = (error as { code?: unknown }).code
      status.state = signal.aborted ? 'stopped' : 'failed'
      status.error = {
        code: typeof code === 'string' ? code : 'E_INTERNAL',
        message: (error as Error).message,
      }
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

/**
 * The backups `piper up` makes when `PIPER_BACKUPS` names a store (refused when it is the live
 * store or inside it); undefined without one. The target store is not started.
 */
export async function configuredBackups(
  config: PiperConfig,
  o: { meta: BackupsOptions['meta'] & LeaderLeases; source: BlobStore; logger: Logger },
): Promise<Backups | undefined> {
  if (!config.backups) return undefined
  for (const live of [config.blobs, config.staging]) {
    if (live) checkBackupTarget(live, config.backups)
  }
  return new Backups({
    meta: o.meta,
    leases: o.meta,
    source: o.source,
    target: await blobStoreFor(config.backups, {
      storageToken: config.storageToken,
      logger: o.logger,
    }),
    logger: o.logger,
    bytesPerSecond: config.backupBytesPerSecond || undefined,
    keep: config.backupKeep,
  })
}
