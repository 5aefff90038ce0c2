import { open } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import {
  CodecPool,
  compressChunks,
  DEFAULT_CHUNK_SIZE,
  decompress,
  freeNow,
} from '../../codec/index.ts'
import { parseSize } from '../../config/index.ts'
import { CliError, usageError } from '../errors.ts'
import { progressReporter } from '../progress.ts'
import { inputChunks, inputPieces, resolveIo, writeOutput } from './codec-files.ts'

export interface CodecFlags {
  output?: string
  threads?: string
  chunkSize?: string
  maxOutput?: string
  force?: boolean
}

/** `--threads`, checked; `undefined` when not given. */
function requestedThreads(flags: CodecFlags): number | undefined {
  if (flags.threads === undefined) return undefined
  const threads = Number(flags.threads)
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw usageError(`--threads must be a whole number from 1 to 256, got "${flags.threads}"`)
  }
  return threads
}

/**
 * The threads to run: as asked, else one per core; but one for an input of one chunk at most,
 * which has nothing to run in parallel (starting the pool's threads costs ~150 ms here).
 */
function threadCount(asked: number | undefined, inputSize: number | undefined, chunk: number) {
  if (asked !== undefined) return asked
  return inputSize !== undefined && inputSize <= chunk ? 1 : availableParallelism()
}

function size(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback
  try {
    return parseSize(text, flag)
  } catch (error) {
    throw usageError((error as Error).message)
  }
}

/**
 * One thread works inline; more run on a pool, closed when done. `startThreads` as for the pool:
 * decompression starts them at its first task (another tool's gzip is decoded by zlib and needs
 * none), compression at once (they start while the first chunk is read).
 */
async function withPool(
  threads: number,
  startThreads: 'now' | 'at-first-task',
  run: (pool: CodecPool | undefined) => Promise<void>,
): Promise<void> {
  const pool = threads > 1 ? new CodecPool(threads, { startThreads }) : undefined
  try {
    await run(pool)
  } finally {
    await pool?.close()
  }
}

/** `piper compress [FILE|-]`: FILE → FILE.gz (kept), or stdin → stdout. */
export async function compressCommand(file: string | undefined, flags: CodecFlags): Promise<void> {
  const asked = requestedThreads(flags)
  const chunkSize = size(flags.chunkSize, '--chunk-size', DEFAULT_CHUNK_SIZE)
  if (chunkSize < 1 || chunkSize > 1 << 30)
    throw usageError('--chunk-size must be from 1 byte to 1G')
  if (file?.endsWith('.gz') && flags.output === undefined && !flags.force) {
    throw new CliError(`${file} already has the .gz suffix; use -o or --force`)
  }
  const io = await resolveIo(file, flags.output, flags.force === true, (path) => `${path}.gz`)
  if (io.output.toTerminal && !flags.force) {
    throw new CliError(
      'compressed data not written to a terminal; use -o FILE, redirect, or --force',
    )
  }
  const threads = threadCount(asked, io.input.size, chunkSize)
  const progress = progressReporter(io.input.size, 'compressing')
  // The chunks and the members made of them are buffers of their own, handed on until written.
  // With a pool, both are memory it keeps for reuse: chunks are read into buffers it lends, and
  // members go back to it once written.
  await withPool(threads, 'now', (pool) => {
    const chunks = inputChunks(io, chunkSize, progress, pool && ((n) => pool.borrow(n)))
    return writeOutput(io, compressChunks(chunks, { pool }), (member) =>
      pool ? pool.recycle(member) : freeNow(member),
    )
  })
}

function cannotRead(path: string): (error: Error) => never {
  return (error) => {
    throw new CliError(`${path}: ${error.message}`, { cause: error })
  }
}

/** `piper decompress [FILE.gz|-]`: FILE.gz → FILE (kept), or stdin → stdout. */
export async function decompressCommand(
  file: string | undefined,
  flags: CodecFlags,
): Promise<void> {
  const asked = requestedThreads(flags)
  const maxOutput = size(flags.maxOutput, '--max-output', Number.MAX_SAFE_INTEGER)
  const derive = (path: string): string => {
    if (path.endsWith('.gz') && path.length > 3) return path.slice(0, -3)
    if (path.endsWith('.tgz')) return `${path.slice(0, -4)}.tar`
    throw new CliError(`${path}: unknown suffix (expected .gz or .tgz); use -o OUT`)
  }
  const io = await resolveIo(file, flags.output, flags.force === true, derive)
  // A compressed file of one default chunk's size holds about one member.
  const threads = threadCount(asked, io.input.size, DEFAULT_CHUNK_SIZE)
  const progress = progressReporter(io.input.size, 'decompressing')
  // A file is read by position, each member straight into a buffer the pool lends; what the
  // pool decoded is reused once written (zlib's pieces are left alone).
  const path = io.input.path
  const handle = path === undefined ? undefined : await open(path, 'r').catch(cannotRead(path))
  try {
    await withPool(threads, 'at-first-task', (pool) => {
      const pieces = handle
        ? decompress(handle, { pool, maxOutput, onProgress: progress })
        : decompress(inputPieces(io, progress), { pool, maxOutput })
      return writeOutput(io, pieces, (piece) => pool?.recycle(piece))
    })
  } finally {
    await handle?.close()
  }
}
