import { leaseHolder, withLease } from '../../app/with-lease.ts'
import {
  BackupError,
  type BackupProgress,
  checkBackupTarget,
  createBackup,
  listBackups,
  pruneBackups,
  type RetentionPolicy,
  restoreBackup,
  verifyBackup,
} from '../../backup/index.ts'
import type { BlobStore } from '../../blobs/index.ts'
import {
  blobStoreFor,
  type FlagValues,
  loadConfig,
  metaStoreFor,
  type PiperConfig,
} from '../../config/index.ts'
import { abortOnSignals } from '../abort-on-signals.ts'
import { CliError, usageError } from '../errors.ts'

export interface BackupFlags {
  to?: string
  from?: string
  keepLast?: string
  keepDaily?: string
  keepWeekly?: string
  dryRun?: boolean
}

type Meta = Awaited<ReturnType<typeof metaStoreFor>>

/** The `backup` lease: one backup or prune at a time in a deployment (they share chunks). */
const LEASE = 'backup'
const LEASE_TTL_MS = 60_000

/**
 * `piper backup create --to URL`: the metadata as of now and every chunk it references, copied to
 * the blob store URL names (only chunks it lacks), while Piper serves. Prints the manifest.
 */
export async function backupCreateCommand(
  options: BackupFlags,
  flags: FlagValues,
  out: (text: string) => void,
): Promise<void> {
  const policy = retentionPolicy(options)
  await withStores(
    flags,
    options.to,
    { live: true },
    async ({ config, meta, live, store, signal }) => {
      const manifest = await leading(meta, async () => {
        const made = await createBackup({
          meta,
          source: live!,
          target: store,
          bytesPerSecond: config.backupBytesPerSecond || undefined,
          signal,
          onProgress: showProgress(),
        })
        if (policy) {
          const pruned = await pruneBackups({ store, policy })
          process.stderr.write(
            `backup: pruned ${pruned.deleted.length} backups and ${pruned.chunksDeleted} chunks (${mib(pruned.bytesFreed)})\n`,
          )
        }
        return made
      })
      out(`${JSON.stringify(manifest, null, 2)}\n`)
    },
  )
}

/** `piper backup ls`: one line per backup: id, state, started, files, chunks, bytes, copied. */
export async function backupListCommand(
  options: BackupFlags,
  flags: FlagValues,
  out: (text: string) => void,
): Promise<void> {
  await withStores(flags, options.from, { live: false }, async ({ store }) => {
    for (const b of await listBackups(store)) {
      const m = b.manifest
      const fields = [
        b.id,
        b.state,
        new Date(b.started).toISOString(),
        m ? `${m.metadata.rows.files ?? 0} files` : '-',
        m ? `${m.chunks.count} chunks` : '-',
        m ? mib(m.chunks.bytes) : '-',
        m ? `copied ${mib(m.chunks.copiedBytes)}` : '-',
      ]
      out(`${fields.join('\t')}\n`)
    }
  })
}

/** `piper backup verify ID`: reads every chunk back; exit 1 when one is missing or damaged. */
export async function backupVerifyCommand(
  id: string,
  options: BackupFlags,
  flags: FlagValues,
  out: (text: string) => void,
): Promise<void> {
  await withStores(flags, options.from, { live: false }, async ({ store, signal }) => {
    const result = await verifyBackup({
      store,
      id,
      signal,
      onProgress: chunkProgress('verify'),
    })
    out(`${JSON.stringify(result)}\n`)
    if (signal.aborted)
      throw new CliError('stopped before every chunk was read', { code: 'E_BACKUP_INCOMPLETE' })
    if (result.missingCount > 0 || result.corruptCount > 0) {
      throw new CliError(
        `backup ${result.id} is damaged: ${result.missingCount} chunks missing, ${result.corruptCount} corrupt`,
        { code: 'E_BACKUP_CORRUPT' },
      )
    }
  })
}

/**
 * `piper backup restore ID --data DIR` (or `--meta`/`--blobs`): a backup into a new deployment.
 * Prints what was restored; jobs and runs that were unfinished are failed (`E_RESTORED`).
 */
export async function backupRestoreCommand(
  id: string,
  options: BackupFlags,
  flags: FlagValues,
  out: (text: string) => void,
): Promise<void> {
  await withStores(flags, options.from, { live: true }, async ({ meta, live, store, signal }) => {
    if (!(await meta.empty())) {
      throw new BackupError(
        'E_RESTORE_NOT_EMPTY',
        'the metadata store to restore into is not empty; restore into a new --data folder (or an empty database)',
      )
    }
    const result = await restoreBackup({
      from: store,
      id,
      meta,
      blobs: live!,
      signal,
      onProgress: chunkProgress('restore'),
    })
    out(`${JSON.stringify(result)}\n`)
  })
}

