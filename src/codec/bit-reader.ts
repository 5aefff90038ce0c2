import { CodecError } from './errors.ts'

/**
 * Reads a DEFLATE bit stream (least-significant bit first). Bytes past the end read as zero so
 * that look-ups may peek ahead; taking 4 or more of those means the stream was cut short.
 * Hot loops copy `buf`, `cnt` and `p` into locals and store them back.
 */
export class BitReader {
  readonly src: Uint8Array
  p: number
  buf = 0
  cnt = 0
  readonly member: number
  readonly base: number

  constructor(src: Uint8Array, start: number, member: number, base: number) {
    this.src = src
    this.p = start
    this.member = member
    this.base = base
  }

  /** Ensures at least `n` (≤ 24) bits are buffered; never more than 31 are. */
  need(n: number): void {
    while (this.cnt < n) {
      if (this.p >= this.src.length + 4) throw this.truncated()
      this.buf |= (this.p < this.src.length ? this.src[this.p]! : 0) << this.cnt
      this.p++
      this.cnt += 8
    }
  }

  bits(n: number): number {
    if (this.cnt < n) this.need(n)
    const v = this.buf & ((1 << n) - 1)
    this.buf >>>= n
    this.cnt -= n
    return v
  }

  /** Drops bits to the byte boundary and gives back whole buffered bytes (stored blocks). */
  alignToByte(): void {
    this.p -= this.cnt >>> 3
    this.buf = 0
    this.cnt = 0
  }

  at(): { member: number; offset: number } {
    return { member: this.member, offset: this.base + Math.min(this.p, this.src.length) }
  }

  corrupt(message: string): CodecError {
    return new CodecError('E_CORRUPT_DATA', message, this.at())
  }

  truncated(): CodecError {
    return new CodecError('E_TRUNCATED', 'compressed data ends early', this.at())
  }
}
