import { createHash, type Hash } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { TusError } from './errors.ts'

/** The algorithms of the checksum extension, as `Tus-Checksum-Algorithm` lists them. */
export const CHECKSUM_ALGORITHMS = ['sha256', 'sha1', 'md5', 'crc32'] as const

/** A running checksum of one PATCH's bytes. */
export interface ChecksumCheck {
  update(piece: Uint8Array): void
  /** True when the bytes seen match the checksum the client sent. */
  matches(): boolean
}

/**
 * Parses `Upload-Checksum: ALGORITHM BASE64` (tus 1.0 checksum extension) into a check of the
 * body; an unsupported algorithm is `E_TUS_CHECKSUM_ALGORITHM` (400). crc32 is the IEEE CRC of
 * RFC 1952, its four bytes big-endian.
 */
export function checksumCheck(header: string | undefined): ChecksumCheck | undefined {
  if (header === undefined) return undefined
  const [algorithm, value, ...rest] = header.trim().split(' ')
  if (!algorithm || !value || rest.length > 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw new TusError('E_TUS_REQUEST', 'Upload-Checksum must be "ALGORITHM BASE64"')
  }
  const expected = Buffer.from(value, 'base64')
  if (algorithm === 'crc32') {
    let crc = 0
    return {
      update: (piece) => {
        crc = crc32(piece, crc)
      },
      matches: () => {
        const got = Buffer.alloc(4)
        got.writeUInt32BE(crc >>> 0)
        return got.equals(expected)
      },
    }
  }
  if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new TusError(
      'E_TUS_CHECKSUM_ALGORITHM',
      `checksum algorithm ${algorithm} is not supported (${CHECKSUM_ALGORITHMS.join(', ')})`,
    )
  }
  const hash: Hash = createHash(algorithm)
  return {
    update: (piece) => hash.update(piece),
    matches: () => hash.digest().equals(expected),
  }
}
