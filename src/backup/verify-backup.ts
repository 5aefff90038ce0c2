import type { BlobStore } from '../blobs/index.ts'
import { backupChunks, readManifest } from './backup-catalog.ts'
import { eachChunk, readChunk } from './each-chunk.ts'
import { BackupError } from './errors.ts'

/** What a verification found: a backup is sound when `missing` and `corrupt` are both empty. */
export interface VerifyResult {
  id: string
  chunks: number
  bytes: number
  /** Keys of chunks the backup needs that are not in the store (the first 100). */
  missing: string[]
  /** Keys of chunks whose bytes do not match their hash or size (the first 100). */
  corrupt: string[]
  missingCount: number
  corruptCount: number
}

/**
 * Reads backup `id` back whole: its manifest, its metadata (size and sha256 against the
 * manifest) and every chunk it references (present, and its bytes hashing to its key).
 */
export async function verifyBackup(o: {
  store: BlobStore
  id: string
  lanes?: number
  signal?: AbortSignal
  onProgress?: (done: number, total: number) => void
}): Promise<VerifyResult> {
  const manifest = await readManifest(o.store, o.id)
  const chunks = await backupChunks(o.store, manifest)
  const result: VerifyResult = {
    id: manifest.id,
    chunks: chunks.size,
    bytes: 0,
    missing: [],
    corrupt: [],
    missingCount: 0,
    corruptCount: 0,
  }
  if (chunks.size !== manifest.chunks.count) {
    throw new BackupError(
      'E_BACKUP_CORRUPT',
      `backup ${manifest.id}'s metadata references ${chunks.size} chunks, its manifest ${manifest.chunks.count}`,
    )
  }
  let done = 0
  await eachChunk(
    chunks,
    o.lanes ?? 4,
    async (key, size) => {
      result.bytes += size
      try {
        await readChunk(o.store, key, size, (error) => error as Error)
      } catch (error) {
        const code = (error as { code?: string }).code
        if (code === 'E_BLOB_NOT_FOUND') {
          if (result.missingCount++ < 100) result.missing.push(key)
        } else if (code === 'E_BACKUP_CORRUPT') {
          if (result.corruptCount++ < 100) result.corrupt.push(key)
        } else {
          throw error
        }
      }
      o.onProgress?.(++done, chunks.size)
    },
    o.signal,
  )
  return result
}
