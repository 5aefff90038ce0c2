/**
 * Piper's codec: Huffman coding to standard gzip (one member per chunk, literal-only DEFLATE
 * blocks, sizes in FEXTRA), decoding of any gzip, and a worker-thread pool.
 */

export { analyzeHere, type ChunkAnalysis, sha256Hex } from './chunk-analysis.ts'
export { cutChunks } from './cut-chunks.ts'
export { type DecodeOptions, decodeMember } from './decode-member.ts'
export { encodeChunk, MAX_CHUNK_SIZE } from './encode-chunk.ts'
export { CodecError, type CodecErrorCode } from './errors.ts'
export { freeNow } from './free-now.ts'
export { type MemberHeader, parseMemberHeader } from './gzip-member.ts'
export { addHistogram, entropyBits, histogram } from './histogram.ts'
export { codeCost, limitedCodeLengths } from './huffman-lengths.ts'
export { freeIfOwned, ownedPieces } from './owned-pieces.ts'
export { CodecPool, type HashedMember, INLINE_BYTES } from './pool.ts'
export type { Allocate } from './spare-buffers.ts'
export {
  type CompressOptions,
  compress,
  compressChunks,
  DEFAULT_CHUNK_SIZE,
  type DecompressOptions,
  decompress,
} from './streams.ts'
