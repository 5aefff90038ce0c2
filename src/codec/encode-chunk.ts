import { crc32 } from 'node:zlib'
import { BitWriter } from './bit-writer.ts'
import { planBlocks } from './block-plan.ts'
import { writeBlocks } from './deflate-writer.ts'
import { CodecError } from './errors.ts'
import { PIPER_HEADER_SIZE, TRAILER_SIZE, writePiperHeader, writeTrailer } from './gzip-member.ts'
import { type Allocate, freshMemory } from './spare-buffers.ts'
import { warmUpSample } from './warm-up.ts'

/** A member's sizes are stored in 32 bits, so one chunk is at most 1 GiB. */
export const MAX_CHUNK_SIZE = 1 << 30
let warm = false

/**
 * Compresses one chunk into one complete gzip member: literal-only DEFLATE blocks (stored,
 * fixed or dynamic Huffman, split where the statistics shift), with Piper's FEXTRA subfield
 * giving the member's size and the chunk's size.
 *
 * `histogram`, the chunk's byte frequencies if already known, lets an incompressible chunk be
 * stored without a counting pass. The member is written into memory from `allocate` (every
 * byte of it is written: the memory need not be zeroed).
 */
export function encodeChunk(
  bytes: Uint8Array,
  histogram?: Uint32Array,
  allocate: Allocate = freshMemory,
): Uint8Array {
  if (!warm) {
    // See warm-up.ts.
    warm = true
    encodeChunk(warmUpSample())
  }
  if (bytes.length > MAX_CHUNK_SIZE) {
    throw new CodecError(
      'E_CODEC_INPUT',
      `a chunk holds at most ${MAX_CHUNK_SIZE} bytes, got ${bytes.length}`,
    )
  }
  const blocks = planBlocks(bytes, histogram)
  let bits = 0
  for (const block of blocks) bits += block.bits
  // Planned bits are exact but for stored-block padding, already counted at its worst.
  const capacity = PIPER_HEADER_SIZE + Math.ceil(bits / 8) + 8 * blocks.length + TRAILER_SIZE + 8
  const out = allocate(capacity)
  const w = new BitWriter(out, PIPER_HEADER_SIZE)
  writeBlocks(w, bytes, blocks)
  const end = w.alignToByte()
  const memberSize = end + TRAILER_SIZE
  writePiperHeader(out, memberSize, bytes.length)
  writeTrailer(out, end, crc32(bytes), bytes.length)
  return out.subarray(0, memberSize)
}
