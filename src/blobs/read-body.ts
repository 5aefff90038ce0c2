import type { Allocate } from './blob-store.ts'
import { BlobError } from './errors.ts'

/**
 * A response body of `size` bytes (its content length) read into one buffer: memory `allocate`
 * lends, or a fresh buffer. `E_BLOB_SIZE` when the body is longer or shorter than it said.
 */
export async function readBody(
  key: string,
  body: AsyncIterable<Uint8Array>,
  size: number,
  allocate: Allocate = (n) => new Uint8Array(n),
): Promise<Uint8Array> {
  const bytes = allocate(size)
  let at = 0
  for await (const piece of body) {
    if (at + piece.length > size)
      throw new BlobError('E_BLOB_SIZE', key, `blob ${key} is longer than its length`)
    bytes.set(piece, at)
    at += piece.length
  }
  if (at !== size)
    throw new BlobError('E_BLOB_SIZE', key, `blob ${key} ended after ${at} of ${size} bytes`)
  return bytes
}
