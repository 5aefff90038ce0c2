import { BitReader } from './bit-reader.ts'
import { FIXED_LITERAL_LENGTHS } from './block-plan.ts'
import { buildDecoder, type HuffmanDecoder, TABLE_BITS } from './decode-table.ts'
import { CODE_LENGTH_ORDER } from './dynamic-header.ts'

/** Thrown when a block uses LZ77 matches; the caller hands the member to `node:zlib`. */
export class HasMatches extends Error {}

const TABLE_MASK = (1 << TABLE_BITS) - 1
// Entry kinds of decode-table.ts, repeated as literals: imported bindings are not constant-folded
// in the hot loop.
const KIND_TWO_LITERALS = 2
const KIND_SLOW = 3
let fixedDecoder: HuffmanDecoder | undefined

/**
 * Decodes a literal-only DEFLATE stream (RFC 1951: stored, fixed and dynamic blocks whose
 * literal/length symbols are bytes and end-of-block) from `src[start…]` into `out`. Returns the
 * offset just past the final block and the bytes written. `member` and `base` (absolute offset
 * of `src[0]`) label errors. Throws `HasMatches` at the first length code.
 */
export function inflateLiterals(
  src: Uint8Array,
  start: number,
  out: Uint8Array,
  member: number,
  base: number,
): { end: number; written: number } {
  const r = new BitReader(src, start, member, base)
  let o = 0
  for (;;) {
    const final = r.bits(1)
    const type = r.bits(2)
    if (type === 0) {
      o = copyStored(r, out, o)
    } else if (type === 3) {
      throw r.corrupt('invalid block type 3')
    } else {
      fixedDecoder ??= buildDecoder(FIXED_LITERAL_LENGTHS, true, 'fixed', r.at())
      o = decodeLiterals(r, type === 1 ? fixedDecoder : readDynamicHeader(r), out, o)
    }
    if (final) break
  }
  r.alignToByte()
  if (r.p > src.length) throw r.truncated()
  return { end: r.p, written: o }
}

/** Stored block (§3.2.4): LEN and its one's complement NLEN, byte-aligned, then raw bytes. */
function copyStored(r: BitReader, out: Uint8Array, o: number): number {
  r.alignToByte()
  const { src, p } = r
  if (p + 4 > src.length) throw r.truncated()
  const len = src[p]! | (src[p + 1]! << 8)
  const nlen = src[p + 2]! | (src[p + 3]! << 8)
  if ((len ^ 0xffff) !== nlen) throw r.corrupt('stored block length does not match its complement')
  if (p + 4 + len > src.length) throw r.truncated()
  if (o + len > out.length) throw r.corrupt('more data than the member header announced')
  out.set(src.subarray(p + 4, p + 4 + len), o)
  r.p = p + 4 + len
  return o + len
}

/** Dynamic block header (§3.2.7): the code-length code, then the run-length coded lengths. */
function readDynamicHeader(r: BitReader): HuffmanDecoder {
  const hlit = r.bits(5) + 257
  const hdist = r.bits(5) + 1
  const hclen = r.bits(4) + 4
  if (hlit > 286) throw r.corrupt(`${hlit} literal/length codes (at most 286)`)
  const clLengths = new Uint8Array(19)
  for (let i = 0; i < hclen; i++) clLengths[CODE_LENGTH_ORDER[i]!] = r.bits(3)
  const cl = buildDecoder(clLengths, false, 'code length', r.at())
  const lengths = new Uint8Array(hlit + hdist)
  for (let i = 0; i < lengths.length; ) {
    const symbol = slowSymbol(r, cl)
    if (symbol < 16) {
      lengths[i++] = symbol
      continue
    }
    let value = 0
    let repeat: number
    if (symbol === 16) {
      if (i === 0) throw r.corrupt('repeat of a code length with none before it')
      value = lengths[i - 1]!
      repeat = 3 + r.bits(2)
    } else {
      repeat = symbol === 17 ? 3 + r.bits(3) : 11 + r.bits(7)
    }
    if (i + repeat > lengths.length) throw r.corrupt('code lengths repeat past the end')
    lengths.fill(value, i, i + repeat)
    i += repeat
  }
  if (lengths[256] === 0) throw r.corrupt('no code for end-of-block')
  // Only the literal/length code is needed to read literals; if a match ever appears, zlib
  // re-reads the block and checks the distance code.
  return buildDecoder(lengths.subarray(0, hlit), true, 'literal/length', r.at())
}

/** Canonical decoding one bit at a time (as in zlib's puff.c), for long and rare codes. */
function slowSymbol(r: BitReader, d: HuffmanDecoder): number {
  let code = 0
  let first = 0
  let index = 0
  for (let len = 1; len <= 15; len++) {
    code |= r.bits(1)
    const count = d.count[len]!
    if (code - count < first) return d.symbols[index + (code - first)]!
    index += count
    first = (first + count) << 1
    code <<= 1
  }
  throw r.corrupt('invalid Huffman code')
}

/** The hot loop: one table look-up decodes one or two literals. Returns the new output length. */
function decodeLiterals(
  r: BitReader,
  literals: HuffmanDecoder,
  out: Uint8Array,
  o: number,
): number {
  const table = literals.table!
  const src = r.src
  const srcEnd = src.length
  const outEnd = out.length
  let buf = r.buf
  let cnt = r.cnt
  let p = r.p
  for (;;) {
    // Refill two bytes at a time while below 16 bits: a look-up takes at most 11, and `buf`
    // never holds more than 31, so it stays a positive small integer in V8.
    if (cnt < 16) {
      if (p + 1 < srcEnd) {
        buf |= (src[p]! | (src[p + 1]! << 8)) << cnt
        p += 2
        cnt += 16
      } else {
        r.buf = buf
        r.cnt = cnt
        r.p = p
        r.need(16)
        buf = r.buf
        cnt = r.cnt
        p = r.p
      }
    }
    const entry = table[buf & TABLE_MASK]!
    const kind = entry >>> 21
    if (kind !== KIND_SLOW) {
      if (o + kind > outEnd) {
        r.p = p
        throw r.corrupt('more data than the member header announced')
      }
      out[o++] = entry & 0xff
      if (kind === KIND_TWO_LITERALS) out[o++] = (entry >>> 8) & 0xff
      const n = (entry >>> 16) & 0x1f
      buf >>>= n
      cnt -= n
      continue
    }
    r.buf = buf
    r.cnt = cnt
    r.p = p
    const symbol = slowSymbol(r, literals)
    buf = r.buf
    cnt = r.cnt
    p = r.p
    if (symbol === 256) return o
    if (symbol > 256) throw new HasMatches()
    if (o >= outEnd) throw r.corrupt('more data than the member header announced')
    out[o++] = symbol
  }
}
