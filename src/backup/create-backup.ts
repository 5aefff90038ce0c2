import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { hostname } from 'node:os'
import { createGzip } from 'node:zlib'
import type { BlobStore } from '../blobs/index.ts'
import { Pace } from '../files/index.ts'
import type { MetaDumps } from '../meta/index.ts'
import { chunkCollector, incompleteBackups } from './backup-catalog.ts'
import { type BackupManifest, backupKeys, newBackupId } from './backup-layout.ts'
import { copyChunk, eachChunk, storedChunks } from './each-chunk.ts'
import { BackupError } from './errors.ts'

/** How far a backup has come; `onProgress` sees it a few times a second at most. */
export interface BackupProgress {
  id: string
  phase: 'metadata' | 'chunks' | 'done'
  /** Chunks the snapshot references, and of them checked so far. */
  chunks: number
  chunksDone: number
  bytes: number
  /** Chunks (and their bytes) copied so far: those the target lacked. */
  copied: number
  copiedBytes: number
}

/** A backup's progress before it has done anything. */
export function noProgress(): Omit<BackupProgress, 'id'> {
  return { phase: 'metadata', chunks: 0, chunksDone: 0, bytes: 0, copied: 0, copiedBytes: 0 }
}

export interface CreateBackupOptions {
  /** The live metadata (its dump is one consistent snapshot) and blob store. */
  meta: MetaDumps & { readonly name: string }
  source: BlobStore
  /** Where backups go: any blob store but the source itself. */
  target: BlobStore
  /** Copies at most this many chunk bytes a second (default: no limit). */
  bytesPerSecond?: number
  /** Chunks copied at a time (default 4). */
  lanes?: number
  signal?: AbortSignal
  onProgress?: (progress: BackupProgress) => void
  now?: () => Date
}

/**
 * Backs the metadata and every chunk it references up to `target`, while Piper goes on serving:
 * the metadata as of one moment (a snapshot transaction), then the chunks the target lacks (the
 * chunks of earlier backups there are shared, so each backup copies only what is new), then the
 * manifest. Backups this one supersedes that were cut off are removed once it is complete.
 */
export async function createBackup(o: CreateBackupOptions): Promise<BackupManifest> {
  if (o.source === o.target) {
    throw new BackupError(
      'E_BACKUP_TARGET',
      'backups must go to another blob store than the live one',
    )
  }
  const started = (o.now ?? (() => new Date()))()
  const id = newBackupId(started)
  const keys = backupKeys(id)
  const cutOff = await incompleteBackups(o.target)
  await o.target.put(
    keys.begun,
    Buffer.from(
      JSON.stringify({ id, started: started.getTime(), host: hostname(), pid: process.pid }),
    ),
  )
  const progress: BackupProgress = { id, ...noProgress() }
  let shown = 0
  const report = (force = false) => {
    if (!force && Date.now() - shown < 250) return
    shown = Date.now()
    o.onProgress?.({ ...progress })
  }
  report(true)

  const chunks = new Map<string, number>()
  const metadata = await writeMetadata(
    o.meta,
    o.target,
    keys.metadata,
    chunkCollector(chunks),
    o.signal,
  )
  progress.phase = 'chunks'
  progress.chunks = chunks.size
  for (const size of chunks.values()) progress.bytes += size
  report(true)

  // What the target holds already, by size: one of another size is copied again.
  const present = await storedChunks(o.target)
  const pace = o.bytesPerSecond ? new Pace(o.bytesPerSecond) : undefined
  await eachChunk(
    chunks,
    o.lanes ?? 4,
    async (key, size) => {
      if (present.get(key) !== size) {
        await pace?.spend(size, o.signal)
        await copyChunk(
          o.source,
          o.target,
          key,
          size,
          (error) =>
            new BackupError(
              'E_BACKUP_SOURCE',
              `chunk ${key} was deleted from ${o.source.name} while the backup ran (its file was deleted after the snapshot); back up again`,
              { cause: error },
            ),
          present.has(key),
        )
        progress.copied++
        progress.copiedBytes += size
      }
      progress.chunksDone++
      report()
    },
    o.signal,
  )
  if (o.signal?.aborted) {
    throw new BackupError('E_BACKUP_INCOMPLETE', `backup ${id} was stopped before it was complete`)
  }

  const manifest: BackupManifest = {
    format: 'piper-backup',
    version: 1,
    id,
    started: started.getTime(),
    finished: Date.now(),
    schema: metadata.schema,
    source: { meta: o.meta.name, blobs: o.source.name },
    metadata: {
      key: keys.metadata,
      size: metadata.size,
      sha256: metadata.sha256,
      rows: metadata.rows,
    },
    chunks: {
      count: progress.chunks,
      bytes: progress.bytes,
      copied: progress.copied,
      copiedBytes: progress.copiedBytes,
    },
  }
  await o.target.put(keys.manifest, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`))
  await o.target.delete(keys.begun)
  // Earlier backups that were cut off: this one holds everything they did, and more recently.
  for (const old of cutOff) {
    for (const key of Object.values(backupKeys(old))) await o.target.delete(key)
  }
  progress.phase = 'done'
  report(true)
  return manifest
}

/** Streams the metadata dump, gzipped, into `key` of `target`; its size, sha256 and rows. */
async function writeMetadata(
  meta: MetaDumps,
  target: BlobStore,
  key: string,
  onLine: ReturnType<typeof chunkCollector>,
  signal: AbortSignal | undefined,
): Promise<{ size: number; sha256: string; rows: Record<string, number>; schema: number }> {
  const gzip = createGzip()
  const hash = createHash('sha256')
  let size = 0
  async function* hashed() {
    for await (const piece of gzip) {
      hash.update(piece as Buffer)
      size += (piece as Buffer).byteLength
      yield piece as Buffer
    }
  }
  const putting = target.put(key, hashed())
  // A put that fails stops the dump (its next write finds the stream destroyed).
  putting.catch((error: unknown) => gzip.destroy(error as Error))
  let schema = 0
  const rows = await meta.dump(async (line) => {
    if ('header' in line) schema = line.header.schema
    onLine(line)
    if (signal?.aborted) {
      gzip.destroy()
      throw new BackupError('E_BACKUP_INCOMPLETE', 'the backup was stopped before it was complete')
    }
    if (gzip.destroyed) throw gzip.errored ?? new Error('the metadata upload stopped')
    if (!gzip.write(`${JSON.stringify(line)}\n`)) await once(gzip, 'drain')
  })
  gzip.end()
  await putting
  return { size, sha256: hash.digest('hex'), rows, schema }
}
