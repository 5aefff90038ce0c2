/**
 * Canonical Huffman codes from code lengths (RFC 1951 §3.2.2), bit-reversed because DEFLATE
 * packs bits least-significant first while Huffman codes are defined most-significant first.
 */
export function canonicalCodes(lengths: ArrayLike<number>, maxBits = 15): Uint16Array {
  const count = new Uint16Array(maxBits + 1)
  for (let s = 0; s < lengths.length; s++) count[lengths[s]!]!++
  count[0] = 0
  const next = new Uint32Array(maxBits + 2)
  let code = 0
  for (let bits = 1; bits <= maxBits; bits++) {
    code = (code + count[bits - 1]!) << 1
    next[bits] = code
  }
  const codes = new Uint16Array(lengths.length)
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s]!
    if (len !== 0) codes[s] = reverseBits(next[len]!++, len)
  }
  return codes
}

function reverseBits(value: number, bits: number): number {
  let out = 0
  for (let i = 0; i < bits; i++) {
    out = (out << 1) | (value & 1)
    value >>>= 1
  }
  return out
}
