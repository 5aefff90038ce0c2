import { createHash } from 'node:crypto'
import { addHistogram, type ChunkAnalysis } from '../codec/index.ts'

/** A chunk's sha256 and byte-frequency table, on the calling thread. */
export async function analyzeChunk(bytes: Uint8Array): Promise<ChunkAnalysis> {
  const histogram = new Uint32Array(256)
  addHistogram(bytes, 0, bytes.length, histogram)
  return { sha256: createHash('sha256').update(bytes).digest('hex'), histogram }
}
