import type { BlobStore } from '../blobs/index.ts'
import { readChunkVerified } from '../files/index.ts'
import { inLanes } from '../net/index.ts'
import { CHUNK_KEY } from './backup-layout.ts'
import { BackupError } from './errors.ts'

/**
 * Calls `fn` on every entry, `lanes` at a time (a store across a network answers each call a
 * round trip later). Stops taking new entries once `signal` aborts; the first error ends it.
 */
export function eachChunk(
  chunks: Iterable<[string, number]>,
  lanes: number,
  fn: (key: string, size: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  return inLanes(chunks, lanes, ([key, size]) => fn(key, size), signal)
}

/**
 * The chunk `key` of `from`, checked to be what the key says (its sha256, `readChunkVerified`)
 * and of the `size` the metadata says: a damaged chunk is `E_BACKUP_CORRUPT`, never passed on.
 * `missing` names the error when `from` lacks it.
 */
export async function readChunk(
  from: BlobStore,
  key: string,
  size: number,
  missing: (error: unknown) => Error,
): Promise<Uint8Array> {
  let bytes: Uint8Array
  try {
    bytes = await readChunkVerified(from, key)
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'E_BLOB_NOT_FOUND') throw missing(error)
    if (code !== 'E_CHUNK_CORRUPT') throw error
    throw corrupt(from, key, error)
  }
  if (bytes.byteLength !== size) throw corrupt(from, key)
  return bytes
}

function corrupt(from: BlobStore, key: string, cause?: unknown): BackupError {
  return new BackupError(
    'E_BACKUP_CORRUPT',
    `chunk ${key} in ${from.name} does not match its hash or size; not copied`,
    { cause },
  )
}

/**
 * Copies the chunk `key` from `from` to `to`, checked on the way (`readChunk`).
 * `stale`: `to` holds the key with other bytes.
 */
export async function copyChunk(
  from: BlobStore,
  to: BlobStore,
  key: string,
  size: number,
  missing: (error: unknown) => Error,
  stale = false,
): Promise<void> {
  const bytes = await readChunk(from, key, size, missing)
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
