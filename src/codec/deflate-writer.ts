import type { BitWriter } from './bit-writer.ts'
import { type Block, FIXED_LITERAL_LENGTHS, MAX_STORED } from './block-plan.ts'
import { canonicalCodes } from './canonical-codes.ts'
import { writeDynamicHeader } from './dynamic-header.ts'
import { firstAligned } from './word-align.ts'

const END_OF_BLOCK = 256
const FIXED_TABLE = codeTable(FIXED_LITERAL_LENGTHS, canonicalCodes(FIXED_LITERAL_LENGTHS))

/** Writes the planned blocks of `bytes` as one DEFLATE stream; the last block is final. */
export function writeBlocks(w: BitWriter, bytes: Uint8Array, blocks: readonly Block[]): void {
  for (let b = 0; b < blocks.length; b++) {
    const block = blocks[b]!
    const final = b === blocks.length - 1
    if (block.kind === 'stored') {
      writeStored(w, bytes, block.start, block.end, final)
    } else if (block.kind === 'fixed') {
      w.write(final ? 1 : 0, 1)
      w.write(1, 2)
      writeLiterals(w, bytes, block.start, block.end, FIXED_TABLE)
    } else {
      writeDynamicHeader(w, block.header, final)
      const table = codeTable(block.lengths, canonicalCodes(block.lengths))
      writeLiterals(w, bytes, block.start, block.end, table)
    }
  }
}

/** Code and length of each literal/length symbol in one entry: code | length << 16. */
function codeTable(lengths: Uint8Array, codes: Uint16Array): Int32Array {
  const table = new Int32Array(lengths.length)
  for (let s = 0; s < lengths.length; s++) table[s] = codes[s]! | (lengths[s]! << 16)
  return table
}

/**
 * Writes the codes of `bytes[start, end)` and end-of-block. The aligned middle, read four bytes
 * per load, goes to `writeWords`; the few bytes around it go one `write` at a time.
 */
function writeLiterals(
  w: BitWriter,
  bytes: Uint8Array,
  start: number,
  end: number,
  table: Int32Array,
): void {
  const head = firstAligned(bytes, start, end)
  const words = (end - head) >>> 2
  writeCodes(w, bytes, start, head, table)
  if (words > 0) writeWords(w, new Uint32Array(bytes.buffer, bytes.byteOffset + head, words), table)
  writeCodes(w, bytes, head + 4 * words, end, table)
  w.write(table[END_OF_BLOCK]! & 0xffff, table[END_OF_BLOCK]! >>> 16)
}

function writeCodes(
  w: BitWriter,
  bytes: Uint8Array,
  start: number,
  end: number,
  table: Int32Array,
): void {
  for (let i = start; i < end; i++) {
    const entry = table[bytes[i]!]!
    w.write(entry & 0xffff, entry >>> 16)
  }
}

/**
 * The hot loop: one table look-up per byte and, as in `BitWriter.write`, a 32-bit store instead
 * of a branch to flush (a mispredicted flush cost more than the store) — one store per two
 * codes, which fit with the bits pending because no code is longer than `MAX_LITERAL_BITS` (12;
 * the fixed code's longest is 9). The steps per word are written out because a helper would
 * have to return three values.
 */
function writeWords(w: BitWriter, input: Uint32Array, table: Int32Array): void {
  const view = w.view
  let buf = w.buf
  let cnt = w.cnt
  let pos = w.pos
  let done = 0
  for (let k = 0; k < input.length; k++) {
    const four = input[k]!
    let e = table[four & 255]!
    buf |= (e & 0xffff) << cnt
    cnt += e >>> 16
    e = table[(four >>> 8) & 255]!
    buf |= (e & 0xffff) << cnt
    cnt += e >>> 16
    view.setInt32(pos, buf, true)
    done = cnt & 24
    pos += done >>> 3
    buf = (buf >>> done) | 0
    cnt &= 7
    e = table[(four >>> 16) & 255]!
    buf |= (e & 0xffff) << cnt
    cnt += e >>> 16
    e = table[four >>> 24]!
    buf |= (e & 0xffff) << cnt
    cnt += e >>> 16
    view.setInt32(pos, buf, true)
    done = cnt & 24
    pos += done >>> 3
    buf = (buf >>> done) | 0
    cnt &= 7
  }
  w.buf = buf
  w.cnt = cnt
  w.pos = pos
}

/** Stored blocks (RFC 1951 §3.2.4): byte-aligned LEN, NLEN and the raw bytes, ≤ 65,535 each. */
function writeStored(
  w: BitWriter,
  bytes: Uint8Array,
  start: number,
  end: number,
  final: boolean,
): void {
  do {
    const pieceEnd = Math.min(end, start + MAX_STORED)
    const len = pieceEnd - start
    w.write(final && pieceEnd === end ? 1 : 0, 1)
    w.write(0, 2)
    w.alignToByte()
    w.bytes[w.pos++] = len & 0xff
    w.bytes[w.pos++] = len >>> 8
    w.bytes[w.pos++] = ~len & 0xff
    w.bytes[w.pos++] = (~len >>> 8) & 0xff
    w.writeBytes(bytes, start, pieceEnd)
    start = pieceEnd
  } while (start < end)
}
