import { freeIfOwned } from './owned-pieces.ts'

/**
 * Cuts a byte stream into chunks of exactly `chunkSize` bytes (the last may be shorter; an empty
 * stream gives none), each in a buffer of its own from `take` (of at least `chunkSize` bytes;
 * a fresh one by default). Pulls from the source only as the consumer pulls chunks, so
 * backpressure reaches the producer. `onBytes` sees every piece in order (e.g. for a hash of
 * the whole stream), and must not keep it: a piece marked by `ownedPieces` is freed once copied.
 */
export async function* cutChunks(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  chunkSize: number,
  onBytes?: (piece: Uint8Array) => void,
  take: () => Uint8Array = () => new Uint8Array(chunkSize),
): AsyncGenerator<Uint8Array> {
  // Taken when a byte needs it, not before: a request that opens and sends nothing (or
  // nothing more after its last whole chunk) holds no chunk-sized buffer.
  let buffer: Uint8Array | undefined
  let filled = 0
  for await (const piece of source) {
    onBytes?.(piece)
    let at = 0
    while (at < piece.length) {
      buffer ??= take()
      const n = Math.min(chunkSize - filled, piece.length - at)
      buffer.set(piece.subarray(at, at + n), filled)
      filled += n
      at += n
      if (filled === chunkSize) {
        yield buffer.subarray(0, chunkSize)
        buffer = undefined
        filled = 0
      }
    }
    freeIfOwned(piece)
  }
  if (buffer && filled > 0) yield buffer.subarray(0, filled)
}