/** `piper backup prune --keep-daily N …`: deletes the backups the policy does not keep. */
export async function backupPruneCommand(
  options: BackupFlags,
  flags: FlagValues,
  out: (text: string) => void,
): Promise<void> {
  const policy = retentionPolicy(options)
  if (!policy) {
    throw usageError('say what to keep: --keep-last, --keep-daily and/or --keep-weekly')
  }
  await withStores(flags, options.to, { live: false }, async ({ meta, store }) => {
    const result = await leading(meta, () =>
      pruneBackups({ store, policy, dryRun: options.dryRun === true }),
    )
    out(`${JSON.stringify({ ...result, dryRun: options.dryRun === true })}\n`)
  })
}

function retentionPolicy(options: BackupFlags): RetentionPolicy | undefined {
  const count = (raw: string | undefined, flag: string) => {
    if (raw === undefined) return undefined
    const n = Number(raw)
    if (!Number.isInteger(n) || n < 0 || n > 100_000) {
      throw usageError(`${flag}: expected a count, got "${raw}"`)
    }
    return n
  }
  const policy = {
    last: count(options.keepLast, '--keep-last'),
    daily: count(options.keepDaily, '--keep-daily'),
    weekly: count(options.keepWeekly, '--keep-weekly'),
  }
  return Object.values(policy).some((n) => n !== undefined) ? policy : undefined
}

/** Runs `fn` holding the `backup` lease; `E_BACKUP_BUSY` when another process holds it. */
async function leading<T>(meta: Meta, fn: () => Promise<T>): Promise<T> {
  const outcome = await withLease(
    { leases: meta, name: LEASE, holder: leaseHolder(), ttlMs: LEASE_TTL_MS },
    fn,
  )
  if (!outcome.led) {
    throw new BackupError(
      'E_BACKUP_BUSY',
      'another backup or prune of this deployment is running; try again when it has finished',
    )
  }
  return outcome.value
}

/**
 * Opens what a backup command needs — the backup store (`url`, else PIPER_BACKUPS), the metadata
 * store and, with `live`, the configured blob store — runs `fn` and closes them; SIGINT and
 * SIGTERM abort `signal`.
 */
async function withStores(
  flags: FlagValues,
  url: string | undefined,
  needs: { live: boolean },
  fn: (o: {
    config: PiperConfig
    meta: Meta
    live: BlobStore | undefined
    store: BlobStore
    signal: AbortSignal
  }) => Promise<void>,
): Promise<void> {
  // --to/--from stands for PIPER_BACKUPS, and is checked as that setting is.
  const { config } = loadConfig({ flags: url === undefined ? flags : { ...flags, backups: url } })
  const target = config.backups
  if (!target) {
    throw usageError('where are the backups? give --to/--from URL or set PIPER_BACKUPS')
  }
  if (needs.live) checkBackupTarget(config.blobs, target)
  const stop = abortOnSignals()
  const opened: { close(): Promise<void> }[] = []
  try {
    const meta = await metaStoreFor(config.meta)
    await meta.start()
    opened.push(meta)
    const options = { storageToken: config.storageToken, registry: meta }
    let live: BlobStore | undefined
    if (needs.live) {
      live = await blobStoreFor(config.blobs, options)
      await live.start()
      opened.push(live)
    }
    const store = await blobStoreFor(target, { storageToken: config.storageToken })
    await store.start()
    opened.push(store)
    await fn({ config, meta, live, store, signal: stop.signal })
  } finally {
    stop.dispose()
    for (const s of opened.reverse()) await s.close()
  }
}

/** `VERB: DONE of TOTAL chunks` on stderr, a line a second at most, and the last one. */
function chunkProgress(verb: string): (done: number, total: number) => void {
  let shown = 0
  return (done, total) => {
    if (Date.now() - shown < 1000 && done < total) return
    shown = Date.now()
    process.stderr.write(`${verb}: ${done} of ${total} chunks\n`)
  }
}

function showProgress(): (p: BackupProgress) => void {
  let shown = 0
  return (p) => {
    if (
      p.phase === 'chunks' &&
      p.chunksDone > 0 &&
      p.chunksDone < p.chunks &&
      Date.now() - shown < 1000
    )
      return
    shown = Date.now()
    if (p.phase === 'metadata') process.stderr.write(`backup ${p.id}: metadata\n`)
    else if (p.phase === 'chunks') {
      process.stderr.write(
        `backup ${p.id}: ${p.chunksDone} of ${p.chunks} chunks checked, ${p.copied} copied (${mib(p.copiedBytes)})\n`,
      )
    } else process.stderr.write(`backup ${p.id}: complete\n`)
  }
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`
}
