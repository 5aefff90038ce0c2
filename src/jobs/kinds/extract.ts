import { extract as tarExtract } from 'tar-stream'
import { decompress } from '../../codec/index.ts'
import { checkFileName } from '../../files/index.ts'
import type { FileRecord } from '../../meta/index.ts'
import { drained } from '../drained.ts'
import { JobError } from '../errors.ts'
import { type JobKind, jobInputs } from './job-kind.ts'

const GZIP_MAGIC = [0x1f, 0x8b]
/** Entries up to this size are read whole and stored concurrently (`EntryWrites`). */
const SMALL_ENTRY_BYTES = 1 << 20
/** Stores of small entries in flight at once: at most 16 MiB of entries held. */
const WRITES_IN_FLIGHT = 16

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

    const stored = new EntryWrites()
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
        const put = (body: Iterable<Uint8Array> | AsyncIterable<Uint8Array>) =>
          ctx.files.put(job.clientId, name, body, { contentType: 'application/octet-stream' })
        if (size > SMALL_ENTRY_BYTES) {
          // A large entry streams: the archive's next bytes are its own.
          await stored.add(name, () => put(entry as AsyncIterable<Uint8Array>))
          continue
        }
        // A small one is read whole and stored while the next entries are read: one at a
        // time, each file's store and commit left the thread and the disk idle in turns.
        const bytes = await collect(entry as AsyncIterable<Uint8Array>)
        await stored.room()
        void stored.add(name, () => put([bytes]))
      }
    } catch (error) {
      const reason = parseError ?? (error as Error)
      archive.destroy(new Error('extraction stopped'))
      await stored.settled()
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
    const outputs = await stored.files()
    return {
      outputs,
      result: { entries: outputs.length, bytes: total, skipped },
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

/**
 * The stores of an archive's entries, up to `WRITES_IN_FLIGHT` at once, and their files in the
 * archive's order. An entry's store starts only after the store of an earlier entry of the
 * same name has ended, so the later one replaces it (tar's rule) whatever order they finish in.
 * The first failure is thrown, by `add` or `files`, once every store started has settled.
 */
class EntryWrites {
  readonly #writes: { name: string; file: Promise<FileRecord> }[] = []
  readonly #inFlight = new Set<Promise<unknown>>()
  readonly #last = new Map<string, Promise<unknown>>()
  #failure: { error: unknown } | undefined

  /** Waits until another store may start. */
  async room(): Promise<void> {
    while (this.#inFlight.size >= WRITES_IN_FLIGHT) await Promise.race(this.#inFlight)
    this.#throwIfFailed()
  }

  /**
   * Starts the store of `name` with `start` once any earlier store of that name has ended; its
   * file. Throws at once if an earlier store failed.
   */
  add(name: string, start: () => Promise<FileRecord>): Promise<FileRecord> {
    this.#throwIfFailed()
    const earlier = this.#last.get(name)
    const file = earlier ? earlier.then(start) : start()
    const tracked: Promise<void> = file
      .then(
        () => {},
        (error: unknown) => {
          this.#failure ??= { error }
        },
      )
      .finally(() => {
        this.#inFlight.delete(tracked)
        if (this.#last.get(name) === tracked) this.#last.delete(name)
      })
    this.#inFlight.add(tracked)
    this.#last.set(name, tracked)
    this.#writes.push({ name, file })
    return file
  }

  /** Resolves once every store started has settled, failed or not. */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.race(this.#inFlight)
  }

  /** The stored files in archive order, a name's last entry in place of its earlier ones. */
  async files(): Promise<FileRecord[]> {
    await this.settled()
    this.#throwIfFailed()
    const byName = new Map<string, FileRecord>()
    for (const { name, file } of this.#writes) {
      byName.delete(name)
      byName.set(name, await file)
    }
    return [...byName.values()]
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error
  }
}

/** An entry's bytes, whole (the caller has checked its size). */
async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const pieces: Uint8Array[] = []
  for await (const piece of source) pieces.push(piece)
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces)
}
