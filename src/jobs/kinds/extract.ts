import { extract as tarExtract } from 'tar-stream'
import { decompress } from '../../codec/index.ts'
import { checkFileName } from '../../files/index.ts'
import type { FileRecord } from '../../meta/index.ts'
import { drained } from '../drained.ts'
import { JobError } from '../errors.ts'
import { type JobKind, jobInputs } from './job-kind.ts'

const GZIP_MAGIC = [0x1f, 0x8b]

/**
 * `extract`: a tar (or gzip-compressed tar, recognised by its magic bytes) into one file per
 * regular entry under a prefix, streamed entry by entry. Safe against hostile archives: an entry
 * with an absolute name, a `..` segment or a name Piper cannot store fails the job with
 * `E_ARCHIVE_ENTRY` (nothing is written outside the prefix); directories are implied by names,
 * links and devices are skipped and counted; entry count, entry size and total size are capped
 * before any byte of an entry is stored.
 */
export const extract: JobKind = {
  name: 'extract',
  summary: 'a tar or tar.gz into one file per entry under a prefix (paths and sizes checked)',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      maxEntries: { type: 'integer', minimum: 1, maximum: 1_000_000 },
      maxEntryBytes: { type: 'integer', minimum: 0 },
    },
  },
  inputs: 'one',
  output: 'files',
  defaultOutput: (input) => {
    const stem = input.replace(/\.(tar\.gz|tgz|tar)$/, '')
    return `${stem === input ? `${input}.d` : stem}/`
  },
  plan: async () => 'whole',

  async whole(job, ctx) {
    const maxEntries = (job.params.maxEntries as number | undefined) ?? 10_000
    const maxTotal = ctx.maxOutputBytes
    const maxEntry = Math.min(
      (job.params.maxEntryBytes as number | undefined) ?? maxTotal,
      maxTotal,
    )
    const input = await ctx.files.stat(job.clientId, jobInputs(job)[0]!)
    let source: AsyncIterable<Uint8Array> = ctx.untilCancelled(ctx.files.read(input))
    const [head, rest] = await peek(source)
    source = rest
    if (head && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) {
      source = decompress(source, { pool: ctx.pool, maxOutput: maxTotal })
    }

    const archive = tarExtract()
    // The parser's own error ("unexpected end of data") is the reason; an entry being read when
    // it comes fails with the stream's "destroyed" instead, whichever of the two is seen first.
    let parseError: Error | undefined
    archive.on('error', (error: Error) => {
      parseError ??= error
    })
    const feeding = (async () => {
      for await (const piece of source) {
        if (!archive.write(piece)) await drained(archive)
      }
      archive.end(() => {})
    })().catch((error: unknown) => archive.destroy(error as Error))

    const outputs = new Map<string, FileRecord>()
    let entries = 0
    let skipped = 0
    let total = 0
    try {
      for await (const entry of archive) {
        const { header } = entry
        if (header.type !== 'file' && header.type !== 'contiguous-file') {
          if (header.type !== 'directory') skipped++
          entry.resume()
          continue
        }
        if (++entries > maxEntries) {
          throw new JobError(
            'E_OUTPUT_LIMIT',
            `the archive has more than ${maxEntries} files (params.maxEntries)`,
          )
        }
        const size = header.size ?? 0
        total += size
        if (size > maxEntry || total > maxTotal) {
          throw new JobError(
            'E_OUTPUT_LIMIT',
            `entry ${JSON.stringify(header.name)} (${size} bytes) takes the output past ${size > maxEntry ? maxEntry : maxTotal} bytes`,
          )
        }
        const name = job.output + entryName(header.name)
        if (name === input.name) {
          throw new JobError(
            'E_ARCHIVE_ENTRY',
            `entry ${JSON.stringify(header.name)} would overwrite the archive being extracted`,
          )
        }
        const file = await ctx.files.put(job.clientId, name, entry as AsyncIterable<Uint8Array>, {
          contentType: 'application/octet-stream',
        })
        outputs.delete(name) // a later entry of the same name replaces the earlier (tar's rule)
        outputs.set(name, file)
      }
    } catch (error) {
      const reason = parseError ?? (error as Error)
      archive.destroy(new Error('extraction stopped'))
      for (const seen of [error, reason]) {
        const code = (seen as { code?: unknown }).code
        if (typeof code === 'string' && code.startsWith('E_')) throw seen
      }
      throw new JobError('E_ARCHIVE_CORRUPT', `not a readable tar archive: ${reason.message}`, {
        cause: reason,
      })
    } finally {
      await feeding
    }
    return {
      outputs: [...outputs.values()],
      result: { entries: outputs.size, bytes: total, skipped },
    }
  },
}

/** An entry's name made relative and checked: never absolute, never climbing out with `..`. */
function entryName(raw: string): string {
  let name = raw.replace(/^(\.\/)+/, '')
  if (name.endsWith('/')) name = name.slice(0, -1)
  const hostile =
    name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.split(/[/\\]/).includes('..')
  if (hostile || name.length === 0) {
    throw new JobError(
      'E_ARCHIVE_ENTRY',
      `unsafe entry name ${JSON.stringify(raw)} (absolute or with ..)`,
    )
  }
  try {
    checkFileName(name)
  } catch (error) {
    throw new JobError(
      'E_ARCHIVE_ENTRY',
      `entry name ${JSON.stringify(raw)} cannot be stored: ${(error as Error).message}`,
      { cause: error },
    )
  }
  return name
}

/** The first piece of a stream, and the stream again from its start. */
async function peek(
  source: AsyncIterable<Uint8Array>,
): Promise<[Uint8Array | undefined, AsyncIterable<Uint8Array>]> {
  const iterator = source[Symbol.asyncIterator]()
  const first = await iterator.next()
  async function* again(): AsyncGenerator<Uint8Array> {
    if (first.done) return
    yield first.value
    for (;;) {
      const next = await iterator.next()
      if (next.done) return
      yield next.value
    }
  }
  return [first.done ? undefined : first.value, again()]
}
