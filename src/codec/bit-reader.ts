import { CodecError } from './errors.ts'

/**
 * Reads a DEFLATE bit stream (RFC 1951 §3.1.1: least-significant bit first) by position: byte
 * `p` and bit `b` (0–7) within it. `peek` gives the next 25 or more bits with one unaligned
 * 32-bit load, so decoding needs no refill branches; bytes past the end read as zero, and
 * peeking more than 4 bytes past it means the stream was cut short. Hot loops copy `p` and `b`
 * into locals and store them back.
 */
export class BitReader {
  readonly src: Uint8Array
  readonly view: DataView
  /** Last byte position where a 32-bit load stays inside `src`. */
  readonly fastEnd: number
  p: number
  b = 0
  readonly member: number
  readonly base: number

  constructor(src: Uint8Array, start: number, member: number, base: number) {
    this.src = src
    this.view = new DataView(src.buffer, src.byteOffset, src.byteLength)
    this.fastEnd = src.length - 4
    this.p = start
    this.member = member
    this.base = base
  }

  /** The 32 bits at byte `p`, zero past the end. */
  peekSlow(p: number): number {
    const src = this.src
    if (p > src.length + 4) throw this.truncated()
    let v = 0
    for (let k = 3; k >= 0; k--) v = (v << 8) | (p + k < src.length ? src[p + k]! : 0)
    return v >>> 0
  }

  /** The next 25 or more bits, not consumed. */
  peek(): number {
    const p = this.p
    return (p <= this.fastEnd ? this.view.getUint32(p, true) : this.peekSlow(p)) >>> this.b
  }

  /** The next `n` (≤ 24) bits. */
  bits(n: number): number {
    const v = this.peek() & ((1 << n) - 1)
    this.skip(n)
    return v
  }

  skip(n: number): void {
    const b = this.b + n
    this.p += b >>> 3
    this.b = b & 7
  }

  /** Drops the bits left in the current byte (stored blocks, the end of the stream). */
  alignToByte(): void {
    if (this.b > 0) {
      this.p++
      this.b = 0
    }
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
