import type { ChunkAnalysis, CodecPool } from '../codec/index.ts'

/** Analyses an upload can make of each chunk, besides its sha256 (which is its key). */
export type ChunkAnalysisName = 'histogram'

/** The histogram of a chunk whose bytes were not counted (read as "not measured"). */
export const NOT_MEASURED = new Uint32Array(256)

/**
 * What uploads compute for each chunk on the pool's threads: always its sha256, and its byte
 * histogram only when some job kind reads it (`compress` does; a chunk stored without one
 * keeps an all-zero table, which readers take as "not measured").
 */
export function chunkAnalyzer(
  pool: Pick<CodecPool, 'analyze' | 'sha256'>,
  wanted: ReadonlySet<ChunkAnalysisName>,
): (bytes: Uint8Array) => Promise<ChunkAnalysis> {
  if (wanted.has('histogram')) return (bytes) => pool.analyze(bytes)
  return async (bytes) => ({ sha256: await pool.sha256(bytes), histogram: NOT_MEASURED })
}

/** A stored histogram, or undefined when it was not measured (all zero for a non-empty chunk). */
export function measuredHistogram(table: Uint32Array, size: number): Uint32Array | undefined {
  return size > 0 && table.every((count) => count === 0) ? undefined : table
}
