import type { BitWriter } from './bit-writer.ts'
import { type Block, FIXED_LITERAL_LENGTHS, MAX_STORED } from './block-plan.ts'
import { canonicalCodes } from './canonical-codes.ts'
import { writeDynamicHeader } from './dynamic-header.ts'

const FIXED_CODES = canonicalCodes(FIXED_LITERAL_LENGTHS)

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
      writeLiterals(w, bytes, block.start, block.end, FIXED_CODES, FIXED_LITERAL_LENGTHS)
    } else {
      writeDynamicHeader(w, block.header, final)
      writeLiterals(w, bytes, block.start, block.end, canonicalCodes(block.lengths), block.lengths)
    }
  }
}

/**
 * The hot loop: one table look-up per byte, the 32-bit accumulator stored a word at a time.
 * When a code straddles the word boundary, its high bits that did not fit start the next word.
 */
function writeLiterals(
  w: BitWriter,
  bytes: Uint8Array,
  start: number,
  end: number,
  codes: Uint16Array,
  lengths: Uint8Array,
): void {
  const view = w.view
  let buf = w.buf
  let cnt = w.cnt
  let pos = w.pos
  for (let i = start; i < end; i++) {
    const symbol = bytes[i]!
    const code = codes[symbol]!
    const len = lengths[symbol]!
    buf |= code << cnt
    cnt += len
    if (cnt >= 32) {
      view.setUint32(pos, buf, true)
      pos += 4
      cnt -= 32
      buf = cnt === 0 ? 0 : code >> (len - cnt)
    }
  }
  w.buf = buf
  w.cnt = cnt
  w.pos = pos
  w.write(codes[256]!, lengths[256]!)
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
