/**
 * Request bodies whose pieces their consumer alone holds, freed as soon as they are copied.
 *
 * Every socket read is a fresh ArrayBuffer (64 KiB) that dies once its bytes are copied into a
 * chunk, but only a garbage collection frees it; V8 counts such buffers as external memory and
 * lets them pile up between collections. `bin/piper.js` once kept the young generation at 1 MiB
 * so scavenges came often enough (a 1 GiB upload's peak RSS 215 → 155 MiB), at a cost to
 * everything else that allocates (docs/performance.md). Freed here, at the copy, they need no
 * collection at all.
 *
 * The gateway marks the pieces of an upload's body (`ownedPieces`); `cutChunks` frees a marked
 * piece once it has copied all of it (`freeIfOwned`). Only a piece that spans its whole
 * ArrayBuffer is marked, so no other bytes (another request's, on a kept-alive socket) share it.
 */
const owned = new WeakSet<ArrayBuffer>()

/** Yields `body`'s pieces, marking each that spans its own ArrayBuffer as the consumer's alone. */
export async function* ownedPieces(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const piece of body) {
    const buffer = piece.buffer
    if (
      buffer instanceof ArrayBuffer &&
      piece.byteOffset === 0 &&
      piece.byteLength === buffer.byteLength
    ) {
      owned.add(buffer)
    }
    yield piece
  }
}

/**
 * Frees the memory under `piece` now if `ownedPieces` marked it: for a consumer that has copied
 * the piece and keeps no view of it. Views of it become empty.
 */
export function freeIfOwned(piece: Uint8Array): void {
  const buffer = piece.buffer
  if (buffer instanceof ArrayBuffer && owned.delete(buffer) && !buffer.detached) buffer.transfer(0)
}
