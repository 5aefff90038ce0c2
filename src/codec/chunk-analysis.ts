import { createHash } from 'node:crypto'
import { histogram } from './histogram.ts'

/** What an upload records of a chunk: its sha256 (hex) and 256-entry byte-frequency table. */
export interface ChunkAnalysis {
  sha256: string
  histogram: Uint32Array
}

/** The chunk's analysis on the calling thread (the pool's threads run the same). */
export function analyzeHere(bytes: Uint8Array): ChunkAnalysis {
  return { sha256: sha256Hex(bytes), histogram: histogram(bytes) }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}
