import { crc32 } from 'node:zlib'
import { CodecError, type CodecErrorCode } from './errors.ts'

/** gzip (RFC 1952 §2.3) header flags. */
export const FTEXT = 1
export const FHCRC = 2
export const FEXTRA = 4
export const FNAME = 8
export const FCOMMENT = 16
const RESERVED_FLAGS = 0xe0

/** Piper's FEXTRA subfield id ("PI") and layout: version, member size, uncompressed size. */
export const PIPER_SI1 = 0x50
export const PIPER_SI2 = 0x49
export const PIPER_SUBFIELD_VERSION = 1
const PIPER_SUBFIELD_LENGTH = 9
/** Size of the header Piper writes: 10 fixed bytes, XLEN, and one 13-byte subfield. */
export const PIPER_HEADER_SIZE = 10 + 2 + 4 + PIPER_SUBFIELD_LENGTH
export const TRAILER_SIZE = 8
/** OS byte 255: "unknown", so output is the same on every platform. */
const OS_UNKNOWN = 255

/** Writes Piper's member header into `out[0, PIPER_HEADER_SIZE)`. */
export function writePiperHeader(out: Uint8Array, memberSize: number, isize: number): void {
  const view = new DataView(out.buffer, out.byteOffset, PIPER_HEADER_SIZE)
  out.set([0x1f, 0x8b, 8, FEXTRA, 0, 0, 0, 0, 0, OS_UNKNOWN])
  view.setUint16(10, 4 + PIPER_SUBFIELD_LENGTH, true)
  out[12] = PIPER_SI1
  out[13] = PIPER_SI2
  view.setUint16(14, PIPER_SUBFIELD_LENGTH, true)
  out[16] = PIPER_SUBFIELD_VERSION
  view.setUint32(17, memberSize, true)
  view.setUint32(21, isize, true)
}

/** Writes CRC32 and ISIZE (RFC 1952 §2.3.1) at `out[at]`. */
export function writeTrailer(out: Uint8Array, at: number, crc: number, isize: number): void {
  const view = new DataView(out.buffer, out.byteOffset + at, TRAILER_SIZE)
  view.setUint32(0, crc >>> 0, true)
  view.setUint32(4, isize >>> 0, true)
}

export interface MemberHeader {
  /** Bytes of header, where the DEFLATE data begins. */
  size: number
  /** From Piper's subfield: the whole member's size and its uncompressed size. */
  piper: { memberSize: number; isize: number } | undefined
}

/**
 * Parses a member header at `bytes[at]`. Returns `undefined` when more bytes are needed; throws
 * `CodecError` on a header that is not gzip or is malformed. `member` and `base` (the absolute
 * offset of `bytes[0]`) only label errors.
 */
export function parseMemberHeader(
  bytes: Uint8Array,
  at: number,
  member: number,
  base = 0,
): MemberHeader | undefined {
  const fail = (code: CodecErrorCode, message: string, offset: number) =>
    new CodecError(code, message, { member, offset: base + offset })
  if (bytes.length - at < 10) {
    if (bytes.length > at && bytes[at] !== 0x1f) throw fail('E_NOT_GZIP', 'not gzip data', at)
    return undefined
  }
  if (bytes[at] !== 0x1f || bytes[at + 1] !== 0x8b) throw fail('E_NOT_GZIP', 'not gzip data', at)
  if (bytes[at + 2] !== 8)
    throw fail('E_CORRUPT_DATA', `unknown compression method ${bytes[at + 2]}`, at + 2)
  const flags = bytes[at + 3]!
  if (flags & RESERVED_FLAGS) throw fail('E_CORRUPT_DATA', 'reserved header flags are set', at + 3)
  let p = at + 10
  let piper: MemberHeader['piper']
  if (flags & FEXTRA) {
    if (bytes.length < p + 2) return undefined
    const xlen = bytes[p]! | (bytes[p + 1]! << 8)
    p += 2
    if (bytes.length < p + xlen) return undefined
    const end = p + xlen
    piper = piperSubfield(bytes, p, end, (at) =>
      fail('E_CORRUPT_DATA', 'extra subfield overruns the extra field', at),
    )
    p = end
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (flags & flag) {
      const zero = bytes.indexOf(0, p)
      if (zero < 0) return undefined
      p = zero + 1
    }
  }
  if (flags & FHCRC) {
    if (bytes.length < p + 2) return undefined
    const expected = bytes[p]! | (bytes[p + 1]! << 8)
    if ((crc32(bytes.subarray(at, p)) & 0xffff) !== expected) {
      throw fail('E_CHECKSUM', 'header CRC16 does not match', p)
    }
    p += 2
  }
  if (piper && piper.memberSize < p - at + 2 + TRAILER_SIZE) {
    throw fail(
      'E_CORRUPT_DATA',
      `member size ${piper.memberSize} is smaller than its header`,
      at + 17,
    )
  }
  return { size: p - at, piper }
}

/** Walks the FEXTRA subfields in `bytes[start, end)` (RFC 1952 §2.3.1.1) for Piper's. */
function piperSubfield(
  bytes: Uint8Array,
  start: number,
  end: number,
  overrun: (at: number) => CodecError,
): MemberHeader['piper'] {
  let piper: MemberHeader['piper']
  for (let p = start; p + 4 <= end; ) {
    const len = bytes[p + 2]! | (bytes[p + 3]! << 8)
    if (p + 4 + len > end) throw overrun(p)
    const ours = bytes[p] === PIPER_SI1 && bytes[p + 1] === PIPER_SI2
    if (ours && len >= PIPER_SUBFIELD_LENGTH && bytes[p + 4] === PIPER_SUBFIELD_VERSION) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + p + 5, 8)
      piper = { memberSize: view.getUint32(0, true), isize: view.getUint32(4, true) }
    }
    p += 4 + len
  }
  return piper
}
