import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import type { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { FlagValues } from '../../config/index.ts'
import type { ApiFile } from '../api-types.ts'
import { CliError } from '../errors.ts'
import { clientFor, filePath } from '../gateway-client.ts'
import { regularFileAt, writeAll, writeOutputFile } from '../output-file.ts'
import { progressReporter } from '../progress.ts'

/** `piper put FILE [NAME]`: uploads a file (or stdin, `-`), prints the stored file as JSON. */
export async function putCommand(
  file: string,
  name: string | undefined,
  flags: FlagValues,
  out: (text: string) => void,
  after?: { kind: string } | { pipeline: string },
): Promise<void> {
  const fromStdin = file === '-'
  if (fromStdin && !name) throw new CliError('put - needs a NAME for what stdin holds')
  const size = fromStdin ? undefined : await fileSize(file)
  const body = fromStdin ? process.stdin : createReadStream(file)
  const progress = progressReporter(size, 'uploading')
  if (progress) {
    let sent = 0
    body.on('data', (piece: Buffer) => {
      sent += piece.length
      progress(sent)
    })
  }
  // `?then=KIND` or `?pipeline=NAME`: the job or run starts once the upload is stored.
  const query = !after
    ? ''
    : 'kind' in after
      ? `?then=${encodeURIComponent(after.kind)}`
      : `?${new URLSearchParams(after)}`
  const stored = await clientFor(flags).json<
    ApiFile & { job?: { id: string }; run?: { id: string } }
  >({
    method: 'PUT',
    path: filePath(name ?? basename(file)) + query,
    headers: {
      'content-type': 'application/octet-stream',
      ...(size === undefined ? {} : { 'content-length': size }),
    },
    body,
  })
  out(`${JSON.stringify(stored)}\n`)
  const started = stored.job ?? stored.run
  if (started && process.stderr.isTTY) {
    process.stderr.write(`${started.id} queued; follow it with: piper watch ${started.id}\n`)
  }
}

/** `piper get NAME [-o FILE]`: downloads to FILE (atomically) or stdout. */
export async function getCommand(
  name: string,
  options: { output?: string; force?: boolean },
  flags: FlagValues,
): Promise<void> {
  const output = options.output === '-' ? undefined : options.output
  if (output !== undefined && !options.force && (await regularFileAt(output))) {
    throw new CliError(`${output} already exists; use --force to overwrite`)
  }
  const res = await clientFor(flags).send({ method: 'GET', path: filePath(name) })
  const progress = progressReporter(Number(res.headers['content-length']), 'downloading')
  const body = counted(res, progress)
  const complete = () => {
    if (!res.complete) throw new CliError(`${name}: the download was cut off`)
  }
  if (output === undefined) {
    await pipeline(body, process.stdout as Writable, { end: false })
    complete()
    return
  }
  try {
    await writeOutputFile(output, async (handle) => {
      for await (const piece of body) await writeAll(handle, piece)
      complete()
    })
  } catch (error) {
    if (error instanceof CliError) throw error
    throw new CliError(`${name}: ${(error as Error).message}`, { cause: error })
  }
}

/** `piper ls [PREFIX]`: one line per file — size, creation time, name — every page. */
export async function lsCommand(
  prefix: string | undefined,
  options: { json?: boolean },
  flags: FlagValues,
  out: (text: string) => void,
): Promise<void> {
  for await (const f of clientFor(flags).items<ApiFile>('/v1/files', 'files', { prefix })) {
    out(
      options.json
        ? `${JSON.stringify(f)}\n`
        : `${String(f.size).padStart(12)}  ${f.created}  ${f.name}\n`,
    )
  }
}

/** `piper rm NAME`. */
export async function rmCommand(name: string, flags: FlagValues): Promise<void> {
  const res = await clientFor(flags).send({ method: 'DELETE', path: filePath(name) })
  res.resume()
}

async function fileSize(path: string): Promise<number> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`${path}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, {
      cause: error,
    })
  })
  if (!info.isFile()) throw new CliError(`${path}: not a regular file`)
  return info.size
}

/** `pieces`, reporting the bytes received so far to `progress`. */
async function* counted(
  pieces: AsyncIterable<Uint8Array>,
  progress: ((done: number) => void) | undefined,
): AsyncGenerator<Uint8Array> {
  let received = 0
  for await (const piece of pieces) {
    received += piece.length
    progress?.(received)
    yield piece
  }
}
