import { createHash, type Hash } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { crc32c } from '../crc32c.ts'
import { type JobKind, jobInputs } from './job-kind.ts'

export const HASH_ALGORITHMS = ['sha256', 'sha1', 'md5', 'crc32', 'crc32c'] as const
type Algorithm = (typeof HASH_ALGORITHMS)[number]

/** A running checksum: bytes in, lowercase hex out. */
interface Digest {
  update(bytes: Uint8Array): void
  hex(): string
}

function digestOf(algorithm: Algorithm): Digest {
  if (algorithm === 'crc32' || algorithm === 'crc32c') {
    const step = algorithm === 'crc32' ? crc32 : crc32c
    let crc = 0
    return {
      update: (bytes) => {
        crc = step(bytes, crc)
      },
      hex: () => crc.toString(16).padStart(8, '0'),
    }
  }
  const hash: Hash = createHash(algorithm)
  return { update: (bytes) => hash.update(bytes), hex: () => hash.digest('hex') }
}

/**
 * `hash`: checksums of a file (sha256, sha1, md5, crc32, crc32c) in one read, as the job's
 * result; it writes no file. Every chunk read is checked against its own sha256 on the way.
 */
export const hash: JobKind = {
  name: 'hash',
  summary: 'checksums of a file (sha256, sha1, md5, crc32, crc32c) as the result',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      algorithms: {
        type: 'array',
        items: { enum: [...HASH_ALGORITHMS] },
        minItems: 1,
        uniqueItems: true,
      },
    },
  },
  inputs: 'one',
  output: 'none',
  defaultOutput: () => '',
  plan: async () => 'whole',

  async whole(job, ctx) {
    const algorithms = (job.params.algorithms as Algorithm[] | undefined) ?? ['sha256']
    const file = await ctx.files.stat(job.clientId, jobInputs(job)[0]!)
    const digests = algorithms.map(digestOf)
    for await (const piece of ctx.untilCancelled(ctx.files.read(file))) {
      for (const digest of digests) digest.update(piece)
    }
    const result: Record<string, unknown> = { size: file.size }
    algorithms.forEach((algorithm, i) => {
      result[algorithm] = digests[i]!.hex()
    })
    return { result }
  },
}
