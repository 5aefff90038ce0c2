/**
 * Writes a DEFLATE bit stream (RFC 1951 §3.1.1: least-significant bit first) into a
 * preallocated buffer. After every write the whole 32-bit accumulator is stored at `pos` and
 * `pos` advances past the bytes completed, so at most 7 bits stay pending and no write needs a
 * branch to flush (the partial byte is stored again with the next write). The literal loop in
 * `deflate-writer.ts` does the same with `buf`, `cnt` and `pos` in locals.
 */
export class BitWriter {
  readonly bytes: Uint8Array
  readonly view: DataView
  /** Byte position of the first pending bit. */
  pos: number
  /** Pending bits, the oldest in the least-significant position. */
  buf = 0
  /** Number of pending bits, 0 to 7. */
  cnt = 0

  /** `bytes` needs 4 bytes of slack past the last byte written. */
  constructor(bytes: Uint8Array, start = 0) {
    this.bytes = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.pos = start
  }

  /** Appends the low `n` bits of `value` (n ≤ 24). */
  write(value: number, n: number): void {
    const buf = this.buf | (value << this.cnt)
    const cnt = this.cnt + n
    this.view.setInt32(this.pos, buf, true)
    const done = cnt & 24
    this.pos += done >>> 3
    this.buf = (buf >>> done) | 0
    this.cnt = cnt & 7
  }

  /** Pads with zero bits to a byte boundary (the partial byte is already stored). */
  alignToByte(): number {
    if (this.cnt > 0) this.pos++
    this.buf = 0
    this.cnt = 0
    return this.pos
  }

  /** Copies whole bytes; the writer must be byte-aligned. */
  writeBytes(src: Uint8Array, start: number, end: number): void {
    this.bytes.set(src.subarray(start, end), this.pos)
    this.pos += end - start
  }
}
