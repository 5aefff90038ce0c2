/** Memory for a codec result of `n` bytes (see `decodeMember` and `encodeChunk`). */
export type Allocate = (n: number) => Uint8Array

/** The default: fresh, zeroed memory. */
export const freshMemory: Allocate = (n) => new Uint8Array(n)

/**
 * Memory kept for reuse by the codec pool: the input buffers it lends and the results callers
 * give back. Why not allocate each time: memory the process has not touched yet costs a page
 * fault per 4 KiB on its first write, and on a virtual machine whose host backs guest memory on
 * first touch that is slow. On this project's 2-core VM, allocating and filling a fresh 1 MiB
 * buffer took 2.7-3.1 ms against 0.05 ms for memory already used, more than decoding the member
 * that goes into it (2.2 ms); huge pages did not change the cost per byte.
 */
export class SpareBuffers {
  readonly #idle: ArrayBuffer[] = []
  readonly #maxCount: number
  readonly #maxBytes: number

  /** Keeps at most `maxCount` idle buffers of at most `maxBytes` each. */
  constructor(maxCount: number, maxBytes: number) {
    this.#maxCount = maxCount
    this.#maxBytes = maxBytes
  }

  /** Idle buffers held. */
  get idle(): number {
    return this.#idle.length
  }

  /** The smallest idle buffer of at least `n` bytes, no longer idle; none if none is as large. */
  take(n: number): ArrayBuffer | undefined {
    let best = -1
    for (let i = 0; i < this.#idle.length; i++) {
      const length = this.#idle[i]!.byteLength
      if (length >= n && (best < 0 || length < this.#idle[best]!.byteLength)) best = i
    }
    return best < 0 ? undefined : this.#idle.splice(best, 1)[0]
  }

  /** The largest idle buffer, no longer idle. */
  takeLargest(): ArrayBuffer | undefined {
    let best = -1
    for (let i = 0; i < this.#idle.length; i++) {
      if (best < 0 || this.#idle[i]!.byteLength > this.#idle[best]!.byteLength) best = i
    }
    return best < 0 ? undefined : this.#idle.splice(best, 1)[0]
  }

  /** Keeps `buffer` (which no one else may hold) unless it is too large or enough are idle. */
  keep(buffer: ArrayBuffer): void {
    if (buffer.detached || buffer.byteLength > this.#maxBytes) return
    if (this.#idle.length < this.#maxCount) this.#idle.push(buffer)
  }

  /** Drops every idle buffer, for the garbage collector to free. */
  clear(): void {
    this.#idle.length = 0
  }
}

const STEP = 256 * 1024

/**
 * The size to allocate for `n` bytes that may be reused: 256 KiB steps, so buffers serve the
 * chunks of one file, whose sizes vary a little. Pages past `n` are not touched until used.
 */
export function spareSize(n: number): number {
  return Math.max(STEP, Math.ceil(n / STEP) * STEP)
}
