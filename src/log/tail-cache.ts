interface Piece {
  /** File position of the first byte. */
  start: number
  bytes: Uint8Array
}

const EVICTED: Piece = { start: -1, bytes: new Uint8Array(0) }

/**
 * The newest bytes written to a segment, kept in memory: a queue's consumers mostly read what
 * was just published, and serving that from here saves each fetch a trip through the thread
 * pool to the page cache (on two cores, that hop was most of a delivery's latency).
 */
export class TailCache {
  #capacity: number
  #pieces: Piece[] = []
  /** Pieces before this index are evicted (dropped in bulk, so eviction is not O(n) each). */
  #head = 0
  #bytes = 0

  constructor(capacity: number) {
    this.#capacity = capacity
  }

  /** Holds at most `capacity` bytes from now on (0: none). */
  resize(capacity: number): void {
    this.#capacity = capacity
    this.#evict()
  }

  /** Remembers `bytes`, just written at file position `start`. */
  add(start: number, bytes: Uint8Array): void {
    const last = this.#pieces.at(-1)
    // Only a contiguous run of the file's end is kept.
    if (last && last.start + last.bytes.length !== start) this.clear()
    if (bytes.length > this.#capacity) {
      // With no room (a sealed segment, a group's state log) this runs on every append.
      if (this.#pieces.length > 0) this.clear()
      return
    }
    this.#pieces.push({ start, bytes })
    this.#bytes += bytes.length
    this.#evict()
  }

  /** File bytes `[start, end)`, when all of them are here; a view unless they span pieces. */
  read(start: number, end: number): Uint8Array | undefined {
    const pieces = this.#pieces
    const last = pieces.at(-1)
    if (!last || this.#head >= pieces.length) return undefined
    if (start < pieces[this.#head]!.start || end > last.start + last.bytes.length) return undefined
    // Reads are mostly of the newest bytes: search from the end.
    let i = pieces.length - 1
    while (pieces[i]!.start > start) i--
    const first = pieces[i]!
    if (end <= first.start + first.bytes.length) {
      return first.bytes.subarray(start - first.start, end - first.start)
    }
    const out = Buffer.allocUnsafe(end - start)
    for (let at = 0; at < out.length; i++) {
      const piece = pieces[i]!
      const from = Math.max(start, piece.start) - piece.start
      const to = Math.min(end, piece.start + piece.bytes.length) - piece.start
      out.set(piece.bytes.subarray(from, to), at)
      at += to - from
    }
    return out
  }

  clear(): void {
    this.#pieces = []
    this.#head = 0
    this.#bytes = 0
  }

  #evict(): void {
    while (this.#bytes > this.#capacity && this.#head < this.#pieces.length) {
      this.#bytes -= this.#pieces[this.#head]!.bytes.length
      this.#pieces[this.#head++] = EVICTED
    }
    if (this.#head > 64 && this.#head * 2 > this.#pieces.length) {
      this.#pieces = this.#pieces.slice(this.#head)
      this.#head = 0
    }
  }
}
