import { pack as tarPack } from 'tar-stream'
import { drained } from '../drained.ts'
import { JobError } from '../errors.ts'
import { type JobKind, jobInputs } from './job-kind.ts'

/**
 * `tar`: several files into one POSIX tar archive (ustar, with pax headers for long or non-ASCII
 * names), streamed: each input is read chunk by chunk into the archive as the output is stored,
 * so memory stays flat whatever the sizes. Entries keep the inputs' order; `base`, when given,
 * is cut from the front of every entry's name. The first kind with several parents.
 */
export const tar: JobKind = {
  name: 'tar',
  summary: 'several files into one tar archive, streamed (entries in input order)',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: { base: { type: 'string', minLength: 1, maxLength: 1024 } },
  },
  inputs: 'many',
  output: 'file',
  contentType: 'application/x-tar',
  defaultOutput: (input) => `${input}.tar`,
  plan: async () => 'whole',

  async whole(job, ctx) {
    const base = job.params.base as string | undefined
    const names = jobInputs(job)
    const entries = names.map((name) => {
      if (base === undefined) return name
      const prefix = base.endsWith('/') ? base : `${base}/`
      if (!name.startsWith(prefix) || name.length === prefix.length) {
        throw new JobError(
          'E_JOB_REQUEST',
          `input ${JSON.stringify(name)} is not under base ${JSON.stringify(prefix)}`,
        )
      }
      return name.slice(prefix.length)
    })
    const inputs = await Promise.all(names.map((name) => ctx.files.stat(job.clientId, name)))
    const archive = tarPack()
    const writing = (async () => {
      for (const [i, file] of inputs.entries()) {
        const written = Promise.withResolvers<void>()
        const header = { name: entries[i]!, size: file.size, mode: 0o644, type: 'file' as const }
        const entry = archive.entry({ ...header, mtime: new Date(file.created) }, (error) =>
          error ? written.reject(error) : written.resolve(),
        )
        for await (const piece of ctx.files.read(file)) {
          if (!entry.write(piece)) await drained(entry)
        }
        entry.end(() => {})
        await written.promise
      }
      archive.finalize()
    })().catch((error: unknown) => {
      archive.destroy(error as Error)
    })
    const bytes = ctx.untilCancelled(archive as unknown as AsyncIterable<Uint8Array>)
    const output = await ctx.files
      .put(job.clientId, job.output, bytes, { contentType: 'application/x-tar' })
      .catch((error: unknown) => {
        archive.destroy(new Error('the output stopped')) // the writer above stops at its next write
        throw error
      })
    await writing
    return { outputs: [output], result: { entries: names.length } }
  },
}
