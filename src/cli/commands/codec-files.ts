import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import type { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CodecError, cutChunks } from '../../codec/index.ts'
import { CliError } from '../errors.ts'
import { regularFileAt, writeAll, writeOutputFile } from '../output-file.ts'

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
  if (outPath !== undefined && !force && (await regularFileAt(outPath))) {
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

/** The input as it comes (a file in 1 MiB reads); `onProgress` sees the bytes read so far. */
export async function* inputPieces(
  io: CodecIo,
  onProgress?: (bytesIn: number) => void,
): AsyncGenerator<Uint8Array> {
  let bytesIn = 0
  for await (const piece of io.input.stream() as AsyncIterable<Uint8Array>) {
    bytesIn += piece.length
    onProgress?.(bytesIn)
    yield piece
  }
}

/**
 * The input in chunks of `chunkSize` bytes (the last may be shorter), each a buffer of its own
 * (from `allocate`) that the consumer may hand over. A file is read straight into them: no
 * read pieces are left for the garbage collector, which would otherwise run a full collection
 * every ~20 MB.
 */
export async function* inputChunks(
  io: CodecIo,
  chunkSize: number,
  onProgress?: (bytesIn: number) => void,
  allocate: (n: number) => Uint8Array = (n) => new Uint8Array(n),
): AsyncGenerator<Uint8Array> {
  if (io.input.path === undefined) {
    yield* cutChunks(inputPieces(io, onProgress), chunkSize)
    return
  }
  const handle = await open(io.input.path, 'r')
  try {
    for (let bytesIn = 0; ; ) {
      // The last chunk of a small file need not take a whole chunk's memory.
      const left = (io.input.size ?? chunkSize) - bytesIn
      const chunk = allocate(left > 0 && left < chunkSize ? left : chunkSize)
      let filled = 0
      while (filled < chunk.length) {
        const { bytesRead } = await handle.read(chunk, filled, chunk.length - filled, bytesIn)
        if (bytesRead === 0) break
        filled += bytesRead
        bytesIn += bytesRead
      }
      if (filled > 0) onProgress?.(bytesIn)
      if (filled < chunk.length) {
        if (filled > 0) yield chunk.subarray(0, filled)
        return
      }
      yield chunk
    }
  } finally {
    await handle.close()
  }
}

/**
 * Writes `pieces` to the output: stdout, or a file replaced only once whole (`writeOutputFile`).
 * `written` is given each piece once it is in the file (to free or reuse its memory).
 */
export async function writeOutput(
  io: CodecIo,
  pieces: AsyncIterable<Uint8Array>,
  written?: (piece: Uint8Array) => void,
): Promise<void> {
  const label = io.input.path ?? 'stdin'
  if (io.output.path === undefined) {
    await pipeline(pieces, process.stdout as Writable, { end: false }).catch((error: unknown) => {
      throw describe(error, label)
    })
    return
  }
  try {
    await writeOutputFile(io.output.path, async (handle) => {
      for await (const piece of pieces) {
        await writeAll(handle, piece)
        written?.(piece)
      }
    })
  } catch (error) {
    throw describe(error, label)
  }
}

function describe(error: unknown, label: string): Error {
  if (error instanceof CodecError)
    return new CliError(`${label}: ${error.message}`, { code: error.code, cause: error })
  if (error instanceof CliError) return error
  return new CliError(`${label}: ${(error as Error).message}`, { cause: error })
}
