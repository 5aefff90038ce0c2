/**
 * Bytes read from a stream and not yet consumed, with the ability to look at the first `n`
 * contiguously. Copies only when a look-ahead spans pieces.
 */
export class ByteQueue {
  readonly #pieces: Uint8Array[] = []
  #length = 0
  /** Bytes consumed so far: the absolute offset of the first queued byte. */
  consumed = 0

  get length(): number {
    return this.#length
  }

  push(piece: Uint8Array): void {
    if (piece.length === 0) return
    this.#pieces.push(piece)
    this.#length += piece.length
  }

  /** The first `min(n, length)` bytes, contiguous. */
  peek(n: number): Uint8Array {
    n = Math.min(n, this.#length)
    const first = this.#pieces[0]
    if (first && first.length >= n) return first.subarray(0, n)
    const out = this.#copyInto(new Uint8Array(n), n)
    // Keep the joined bytes so that the next peek does not copy them again.
    this.#pieces.splice(0, this.#pieces.length, out, ...this.#rest(n))
    return out
  }

  /**
   * Removes and returns the first `n` bytes (n ≤ length). With `into`, they are copied into
   * the `n`-byte buffer it gives (one that no one else holds, so it may be transferred);
   * without, they come as a view when they lie in one piece. Copied at most once either way.
   */
  take(n: number, into?: (n: number) => Uint8Array): Uint8Array {
    const out = into ? this.#copyInto(into(n), n) : this.peek(n)
    this.#drop(n)
    return out
  }

  /** Removes and returns everything. */
  takeAll(): Uint8Array[] {
    const pieces = this.#pieces.splice(0)
    this.consumed += this.#length
    this.#length = 0
    return pieces
  }

  /** Copies the first `n` queued bytes (there must be as many) to the start of `out`. */
  #copyInto(out: Uint8Array, n: number): Uint8Array {
    let filled = 0
    for (const piece of this.#pieces) {
      if (filled === n) break
      const take = Math.min(piece.length, n - filled)
      out.set(piece.subarray(0, take), filled)
      filled += take
    }
    return out
  }

  #rest(from: number): Uint8Array[] {
    const rest: Uint8Array[] = []
    let skip = from
    for (const piece of this.#pieces) {
      if (skip >= piece.length) {
        skip -= piece.length
        continue
      }
      rest.push(skip > 0 ? piece.subarray(skip) : piece)
      skip = 0
    }
    return rest
  }

  #drop(n: number): void {
    const rest = this.#rest(n)
    this.#pieces.splice(0, this.#pieces.length, ...rest)
    this.#length -= n
    this.consumed += n
  }
}
