import { createHash } from 'node:crypto'
import { pipeline, Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { createGunzip } from 'node:zlib'
import type { BlobStore } from '../blobs/index.ts'
import type { DumpLine } from '../meta/index.ts'
import {
  BACKUP_PREFIX,
  type BackupManifest,
  backupKeys,
  backupTime,
  checkBackupId,
  parseBackupKey,
  parseManifest,
} from './backup-layout.ts'
import { BackupError } from './errors.ts'

/** A backup found in a store: complete (its manifest is there) or cut off. */
export interface BackupEntry {
  id: string
  state: 'complete' | 'incomplete'
  started: number
  manifest?: BackupManifest
}

/** The ids of the backups in `store`, each with the objects it has there (one listing). */
async function backupParts(store: BlobStore): Promise<Map<string, Set<string>>> {
  const parts = new Map<string, Set<string>>()
  for await (const blob of store.list(BACKUP_PREFIX)) {
    const parsed = parseBackupKey(blob.key)
    if (!parsed) continue
    const seen = parts.get(parsed.id) ?? new Set()
    seen.add(parsed.part)
    parts.set(parsed.id, seen)
  }
  return parts
}

/** The ids of the backups in `store` that were cut off (no manifest), without reading any. */
export async function incompleteBackups(store: BlobStore): Promise<string[]> {
  const parts = await backupParts(store)
  return [...parts.keys()].filter((id) => !parts.get(id)!.has('manifest'))
}

/** Every backup in `store`, oldest first. */
export async function listBackups(store: BlobStore): Promise<BackupEntry[]> {
  const parts = await backupParts(store)
  const entries: BackupEntry[] = []
  for (const id of [...parts.keys()].sort()) {
    if (!parts.get(id)!.has('manifest')) {
      entries.push({ id, state: 'incomplete', started: backupTime(id) })
      continue
    }
    const manifest = await readManifest(store, id)
    entries.push({ id, state: 'complete', started: manifest.started, manifest })
  }
  return entries
}

/** The manifest of backup `id` (`latest`: the newest complete one). */
export async function readManifest(store: BlobStore, id: string): Promise<BackupManifest> {
  if (id === 'latest') {
    const complete = (await listBackups(store)).filter((b) => b.state === 'complete')
    const newest = complete[complete.length - 1]
    if (!newest) throw new BackupError('E_BACKUP_NOT_FOUND', 'there is no complete backup here')
    return newest.manifest!
  }
  const keys = backupKeys(checkBackupId(id))
  try {
    return parseManifest(id, await store.read(keys.manifest))
  } catch (error) {
    if ((error as { code?: string }).code !== 'E_BLOB_NOT_FOUND') throw error
    const begun = await store.stat(keys.begun)
    if (begun) {
      throw new BackupError(
        'E_BACKUP_INCOMPLETE',
        `backup ${id} is incomplete (it was cut off before its manifest); the next backup supersedes it`,
      )
    }
    throw new BackupError('E_BACKUP_NOT_FOUND', `there is no backup ${id} here`, { cause: error })
  }
}

/**
 * The metadata dump of a backup, line by line. Its size and sha256 are checked against the
 * manifest as it streams: a damaged dump throws `E_BACKUP_CORRUPT` before its last line is
 * given out (a restore in one transaction then keeps nothing of it).
 */
export async function* readMetadata(
  store: BlobStore,
  manifest: BackupManifest,
): AsyncGenerator<DumpLine> {
  const hash = createHash('sha256')
  let size = 0
  const source = await store.get(manifest.metadata.key)
  async function* counted() {
    for await (const piece of source) {
      hash.update(piece)
      size += piece.byteLength
      yield piece
    }
    const digest = hash.digest('hex')
    if (size !== manifest.metadata.size || digest !== manifest.metadata.sha256) {
      throw new BackupError(
        'E_BACKUP_CORRUPT',
        `the metadata of backup ${manifest.id} does not match its manifest (${size} bytes, sha256 ${digest.slice(0, 12)}…)`,
      )
    }
  }
  // pipeline: an error of the source (the digest above) destroys gunzip, whose reader throws it.
  const gunzip = createGunzip()
  pipeline(Readable.from(counted()), gunzip, () => {})
  const decoder = new StringDecoder('utf8')
  let rest = ''
  let pending: DumpLine | undefined
  const parse = (text: string): DumpLine => {
    try {
      return JSON.parse(text) as DumpLine
    } catch (error) {
      throw new BackupError(
        'E_BACKUP_CORRUPT',
        `the metadata of backup ${manifest.id} is malformed`,
        {
          cause: error,
        },
      )
    }
  }
  try {
    for await (const piece of gunzip) {
      const lines = (rest + decoder.write(piece as Buffer)).split('\n')
      rest = lines.pop()!
      for (const text of lines) {
        // One line behind: the last line is given out only once the whole dump checked out.
        if (pending) yield pending
        pending = parse(text)
      }
    }
  } catch (error) {
    if ((error as { code?: string }).code === 'E_BACKUP_CORRUPT') throw error
    throw new BackupError(
      'E_BACKUP_CORRUPT',
      `the metadata of backup ${manifest.id} cannot be read: ${(error as Error).message}`,
      { cause: error },
    )
  } finally {
    gunzip.destroy()
  }
  if (rest + decoder.end() !== '') {
    throw new BackupError('E_BACKUP_CORRUPT', `the metadata of backup ${manifest.id} ends mid-line`)
  }
  if (pending) yield pending
}

/** Every chunk a backup's metadata references: key and size. */
export async function backupChunks(
  store: BlobStore,
  manifest: BackupManifest,
): Promise<Map<string, number>> {
  const chunks = new Map<string, number>()
  const collect = chunkCollector(chunks)
  for await (const line of readMetadata(store, manifest)) collect(line)
  return chunks
}

/** Adds the chunk rows among dump lines, as they pass, to `chunks` (key → size). */
export function chunkCollector(chunks: Map<string, number>): (line: DumpLine) => void {
  let at: { key: number; size: number } | undefined
  return (line) => {
    if ('table' in line) {
      at =
        line.table === 'chunks'
          ? { key: line.columns.indexOf('key'), size: line.columns.indexOf('size') }
          : undefined
    } else if ('row' in line && at) {
      chunks.set(String(line.row[at.key]), Number(line.row[at.size]))
    }
  }
}
