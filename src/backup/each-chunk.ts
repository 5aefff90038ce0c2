import { createHash } from 'node:crypto'
import type { BlobStore } from '../blobs/index.ts'
import { CHUNK_KEY } from './backup-layout.ts'
import { BackupError } from './errors.ts'

/**
 * Calls `fn` on every entry, `lanes` at a time (a store across a network answers each call a
 * round trip later). Stops taking new entries once `signal` aborts; the first error ends it.
 */
export async function eachChunk(
  chunks: Iterable<[string, number]>,
  lanes: number,
  fn: (key: string, size: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const entries = chunks[Symbol.iterator]()
  let failed = false
  const lane = async () => {
    for (;;) {
      if (failed || signal?.aborted) return
      const next = entries.next()
      if (next.done) return
      try {
        await fn(next.value[0], next.value[1])
      } catch (error) {
        failed = true
        throw error
      }
    }
  }
  await Promise.all(Array.from({ length: lanes }, lane))
}

/**
 * Copies the chunk `key` from `from` to `to`, checking on the way that its bytes are what the key
 * says (their sha256) and of the `size` the metadata says: a damaged chunk is never copied on.
 * `missing` names the error when `from` lacks it; `stale`: `to` holds the key with other bytes.
 */
export async function copyChunk(
  from: BlobStore,
  to: BlobStore,
  key: string,
  size: number,
  missing: (error: unknown) => BackupError,
  stale = false,
): Promise<void> {
  let bytes: Uint8Array
  try {
    bytes = await from.read(key)
  } catch (error) {
    if ((error as { code?: string }).code === 'E_BLOB_NOT_FOUND') throw missing(error)
    throw error
  }
  if (bytes.byteLength !== size || createHash('sha256').update(bytes).digest('hex') !== key) {
    throw new BackupError(
      'E_BACKUP_CORRUPT',
      `chunk ${key} in ${from.name} does not match its hash or size; not copied`,
    )
  }
  // A put of a key that is there already keeps the old blob: a stale one goes first.
  if (stale) await to.delete(key)
  await to.put(key, bytes, { expectedSize: size, sha256: key })
}

/** The chunks a store holds (key → size), listed once: what a copy into it may skip. */
export async function storedChunks(store: BlobStore): Promise<Map<string, number>> {
  const stored = new Map<string, number>()
  for await (const blob of store.list())
    if (CHUNK_KEY.test(blob.key)) stored.set(blob.key, blob.size)
  return stored
}
