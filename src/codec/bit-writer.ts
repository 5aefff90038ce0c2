/**
 * Writes a DEFLATE bit stream (RFC 1951 §3.1.1: least-significant bit first) into a
 * preallocated buffer. Bits collect in a 32-bit accumulator that is stored a whole word at a
 * time, which is what makes the literal loop in `deflate-writer.ts` fast; that loop copies
 * `buf`, `cnt` and `pos` into locals and writes them back.
 */
export class BitWriter {
  readonly bytes: Uint8Array
  readonly view: DataView
  /** Byte position of the next 32-bit word. */
  pos: number
  /** Pending bits, the oldest in the least-significant position. */
  buf = 0
  /** Number of pending bits, 0 to 31. */
  cnt = 0

  /** `bytes` needs 4 bytes of slack past the last byte written. */
  constructor(bytes: Uint8Array, start = 0) {
    this.bytes = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.pos = start
  }

  /** Appends the low `n` bits of `value` (n ≤ 24). */
  write(value: number, n: number): void {
    this.buf |= value << this.cnt
    this.cnt += n
    if (this.cnt >= 32) {
      this.view.setUint32(this.pos, this.buf, true)
      this.pos += 4
      this.cnt -= 32
      this.buf = this.cnt === 0 ? 0 : value >>> (n - this.cnt)
    }
  }

  /** Pads with zero bits to a byte boundary and stores the pending bytes; returns the length. */
  alignToByte(): number {
    while (this.cnt > 0) {
      this.bytes[this.pos++] = this.buf & 0xff
      this.buf >>>= 8
      this.cnt = Math.max(0, this.cnt - 8)
    }
    this.buf = 0
    return this.pos
  }

  /** Copies whole bytes; the writer must be byte-aligned. */
  writeBytes(src: Uint8Array, start: number, end: number): void {
    this.bytes.set(src.subarray(start, end), this.pos)
    this.pos += end - start
  }
}
