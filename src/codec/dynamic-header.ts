import type { BitWriter } from './bit-writer.ts'
import { canonicalCodes } from './canonical-codes.ts'
import { limitedCodeLengths } from './huffman-lengths.ts'

/** Order in which code-length code lengths are sent (RFC 1951 §3.2.7). */
export const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

/** Literal-only blocks send no distances; two 1-bit distance codes keep every decoder happy. */
const DISTANCE_LENGTHS = [1, 1]
/** Extra bits after each code-length symbol: only the repeat codes 16, 17 and 18 have them. */
const EXTRA_BITS = new Uint8Array(19)
EXTRA_BITS.set([2, 3, 7], 16)

/** The header of a dynamic-Huffman block whose literal/length alphabet is 0–256. */
export interface DynamicHeader {
  hclen: number
  codeLengthLengths: Uint8Array
  codeLengthCodes: Uint16Array
  /** Run-length coded lengths: symbol (0–18) and its extra-bits value, interleaved. */
  ops: Uint16Array
  /** Bits the header takes, from BFINAL through the last code length. */
  bits: number
}

/** Builds the header that sends `literalLengths` (257 entries: bytes and end-of-block). */
export function dynamicHeader(literalLengths: Uint8Array): DynamicHeader {
  const total = literalLengths.length + DISTANCE_LENGTHS.length
  const lengthAt = (i: number) =>
    i < literalLengths.length ? literalLengths[i]! : DISTANCE_LENGTHS[i - literalLengths.length]!
  // At most one op per length: symbol and extra-bits value, interleaved.
  const ops = new Uint16Array(2 * total)
  let n = 0
  const op = (symbol: number, extra: number) => {
    ops[n++] = symbol
    ops[n++] = extra
  }
  for (let i = 0; i < total; ) {
    const len = lengthAt(i)
    let run = 1
    while (i + run < total && lengthAt(i + run) === len) run++
    i += run
    if (len === 0) {
      while (run >= 11) {
        const r = Math.min(run, 138)
        op(18, r - 11)
        run -= r
      }
      if (run >= 3) {
        op(17, run - 3)
        run = 0
      }
    } else {
      op(len, 0)
      run--
      while (run >= 3) {
        const r = Math.min(run, 6)
        op(16, r - 3)
        run -= r
      }
    }
    for (; run > 0; run--) op(len, 0)
  }

  const freqs = new Uint32Array(19)
  for (let i = 0; i < n; i += 2) freqs[ops[i]!]!++
  const codeLengthLengths = limitedCodeLengths(freqs, 7)
  let hclen = 19
  while (hclen > 4 && codeLengthLengths[CODE_LENGTH_ORDER[hclen - 1]!] === 0) hclen--

  let bits = 3 + 5 + 5 + 4 + 3 * hclen
  for (let i = 0; i < n; i += 2) {
    const symbol = ops[i]!
    bits += codeLengthLengths[symbol]! + EXTRA_BITS[symbol]!
  }
  return {
    hclen,
    codeLengthLengths,
    codeLengthCodes: canonicalCodes(codeLengthLengths, 7),
    ops: ops.subarray(0, n),
    bits,
  }
}

/** Writes BFINAL, BTYPE=10 and the header. */
export function writeDynamicHeader(w: BitWriter, header: DynamicHeader, final: boolean): void {
  w.write(final ? 1 : 0, 1)
  w.write(2, 2)
  w.write(257 - 257, 5) // HLIT: 257 literal/length codes
  w.write(DISTANCE_LENGTHS.length - 1, 5) // HDIST
  w.write(header.hclen - 4, 4)
  for (let i = 0; i < header.hclen; i++)
    w.write(header.codeLengthLengths[CODE_LENGTH_ORDER[i]!]!, 3)
  const { ops, codeLengthCodes, codeLengthLengths } = header
  for (let i = 0; i < ops.length; i += 2) {
    const symbol = ops[i]!
    w.write(codeLengthCodes[symbol]!, codeLengthLengths[symbol]!)
    const extra = EXTRA_BITS[symbol]!
    if (extra > 0) w.write(ops[i + 1]!, extra)
  }
}
