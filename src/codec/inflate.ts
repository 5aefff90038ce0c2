import { BitReader } from './bit-reader.ts'
import { FIXED_LITERAL_LENGTHS } from './block-plan.ts'
import { codeLengthTable, type DecodeTable, literalTable } from './decode-table.ts'
import { CODE_LENGTH_ORDER } from './dynamic-header.ts'

/** Thrown when a block uses LZ77 matches; the caller hands the member to `node:zlib`. */
export class HasMatches extends Error {}

// Entry fields of decode-table.ts, repeated as literals: imported bindings are not
// constant-folded in the hot loop.
const POINTER = 1 << 20
const ONE_LITERAL = 1 << 28
const END_OF_BLOCK = 256

/**
 * Root bits of the literal/length tables: 12 decodes two or three literals per look-up on text,
 * and a table costs about as much to build as decoding 3-10 KiB of output; measured against 10
 * and 11 (and against choosing by the previous block's length), 12 was fastest on every file
 * of the codec bench.
 */
const ROOT_BITS = 12
let fixedTable: DecodeTable | undefined

/**
 * Decodes a literal-only DEFLATE stream (RFC 1951: stored, fixed and dynamic blocks whose
 * literal/length symbols are bytes and end-of-block) from `src[start…]` into `out`, which must
 * have 8 bytes of slack past the largest output allowed. Returns the offset just past the final
 * block and the bytes written. `member` and `base` (absolute offset of `src[0]`) label errors.
 * Throws `HasMatches` at the first length code.
 */
export function inflateLiterals(
  src: Uint8Array,
  start: number,
  out: Uint8Array,
  member: number,
  base: number,
): { end: number; written: number } {
  const r = new BitReader(src, start, member, base)
  const outView = new DataView(out.buffer, out.byteOffset, out.byteLength)
  const limit = out.length - 8
  let o = 0
  for (;;) {
    const final = r.bits(1)
    const type = r.bits(2)
    if (type === 0) {
      o = copyStored(r, out, o, limit)
    } else if (type === 3) {
      throw r.corrupt('invalid block type 3')
    } else if (type === 1) {
      fixedTable ??= literalTable(FIXED_LITERAL_LENGTHS, ROOT_BITS, r.at(), true)
      o = decodeLiterals(r, fixedTable, out, outView, o, limit)
    } else {
      o = decodeLiterals(r, readDynamicHeader(r), out, outView, o, limit)
    }
    if (final) break
  }
  r.alignToByte()
  if (r.p > src.length) throw r.truncated()
  return { end: r.p, written: o }
}

/** Stored block (§3.2.4): LEN and its one's complement NLEN, byte-aligned, then raw bytes. */
function copyStored(r: BitReader, out: Uint8Array, o: number, limit: number): number {
  r.alignToByte()
  const { src, p } = r
  if (p + 4 > src.length) throw r.truncated()
  const len = src[p]! | (src[p + 1]! << 8)
  const nlen = src[p + 2]! | (src[p + 3]! << 8)
  if ((len ^ 0xffff) !== nlen) throw r.corrupt('stored block length does not match its complement')
  if (p + 4 + len > src.length) throw r.truncated()
  if (o + len > limit) throw r.corrupt('more data than the member header announced')
  out.set(src.subarray(p + 4, p + 4 + len), o)
  r.p = p + 4 + len
  return o + len
}

const clScratch = new Uint8Array(19)
/** At most 286 literal/length and 32 distance code lengths (a header may say 288 + 32). */
const lengthsScratch = new Uint8Array(288 + 32)

