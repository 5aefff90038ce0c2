import { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { cutChunks } from './cut-chunks.ts'
import { codecErrorFromZlib, type DecodeOptions, decodeMember } from './decode-member.ts'
import { encodeChunk, MAX_CHUNK_SIZE } from './encode-chunk.ts'
import { CodecError } from './errors.ts'
import { inOrderAhead } from './in-order-ahead.ts'
import { type GzipSource, MemberReader } from './member-reader.ts'
import type { CodecPool } from './pool.ts'

/** 1 MiB: big enough that per-member overhead (~35 bytes) is lost in the noise. */
export const DEFAULT_CHUNK_SIZE = 1 << 20
/** Pieces of output that zlib streams (another tool's gzip) come in. */
const GUNZIP_PIECE = 1 << 20
/** Piper members up to this size are decoded whole (in parallel); larger ones stream via zlib. */
const MAX_BUFFERED_MEMBER = 256 << 20

export interface CompressOptions {
  chunkSize?: number
  /** Runs chunks on this pool; without one, everything runs on the calling thread. */
  pool?: CodecPool
}

export interface DecompressOptions {
  pool?: CodecPool
  /** Total output allowed (E_OUTPUT_LIMIT past it); unlimited by default. */
  maxOutput?: number
  /** Told how many input bytes are consumed, as they are. */
  onProgress?: (bytesIn: number) => void
}

/**
 * Compresses a byte stream into a gzip file of one member per `chunkSize` bytes. With a pool,
 * up to three chunks per thread are in flight; memory stays bounded whatever the input size.
 */
export async function* compress(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: CompressOptions = {},
): AsyncGenerator<Uint8Array> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new CodecError(
      'E_CODEC_INPUT',
      `chunk size must be 1 to ${MAX_CHUNK_SIZE} bytes, got ${chunkSize}`,
    )
  }
  // Each chunk is a buffer of its own from cutChunks: the pool may take it.
  yield* compressChunks(cutChunks(source, chunkSize), options)
}

/**
 * Compresses chunks, one member each, into a gzip file. Each chunk is handed over: with a pool,
 * the thread that codes it takes its buffer without a copy (the caller must not reuse it).
 * Chunks must be at most `MAX_CHUNK_SIZE` bytes.
 */
export async function* compressChunks(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: Pick<CompressOptions, 'pool'> = {},
): AsyncGenerator<Uint8Array> {
  const { pool } = options
  let any = false
  const encode = (chunk: Uint8Array): Promise<Uint8Array> => {
    any = true
    return pool
      ? pool.encode(chunk, undefined, { transfer: true })
      : Promise.resolve().then(() => encodeChunk(chunk))
  }
  yield* inOrderAhead(chunks, encode, inFlightLimit(pool))
  // An empty input is still a valid gzip file: one member holding nothing.
  if (!any) yield encodeChunk(new Uint8Array(0))
}

/**
 * Decompresses any gzip stream, from pieces or from an open file (read by position: each member
 * straight into the buffer it is decoded from). Piper's members (sizes in FEXTRA) are decoded
 * whole, in parallel on the pool; from the first member without them, the rest of the input
 * streams through `node:zlib`. Every member's CRC32 and ISIZE are checked; errors are
 * `CodecError`s.
 */
export async function* decompress(
  source: GzipSource,
  options: DecompressOptions = {},
): AsyncGenerator<Uint8Array> {
  const { pool, onProgress } = options
  const maxOutput = options.maxOutput ?? Number.MAX_SAFE_INTEGER
  const reader = new MemberReader(source)
  let promised = 0
  /** The first member without Piper's sizes, where zlib takes over; none while there is none. */
  let streamFrom: number | undefined
  // Piper's members, each read whole (for a worker, straight into a buffer the pool lends).
  async function* members(): AsyncGenerator<{ bytes: Uint8Array; decode: DecodeOptions }> {
    for (let member = 0; ; member++) {
      const header = await reader.nextHeader(member)
      if (!header) return
      const piper = header.piper
      if (!piper || piper.memberSize > MAX_BUFFERED_MEMBER) {
        streamFrom = member
        return
      }
      promised += piper.isize
      if (promised > maxOutput) {
        throw new CodecError(
          'E_OUTPUT_LIMIT',
          `output would exceed the limit of ${maxOutput} bytes`,
          { member, offset: reader.offset },
        )
      }
      const decode = { member, offset: reader.offset, maxOutput: piper.isize }
      const bytes = await reader.takeMember(
        piper.memberSize,
        member,
        pool && ((n) => pool.borrow(n)),
      )
      onProgress?.(reader.offset)
      yield { bytes, decode }
    }
  }
  const decodeOne = ({ bytes, decode }: { bytes: Uint8Array; decode: DecodeOptions }) =>
    pool
      ? pool.decode(bytes, decode, { transfer: true })
      : Promise.resolve().then(() => decodeMember(bytes, decode))
  try {
    yield* inOrderAhead(members(), decodeOne, inFlightLimit(pool))
    if (streamFrom !== undefined) {
      yield* gunzipRest(reader, streamFrom, maxOutput - promised, onProgress)
    }
  } finally {
    await reader.close()
  }
}

/**
 * Chunks a stream keeps in flight. Results are taken in order, so beyond what the pool's
 * workers hold, one more per thread: a worker that finishes ahead of the oldest task still
 * finds the next one waiting.
 */
function inFlightLimit(pool: CodecPool | undefined): number {
  return pool ? pool.capacity + pool.size : 1
}

/** Streams the rest of the input through zlib's gunzip, counting output against the limit. */
async function* gunzipRest(
  reader: MemberReader,
  member: number,
  maxOutput: number,
  onProgress: ((bytesIn: number) => void) | undefined,
): AsyncGenerator<Uint8Array> {
  const base = reader.offset
  // Output in pieces of up to 1 MiB: zlib's default 16 KiB made a write call (and an await) per
  // 16 KiB, which halved the speed of decompressing other tools' files.
  const gunzip = createGunzip({ chunkSize: GUNZIP_PIECE })
  let fed = 0
  const counted = async function* () {
    for await (const piece of reader.rest()) {
      fed += piece.length
      onProgress?.(base + fed)
      yield piece
    }
  }
  const input = Readable.from(counted())
  input.on('error', (error) => gunzip.destroy(error))
  input.pipe(gunzip)
  let produced = 0
  try {
    // A few pieces pulled ahead, so zlib inflates the next while the consumer writes this one.
    const ahead = inOrderAhead(gunzip as AsyncIterable<Buffer>, async (piece) => piece, 4)
    for await (const piece of ahead) {
      produced += piece.length
      if (produced > maxOutput) {
        throw new CodecError('E_OUTPUT_LIMIT', `output exceeds the limit of ${maxOutput} bytes`, {
          member,
          offset: base,
        })
      }
      yield piece
    }
  } catch (error) {
    if (error instanceof CodecError) throw error
    throw codecErrorFromZlib(error, member, base, maxOutput, base + fed)
  } finally {
    input.destroy()
    gunzip.destroy()
  }
}
