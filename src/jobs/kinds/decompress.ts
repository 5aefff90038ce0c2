import { decompress as decompressStream } from '../../codec/index.ts'
import type { JobRecord } from '../../meta/index.ts'
import { piperMembers } from '../chunk-plan.ts'
import { JobError } from '../errors.ts'
import type { JobKind, KindContext } from './job-kind.ts'

/**
 * `decompress`: any gzip back to its bytes. A file Piper compressed (one member per chunk)
 * decodes part by part on every worker; any other gzip decodes as one stream in one task.
 * `params.maxOutputBytes` (held to the server's cap) guards against gzip bombs.
 */
export const decompress: JobKind = {
  name: 'decompress',
  summary: 'any gzip file back to its bytes (Piper’s own files in parallel)',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: { maxOutputBytes: { type: 'integer', minimum: 1 } },
  },
  inputs: 'one',
  output: 'file',
  contentType: 'application/octet-stream',
  defaultOutput: (input) =>
    input.endsWith('.gz') && input.length > 3 ? input.slice(0, -3) : `${input}.out`,

  async plan(job, ctx) {
    const input = await ctx.files.stat(job.clientId, job.input)
    const members = await piperMembers(ctx.blobs, await ctx.files.manifest(input))
    const limit = outputLimit(job, ctx)
    if (members && members.outputBytes > limit) {
      throw new JobError('E_JOB_REQUEST', `the output would exceed ${limit} bytes`)
    }
    return members ? 'parts' : 'whole'
  },

  part: ({ bytes, seq }, _job, { pool }) => pool.decode(bytes, { member: seq }, { transfer: true }),

  async whole(job, ctx) {
    const { files, pool } = ctx
    const input = await files.stat(job.clientId, job.input)
    const output = decompressStream(files.read(input), { pool, maxOutput: outputLimit(job, ctx) })
    const file = await files.put(job.clientId, job.output, ctx.untilCancelled(output), {
      contentType: 'application/octet-stream',
    })
    return { outputs: [file] }
  },
}

/** The job's own output limit, held to the server's maximum. */
function outputLimit(job: JobRecord, ctx: KindContext): number {
  const own = job.params.maxOutputBytes
  return Math.min(typeof own === 'number' ? own : ctx.maxOutputBytes, ctx.maxOutputBytes)
}
