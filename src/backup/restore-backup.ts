import type { BlobStore } from '../blobs/index.ts'
import type { MetaDumps } from '../meta/index.ts'
import { backupChunks, readManifest, readMetadata } from './backup-catalog.ts'
import { copyChunk, eachChunk, storedChunks } from './each-chunk.ts'
import { BackupError } from './errors.ts'

export interface RestoreResult {
  id: string
  /** Rows restored per table. */
  rows: Record<string, number>
  chunks: number
  /** Chunks copied into the blob store (the others were there already). */
  copied: number
  copiedBytes: number
}

/**
 * Restores backup `id` from `from` into an empty metadata store and a blob store: the chunks
 * first (each checked against its hash on the way; those the store has already are skipped),
 * then the metadata in one transaction. Cut off anywhere, it can be run again: until the
 * metadata commits, the stores hold nothing but chunks that nothing references yet.
 */
export async function restoreBackup(o: {
  from: BlobStore
  id: string
  meta: MetaDumps
  blobs: BlobStore
  lanes?: number
  signal?: AbortSignal
  onProgress?: (done: number, total: number) => void
}): Promise<RestoreResult> {
  const manifest = await readManifest(o.from, o.id)
  const chunks = await backupChunks(o.from, manifest)
  const present = await storedChunks(o.blobs)
  const result: RestoreResult = {
    id: manifest.id,
    rows: {},
    chunks: chunks.size,
    copied: 0,
    copiedBytes: 0,
  }
  let done = 0
  await eachChunk(
    chunks,
    o.lanes ?? 4,
    async (key, size) => {
      if (present.get(key) !== size) {
        await copyChunk(
          o.from,
          o.blobs,
          key,
          size,
          (error) =>
            new BackupError(
              'E_BACKUP_CORRUPT',
              `backup ${manifest.id} lacks chunk ${key} (piper backup verify ${manifest.id} lists every missing one)`,
              { cause: error },
            ),
          present.has(key),
        )
        result.copied++
        result.copiedBytes += size
      }
      o.onProgress?.(++done, chunks.size)
    },
    o.signal,
  )
  if (o.signal?.aborted) throw new BackupError('E_BACKUP_INCOMPLETE', 'the restore was stopped')
  result.rows = await o.meta.load(readMetadata(o.from, manifest), { restoredFrom: manifest.id })
  return result
}
