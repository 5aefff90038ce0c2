/**
 * Reusable chunk-sized buffers. Uploads cut their bodies into these and give each back once its
 * chunk is stored, so memory stays at (chunks in flight × chunk size) instead of waiting for
 * the garbage collector to notice megabytes of dead buffers. They are backed by
 * SharedArrayBuffer, so a worker thread can hash one without a copy.
 */
export class ChunkBuffers {
  readonly size: number
  readonly #free: Buffer[] = []
  readonly #keep: number

  constructor(size: number, keep: number) {
    this.size = size
    this.#keep = keep
  }

  take(): Buffer {
    return this.#free.pop() ?? Buffer.from(new SharedArrayBuffer(this.size))
  }

  /** Returns the buffer under `view` (a chunk, or the front of one) for reuse. */
  give(view: Uint8Array): void {
    if (this.#free.length >= this.#keep) return
    if (!(view.buffer instanceof SharedArrayBuffer) || view.buffer.byteLength !== this.size) return
    this.#free.push(Buffer.from(view.buffer))
  }
}
