import { BackupError } from './errors.ts'

/**
 * Where a backup lies in its blob store, beside the chunks it shares with every other backup
 * there (stored under their own keys, the sha256 of their bytes, so each is copied once):
 * - `backup-ID-begun`: written first, a small JSON of who started it when;
 * - `backup-ID-meta`: the metadata dump (gzip of JSON lines, see `sql-dump.ts`);
 * - `backup-ID-manifest`: written last, once every chunk is there. A backup without its
 *   manifest was cut off and is never taken for a complete one.
 * The `backup-` prefix cannot be mistaken for a chunk key (hex digits only).
 */
export const BACKUP_PREFIX = 'backup-'

/** A backup's id: its start time, UTC to the millisecond (`20261202T072341123Z`); sorts by time. */
export function newBackupId(now: Date): string {
  return now.toISOString().replace(/[-:.]/g, '')
}

const ID = /^\d{8}T\d{9}Z$/

export function checkBackupId(id: string): string {
  if (!ID.test(id)) {
    throw new BackupError(
      'E_BACKUP_NOT_FOUND',
      `"${id}" is not a backup id (like 20261202T072341123Z, or "latest"); see piper backup ls`,
    )
  }
  return id
}

/** The id's start time in milliseconds since the epoch. */
export function backupTime(id: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(id)
  if (!m) return Number.NaN
  const [, y, mo, d, h, mi, s, ms] = m.map(Number) as number[]
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, ms!)
}

export function backupKeys(id: string): { begun: string; metadata: string; manifest: string } {
  return {
    begun: `${BACKUP_PREFIX}${id}-begun`,
    metadata: `${BACKUP_PREFIX}${id}-meta`,
    manifest: `${BACKUP_PREFIX}${id}-manifest`,
  }
}

/** Which backup and which of its objects a key of the store is, if any. */
export function parseBackupKey(
  key: string,
): { id: string; part: 'begun' | 'metadata' | 'manifest' } | undefined {
  const m = /^backup-(\d{8}T\d{9}Z)-(begun|meta|manifest)$/.exec(key)
  if (!m) return undefined
  return { id: m[1]!, part: m[2] === 'meta' ? 'metadata' : (m[2] as 'begun' | 'manifest') }
}

/** A chunk key as Piper stores chunks: the sha256 of the bytes, in hex. */
export const CHUNK_KEY = /^[0-9a-f]{64}$/

/** What a complete backup holds; written last, as JSON. */
export interface BackupManifest {
  format: 'piper-backup'
  version: 1
  id: string
  /** Milliseconds since the epoch: when the backup began (its snapshot) and ended. */
  started: number
  finished: number
  /** The schema version of the metadata and the database it came from. */
  schema: number
  source: { meta: string; blobs: string }
  metadata: { key: string; size: number; sha256: string; rows: Record<string, number> }
  /** Every chunk the metadata references, and how many of them this backup had to copy. */
  chunks: { count: number; bytes: number; copied: number; copiedBytes: number }
}

export function parseManifest(id: string, bytes: Uint8Array): BackupManifest {
  let manifest: BackupManifest
  try {
    manifest = JSON.parse(Buffer.from(bytes).toString('utf8')) as BackupManifest
  } catch (error) {
    throw new BackupError('E_BACKUP_CORRUPT', `the manifest of backup ${id} is not JSON`, {
      cause: error,
    })
  }
  if (manifest?.format !== 'piper-backup' || manifest.id !== id) {
    throw new BackupError('E_BACKUP_CORRUPT', `the manifest of backup ${id} is not Piper's`)
  }
  if (manifest.version !== 1) {
    throw new BackupError(
      'E_BACKUP_CORRUPT',
      `backup ${id} is of format version ${manifest.version}, newer than this Piper knows`,
    )
  }
  return manifest
}
