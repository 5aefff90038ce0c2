import { crc32, gunzipSync, inflateRawSync } from 'node:zlib'
import { encodeChunk } from './encode-chunk.ts'
import { CodecError } from './errors.ts'
import { parseMemberHeader, TRAILER_SIZE } from './gzip-member.ts'
import { HasMatches, inflateLiterals } from './inflate.ts'
import { type Allocate, freshMemory } from './spare-buffers.ts'
import { warmUpSample } from './warm-up.ts'

export interface DecodeOptions {
  /** Index of this member in its file, for error messages. */
  member?: number
  /** Absolute offset of `bytes[0]` in the compressed input, for error messages. */
  offset?: number
  /** Refuse to produce more bytes than this (E_OUTPUT_LIMIT); 1 GiB unless given. */
  maxOutput?: number
}

/** The output limit of `decodeMember` when none is given: the largest chunk Piper writes. */
export const DEFAULT_MAX_OUTPUT = 1 << 30
let warm = false

/**
 * Decodes one complete gzip member. Piper's members (literal-only, sizes in FEXTRA) are decoded
 * by Piper's table-driven decoder into memory from `allocate`; members with LZ77 matches or
 * without Piper's subfield go to `node:zlib`, whose C inflate is faster on those. CRC32 and
 * ISIZE are always verified.
 */
export function decodeMember(
  bytes: Uint8Array,
  options: DecodeOptions = {},
  allocate: Allocate = freshMemory,
): Uint8Array {
  if (!warm) {
    // See warm-up.ts.
    warm = true
    decodeMember(encodeChunk(warmUpSample()))
  }
  const member = options.member ?? 0
  const base = options.offset ?? 0
  const maxOutput = options.maxOutput ?? DEFAULT_MAX_OUTPUT
  const header = parseMemberHeader(bytes, 0, member, base)
  if (!header)
    throw new CodecError('E_TRUNCATED', 'gzip header ends early', {
      member,
      offset: base + bytes.length,
    })
  const piper = header.piper
  if (!piper) return zlibMember(bytes, member, base, maxOutput)
  if (piper.memberSize > bytes.length) {
    throw new CodecError(
      'E_TRUNCATED',
      `member of ${piper.memberSize} bytes has only ${bytes.length}`,
      { member, offset: base + bytes.length },
    )
  }
  const data = bytes.subarray(0, piper.memberSize - TRAILER_SIZE)
  // Literal-only DEFLATE spends at least one bit per byte, so a larger announced size is a lie;
  // refusing it bounds the allocation below by the input.
  if (piper.isize > 8 * (data.length - header.size) + 64) {
    throw new CodecError(
      'E_CORRUPT_DATA',
      `member announces ${piper.isize} bytes, impossible for its size`,
      { member, offset: base },
    )
  }
  if (piper.isize > maxOutput) {
    throw new CodecError(
      'E_OUTPUT_LIMIT',
      `member would decompress to ${piper.isize} bytes, over the limit of ${maxOutput}`,
      { member, offset: base },
    )
  }
  // Slack: the decoder stores literals a 32-bit word at a time, two look-ups between checks.
  let out: Uint8Array = allocate(piper.isize + 8)
  try {
    const { end, written } = inflateLiterals(data, header.size, out, member, base)
    if (end !== data.length) {
      throw new CodecError(
        'E_CORRUPT_DATA',
        'compressed data does not fill the member its header announced',
        { member, offset: base + end },
      )
    }
    out = out.subarray(0, written)
  } catch (error) {
    if (!(error instanceof HasMatches)) throw error
    out = zlibInflate(
      () =>
        inflateRawSync(data.subarray(header.size), {
          maxOutputLength: Math.min(maxOutput, piper.isize + 1),
        }),
      member,
      base,
      maxOutput,
      base + data.length,
    )
  }
  verifyTrailer(bytes, piper.memberSize - TRAILER_SIZE, out, member, base)
  return out
}

function zlibMember(
  bytes: Uint8Array,
  member: number,
  base: number,
  maxOutput: number,
): Uint8Array {
  return zlibInflate(
    () => gunzipSync(bytes, { maxOutputLength: Math.min(maxOutput, 2 ** 32) }),
    member,
    base,
    maxOutput,
    base + bytes.length,
  )
}

function zlibInflate(
  run: () => Uint8Array,
  member: number,
  base: number,
  maxOutput: number,
  inputEnd: number,
): Uint8Array {
  try {
    return run()
  } catch (error) {
    throw codecErrorFromZlib(error, member, base, maxOutput, inputEnd)
  }
}

/**
 * Maps `node:zlib` failures onto the codec's codes; `inputEnd` (absolute) is the offset named
 * when the input was cut short.
 */
export function codecErrorFromZlib(
  error: unknown,
  member: number,
  base: number,
  maxOutput: number,
  inputEnd: number,
): CodecError {
  const e = error as NodeJS.ErrnoException
  const at = { member, offset: base, cause: error }
  if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
    return new CodecError('E_OUTPUT_LIMIT', `output exceeds the limit of ${maxOutput} bytes`, at)
  }
  if (e.code === 'Z_BUF_ERROR' || /unexpected end/.test(e.message)) {
    // Where the input ran out says more than where the member began.
    return new CodecError('E_TRUNCATED', 'compressed data ends early', {
      ...at,
      offset: inputEnd,
    })
  }
  return new CodecError('E_CORRUPT_DATA', `invalid compressed data: ${e.message}`, at)
}

function verifyTrailer(
  bytes: Uint8Array,
  at: number,
  out: Uint8Array,
  member: number,
  base: number,
): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, TRAILER_SIZE)
  const crc = view.getUint32(0, true)
  const isize = view.getUint32(4, true)
  if (crc32(out) !== crc) {
    throw new CodecError('E_CHECKSUM', 'CRC32 of the decompressed data does not match', {
      member,
      offset: base + at,
    })
  }
  if (out.length >>> 0 !== isize) {
    throw new CodecError('E_CHECKSUM', `decompressed ${out.length} bytes, trailer says ${isize}`, {
      member,
      offset: base + at + 4,
    })
  }
}
