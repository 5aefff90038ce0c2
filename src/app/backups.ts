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
import { LeaderPasses, type PassStatus } from './leader-passes.ts'

/** A backup as the admin API shows it, updated as it goes (`id` counts this process's passes). */
export interface BackupStatus extends Omit<BackupProgress, 'id'>, PassStatus {
  /** The backup's own id. */
  backup?: string
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
  readonly #passes: LeaderPasses<undefined, BackupStatus>

  constructor(options: BackupsOptions) {
    this.#o = options
    const { logger, target } = options
    this.#passes = new LeaderPasses<undefined, BackupStatus>({
      lease: 'backup',
      leases: options.leases,
      logger,
      // Only when asked: by the admin API, or by the scheduler at a tick of PIPER_BACKUP_SCHEDULE.
      intervalMs: 0,
      // Renewed every 20 s while a backup runs; a killed process's lease ends within a minute.
      ttlMs: 60_000,
      scheduled: undefined,
      begin: (base) => ({ ...base, ...noProgress() }),
      run: async (status, progress, signal) => {
        status.manifest = await createBackup({
          meta: options.meta,
          source: options.source,
          target,
          bytesPerSecond: options.bytesPerSecond,
          signal,
          onProgress: ({ id, ...sofar }) => {
            Object.assign(status, sofar, { backup: id })
            progress()
          },
        })
        if (options.keep)
          status.pruned = await pruneBackups({ store: target, policy: options.keep })
        const { backup, chunks, copied, trigger } = status
        logger.info({ backup, chunks, copied, trigger }, 'backup complete')
      },
      failed: (status, error, signal) => {
        const code = (error as { code?: unknown }).code
        if (signal.aborted) status.state = 'stopped'
        status.error = {
          code: typeof code === 'string' ? code : 'E_INTERNAL',
          message: (error as Error).message,
        }
      },
    })
  }

  start(): Promise<void> {
    return this.#passes.start()
  }

  /** The store backups go to (started and closed by whoever made it). */
  get target(): BlobStore {
    return this.#o.target
  }

  get last(): BackupStatus | undefined {
    return this.#passes.last
  }

  /** The backups in the target store, oldest first. */
  list(): Promise<BackupEntry[]> {
    return listBackups(this.#o.target)
  }

  /**
   * Starts a backup unless one runs here already (that one is returned). Resolves once the lease
   * is decided: `undefined` when another process (or `piper backup`) is backing up now.
   */
  request(trigger: BackupStatus['trigger'] = 'admin'): Promise<BackupStatus | undefined> {
    return this.#passes.request(undefined, trigger)
  }

  watch(signal: AbortSignal): AsyncGenerator<BackupStatus> {
    return this.#passes.watch(signal)
  }

  close(): Promise<void> {
    return this.#passes.close()
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
