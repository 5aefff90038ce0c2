import { createHash } from 'node:crypto'
import type { BlobStore, ByteRange } from '../blobs/index.ts'
import { sha256Hex } from '../codec/index.ts'
import { FileError } from './errors.ts'

/**
 * A chunk's bytes (or the inclusive `range` of them), checked against its key, which is the
 * sha256 of its content. The whole chunk passes through the hash, range or not; the last
 * piece is held back until the hash matches, so a damaged chunk is never served whole as good:
 * the stream ends with `E_CHUNK_CORRUPT` instead (an HTTP body then ends short of its
 * Content-Length, which every client takes as a failure).
 */
export async function* readVerified(
  blobs: BlobStore,
  key: string,
  range?: ByteRange,
): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256')
  let at = 0
  let held: Uint8Array | undefined
  for await (const piece of await blobs.get(key)) {
    hash.update(piece)
    const slice = range ? sliceOf(piece, at, range) : piece
    at += piece.length
    if (slice.length === 0) continue
    if (held) yield held
    held = slice
  }
  checkChunk(key, hash.digest('hex'))
  if (held) yield held
}

/**
 * Reads a whole chunk into memory, checked against its key. `hash` computes the sha256 (hex),
 * on this thread by default; pass a `CodecPool`'s to keep the calling thread free. The bytes
 * are asked for unchecked, as this checks them; damaged, they are read once more as the store
 * checks them, which lets a store of several copies serve a good one.
 */
export async function readChunkVerified(
  blobs: BlobStore,
  key: string,
  hash: (bytes: Uint8Array) => Promise<string> = sha256Here,
): Promise<Uint8Array> {
  const bytes = await blobs.read(key, { unchecked: true })
  if ((await hash(bytes)) === key) return bytes
  const again = await blobs.read(key)
  checkChunk(key, await hash(again))
  return again
}

/** The sha256 (hex) of `bytes`, on this thread. */
export async function sha256Here(bytes: Uint8Array): Promise<string> {
  return sha256Hex(bytes)
}

/** Throws `E_CHUNK_CORRUPT` unless the sha256 of a chunk's bytes is its key. */
function checkChunk(key: string, sha256: string): void {
  if (sha256 !== key) {
    throw new FileError('E_CHUNK_CORRUPT', `chunk ${key} is damaged: its bytes hash to ${sha256}`)
  }
}

/** The part of `piece` (which starts at byte `at` of the chunk) inside `range`. */
function sliceOf(piece: Uint8Array, at: number, range: ByteRange): Uint8Array {
  const from = Math.max(range.start - at, 0)
  const to = Math.min(range.end + 1 - at, piece.length)
  return from < to ? piece.subarray(from, to) : piece.subarray(0, 0)
}
