import type { JobKind } from './job-kind.ts'

/**
 * `compress`: standard gzip, one member per input chunk, so every worker shares a big file and
 * `gzip -d` reads the result. Each part is Huffman-coded with the chunk's byte histogram from
 * upload, so the worker skips counting.
 */
export const compress: JobKind = {
  name: 'compress',
  summary: 'a file to standard gzip (one member per chunk, compressed in parallel)',
  params: { type: 'object', additionalProperties: false, properties: {} },
  inputs: 'one',
  output: 'file',
  chunkAnalyses: ['histogram'],
  contentType: 'application/gzip',
  defaultOutput: (input) => `${input}.gz`,
  plan: async () => 'parts',
  // The chunk was read into a buffer of its own: the pool takes it without a copy, and hashes
  // it and the member on the thread that encodes (no copy of either to another thread).
  checksPartInput: true,
  part: async ({ bytes, frequencies }, _job, { pool }) => {
    const { member, memberSha256, inputSha256 } = await pool.encodeHashed(bytes, frequencies, {
      transfer: true,
    })
    return { bytes: member, sha256: memberSha256, inputSha256 }
  },
}
