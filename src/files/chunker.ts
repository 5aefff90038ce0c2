import { analyzeHere, type ChunkAnalysis } from '../codec/index.ts'

/** A chunk's sha256 and byte-frequency table, on the calling thread. */
export async function analyzeChunk(bytes: Uint8Array): Promise<ChunkAnalysis> {
  return analyzeHere(bytes)
}
