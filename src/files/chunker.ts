import { createHash } from 'node:crypto'
import { addHistogram } from '../codec/index.ts'
import type { ChunkInfo } from '../meta/index.ts'

/** A chunk cut from an upload, with what is computed on the way through. */
export interface Chunk extends ChunkInfo {
  bytes: Buffer
}

/**
 * Cuts a byte stream into chunks of exactly `chunkSize` bytes (the last may be shorter; an empty
 * stream gives none), computing each chunk's sha256 and byte-frequency table. Pulls from the
 * source only as the consumer pulls chunks, so backpressure reaches the sender. `onBytes` sees
 * every piece in order (for the whole-file hash and size).
 */
export async function* chunks(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  chunkSize: number,
  onBytes: (piece: Uint8Array) => void,
): AsyncGenerator<Chunk> {
  let buffer = Buffer.allocUnsafe(chunkSize)
  let filled = 0
  for await (const piece of source) {
    onBytes(piece)
    let at = 0
    while (at < piece.length) {
      const n = Math.min(chunkSize - filled, piece.length - at)
      buffer.set(piece.subarray(at, at + n), filled)
      filled += n
      at += n
      if (filled === chunkSize) {
        yield describe(buffer, chunkSize)
        buffer = Buffer.allocUnsafe(chunkSize)
        filled = 0
      }
    }
  }
  if (filled > 0) yield describe(buffer.subarray(0, filled), filled)
}

function describe(bytes: Buffer, size: number): Chunk {
  const frequencies = new Uint32Array(256)
  addHistogram(bytes, 0, size, frequencies)
  return { bytes, size, frequencies, key: createHash('sha256').update(bytes).digest('hex') }
}
