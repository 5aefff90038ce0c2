import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import type { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CodecError } from '../../codec/index.ts'
import { CliError } from '../errors.ts'

/** Where a codec command reads and writes: a path, or stdin/stdout for `-`. */
export interface CodecIo {
  input: { path: string | undefined; stream: () => Readable; size: number | undefined }
  output: { path: string | undefined; toTerminal: boolean }
}

/**
 * Resolves input and output like gzip: `FILE` reads the file, `-` or nothing reads stdin;
 * output goes to `-o`, else to `derive(FILE)`, else (stdin) to stdout. An existing output file
 * is refused unless `force`.
 */
const READ_SIZE = 1 << 20

export async function resolveIo(
  file: string | undefined,
  output: string | undefined,
  force: boolean,
  derive: (path: string) => string,
): Promise<CodecIo> {
  const fromStdin = file === undefined || file === '-'
  let size: number | undefined
  if (!fromStdin) {
    const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, {
        cause: error,
      })
    })
    if (!info.isFile()) throw new CliError(`${file}: not a regular file`)
    size = info.size
  }
  const outPath = output === '-' ? undefined : (output ?? (fromStdin ? undefined : derive(file)))
  if (outPath !== undefined && !force && (await exists(outPath))) {
    throw new CliError(`${outPath} already exists; use --force to overwrite`)
  }
  return {
    input: {
      path: fromStdin ? undefined : file,
      // 1 MiB reads: with the default 64 KiB, the read calls cost more than the codec's copy.
      stream: () =>
        fromStdin ? process.stdin : createReadStream(file, { highWaterMark: READ_SIZE }),
      size,
    },
    output: { path: outPath, toTerminal: outPath === undefined && process.stdout.isTTY === true },
  }
}

/**
 * Streams input through `transform` to the output. A file is written beside its final name
 * and renamed at the end, so a failure never leaves half a file under that name.
 */
export async function runTransform(
  io: CodecIo,
  transform: (source: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>,
  onProgress?: (bytesIn: number) => void,
): Promise<void> {
  const source = io.input.stream()
  if (onProgress) {
    let bytesIn = 0
    source.on('data', (piece: Buffer) => {
      bytesIn += piece.length
      onProgress(bytesIn)
    })
  }
  const label = io.input.path ?? 'stdin'
  if (io.output.path === undefined) {
    await pipeline(source, transform, process.stdout as Writable, { end: false }).catch(
      (error: unknown) => {
        throw describe(error, label)
      },
    )
    return
  }
  const temporary = `${io.output.path}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await pipeline(source, transform, createWriteStream(temporary, { flags: 'wx' }))
    await rename(temporary, io.output.path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw describe(error, label)
  }
}

function describe(error: unknown, label: string): Error {
  if (error instanceof CodecError)
    return new CliError(`${label}: ${error.message}`, { code: error.code, cause: error })
  if (error instanceof CliError) return error
  return new CliError(`${label}: ${(error as Error).message}`, { cause: error })
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}