/** Dynamic block header (§3.2.7): the code-length code, then the run-length coded lengths. */
function readDynamicHeader(r: BitReader): DecodeTable {
  const hlit = r.bits(5) + 257
  const hdist = r.bits(5) + 1
  const hclen = r.bits(4) + 4
  if (hlit > 286) throw r.corrupt(`${hlit} literal/length codes (at most 286)`)
  // Scratch, not fresh arrays: a header comes every ~16 KiB of output, and each typed array
  // over 64 bytes is a separate allocation outside V8's heap.
  const clLengths = clScratch.fill(0)
  for (let i = 0; i < hclen; i++) clLengths[CODE_LENGTH_ORDER[i]!] = r.bits(3)
  const cl = codeLengthTable(clLengths, r.at())
  const lengths = lengthsScratch.subarray(0, hlit + hdist)
  for (let i = 0; i < lengths.length; ) {
    const entry = cl[r.peek() & 127]!
    if (entry === 0) throw r.corrupt('invalid code length code')
    r.skip(entry >>> 16)
    const symbol = entry & 0xffff
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
  if (lengths[END_OF_BLOCK] === 0) throw r.corrupt('no code for end-of-block')
  // Only the literal/length code is needed to read literals; if a match ever appears, zlib
  // re-reads the block and checks the distance code.
  return literalTable(lengths.subarray(0, hlit), ROOT_BITS, r.at())
}

/**
 * The hot loop. A 32-bit bit buffer is refilled without branches (F. Giesen, "Reading bits in
 * far too many ways", variant 4): OR in the next 4 bytes above the bits held, advance by the
 * whole bytes that fit, and hold 24–31 bits, enough for two look-ups of up to 12 bits. Each
 * look-up finds one to three literals and stores them with one 32-bit write (the 4th byte is
 * overwritten by the next write or lands in the slack). The last bytes of the stream, where a
 * 32-bit load would overrun, go to `decodeTail`. Returns the output length at the block's end.
 */
function decodeLiterals(
  r: BitReader,
  decoder: DecodeTable,
  out: Uint8Array,
  outView: DataView,
  o: number,
  limit: number,
): number {
  const table = decoder.table
  const rootBits = decoder.rootBits
  const mask = (1 << rootBits) - 1
  const view = r.view
  const fastEnd = r.fastEnd
  let p = r.p
  if (p > fastEnd) return decodeTail(r, decoder, out, o, limit)
  // Invariant: `buf` holds `cnt` unread bits, and the byte at `p` starts at bit `cnt`.
  let buf = (view.getUint32(p, true) >>> r.b) | 0
  let cnt = 24 - r.b
  p += 3
  while (p <= fastEnd) {
    buf |= view.getUint32(p, true) << cnt
    p += (31 - cnt) >>> 3
    cnt |= 24
    let entry = table[buf & mask]!
    if (entry >= ONE_LITERAL) {
      outView.setUint32(o, entry, true)
      o += entry >>> 28
      let n = (entry >>> 24) & 15
      buf = (buf >>> n) | 0
      cnt -= n
      entry = table[buf & mask]!
      // Anything but literals is read after the next refill, which gives long codes their bits.
      if (entry < ONE_LITERAL) continue
      outView.setUint32(o, entry, true)
      o += entry >>> 28
      n = (entry >>> 24) & 15
      buf = (buf >>> n) | 0
      cnt -= n
      if (o > limit) break
      continue
    }
    r.p = p
    const symbolBits = specialSymbol(r, table, entry, buf, rootBits)
    buf = (buf >>> (symbolBits >>> 16)) | 0
    cnt -= symbolBits >>> 16
    const symbol = symbolBits & 0xffff
    if (symbol < END_OF_BLOCK) {
      out[o++] = symbol
      if (o > limit) break
      continue
    }
    if (symbol > END_OF_BLOCK) throw new HasMatches()
    setPosition(r, p, cnt)
    return o
  }
  setPosition(r, p, cnt)
  if (o > limit) throw r.corrupt('more data than the member header announced')
  return decodeTail(r, decoder, out, o, limit)
}

/** Back from a bit buffer to a byte and bit position: the unread bits end where `p` begins. */
function setPosition(r: BitReader, p: number, cnt: number): void {
  r.p = p - ((cnt + 7) >>> 3)
  r.b = (8 - (cnt & 7)) & 7
}

/** Decodes the rest of a block, one look-up at a time, at the end of the stream. */
function decodeTail(
  r: BitReader,
  { table, rootBits }: DecodeTable,
  out: Uint8Array,
  o: number,
  limit: number,
): number {
  for (;;) {
    const word = r.peek()
    const entry = table[word & ((1 << rootBits) - 1)]!
    if (entry >= ONE_LITERAL) {
      out[o] = entry
      out[o + 1] = entry >>> 8
      out[o + 2] = entry >>> 16
      o += entry >>> 28
      r.skip((entry >>> 24) & 15)
      if (o > limit) throw r.corrupt('more data than the member header announced')
      continue
    }
    const symbolBits = specialSymbol(r, table, entry, word, rootBits)
    r.skip(symbolBits >>> 16)
    const symbol = symbolBits & 0xffff
    if (symbol === END_OF_BLOCK) return o
    if (symbol > END_OF_BLOCK) throw new HasMatches()
    if (o >= limit) throw r.corrupt('more data than the member header announced')
    out[o++] = symbol
  }
}

/**
 * A look-up that found no literal: end-of-block, a length code, or a code longer than the root
 * bits, read from its subtable. Returns symbol | bits << 16.
 */
function specialSymbol(
  r: BitReader,
  table: Int32Array,
  entry: number,
  word: number,
  rootBits: number,
): number {
  let symbolBits: number
  if ((entry & POINTER) !== 0) {
    const subMask = (1 << ((entry >>> 16) & 15)) - 1
    symbolBits = table[(entry & 0xffff) + ((word >>> rootBits) & subMask)]!
  } else {
    symbolBits = (entry & 0xffff) | ((entry >>> 24) << 16)
  }
  if (symbolBits >>> 16 === 0) throw r.corrupt('invalid Huffman code')
  return symbolBits
}
