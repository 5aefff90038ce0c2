import { CodecError } from './errors.ts'

/** Bits indexed by the first-level look-up; longer codes take the slow path. */
export const TABLE_BITS = 11
const TABLE_SIZE = 1 << TABLE_BITS

/** Entry kinds (bits 21–22 of an entry). */
export const ONE_LITERAL = 1
export const TWO_LITERALS = 2
export const SLOW = 3

/**
 * A canonical Huffman decoder (RFC 1951 §3.2.2) for one alphabet: `count[len]` codes of each
 * length and `symbols` in canonical order, for the bit-by-bit slow path; and, for literal
 * alphabets, a first-level table of `TABLE_BITS` bits whose entries decode one or two
 * literals at once: sym1 | sym2 << 8 | bits << 16 | kind << 21.
 */
export interface HuffmanDecoder {
  count: Uint16Array
  symbols: Uint16Array
  table: Int32Array | undefined
}

/**
 * Builds a decoder from code lengths, rejecting over-subscribed codes and incomplete ones
 * (but for a single code of length 1, which RFC 1951 §3.2.7 allows for distances and which
 * zlib accepts everywhere). `what` and `at` label errors.
 */
export function buildDecoder(
  lengths: Uint8Array,
  withTable: boolean,
  what: string,
  at: { member: number; offset: number },
): HuffmanDecoder {
  const count = new Uint16Array(16)
  for (let s = 0; s < lengths.length; s++) count[lengths[s]!]!++
  count[0] = 0
  let left = 1
  for (let len = 1; len <= 15; len++) {
    left = (left << 1) - count[len]!
    if (left < 0) throw new CodecError('E_CORRUPT_DATA', `over-subscribed ${what} code`, at)
  }
  const used = lengths.length - lengths.filter((l) => l === 0).length
  if (left > 0 && !(used === 1 && count[1] === 1)) {
    throw new CodecError('E_CORRUPT_DATA', `incomplete ${what} code`, at)
  }
  const offsets = new Uint16Array(16)
  for (let len = 1; len < 15; len++) offsets[len + 1] = offsets[len]! + count[len]!
  const symbols = new Uint16Array(lengths.length)
  for (let s = 0; s < lengths.length; s++)
    if (lengths[s] !== 0) symbols[offsets[lengths[s]!]!++] = s
  const decoder: HuffmanDecoder = { count, symbols, table: undefined }
  if (withTable) decoder.table = literalTable(lengths)
  return decoder
}

function literalTable(lengths: Uint8Array): Int32Array {
  // Single-symbol entries first: symbol | bits << 16, or 0 where the code is longer.
  const single = new Int32Array(TABLE_SIZE)
  const next = new Uint32Array(17)
  const count = new Uint16Array(16)
  for (let s = 0; s < lengths.length; s++) count[lengths[s]!]!++
  count[0] = 0
  let code = 0
  for (let len = 1; len <= 15; len++) {
    code = (code + count[len - 1]!) << 1
    next[len] = code
  }
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s]!
    if (len === 0 || len > TABLE_BITS) continue
    let reversed = 0
    for (let i = 0, c = next[len]!++; i < len; i++, c >>>= 1) reversed = (reversed << 1) | (c & 1)
    for (let i = reversed; i < TABLE_SIZE; i += 1 << len) single[i] = s | (len << 16) | (1 << 24)
  }
  // Pair entries: a literal whose code leaves room for a second literal's whole code.
  const table = new Int32Array(TABLE_SIZE)
  for (let i = 0; i < TABLE_SIZE; i++) {
    const first = single[i]!
    const sym1 = first & 0xffff
    const len1 = (first >>> 16) & 0xff
    if (first === 0 || sym1 > 255) {
      table[i] = SLOW << 21
      continue
    }
    const second = single[i >>> len1]!
    const sym2 = second & 0xffff
    const len2 = (second >>> 16) & 0xff
    if (second !== 0 && sym2 <= 255 && len1 + len2 <= TABLE_BITS) {
      table[i] = sym1 | (sym2 << 8) | ((len1 + len2) << 16) | (TWO_LITERALS << 21)
    } else {
      table[i] = sym1 | (len1 << 16) | (ONE_LITERAL << 21)
    }
  }
  return table
}
