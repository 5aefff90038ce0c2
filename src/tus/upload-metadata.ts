import { TusError } from './errors.ts'

/** Keys and values of `Upload-Metadata` together may not pass this (they are stored per upload). */
const MAX_METADATA_BYTES = 4096

/**
 * Parses `Upload-Metadata` (tus 1.0 §Upload-Metadata): comma-separated pairs of an ASCII key
 * without spaces or commas and an optional base64 value. A key given twice is refused.
 */
export function parseUploadMetadata(header: string | undefined): Record<string, string> {
  // A map, then own properties: a key such as __proto__ is data, never the object's prototype.
  const metadata = new Map<string, string>()
  if (header === undefined || header.trim() === '') return {}
  if (header.length > MAX_METADATA_BYTES) {
    throw new TusError(
      'E_TUS_REQUEST',
      `Upload-Metadata is longer than ${MAX_METADATA_BYTES} bytes`,
    )
  }
  for (const pair of header.split(',')) {
    const parts = pair.trim().split(' ')
    const [key, value, ...rest] = parts
    if (!key || rest.length > 0 || !/^[\x21-\x7e]+$/.test(key)) {
      throw new TusError(
        'E_TUS_REQUEST',
        `Upload-Metadata has a malformed pair ${JSON.stringify(pair)}`,
      )
    }
    if (metadata.has(key)) {
      throw new TusError('E_TUS_REQUEST', `Upload-Metadata gives ${key} twice`)
    }
    if (value !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
      throw new TusError('E_TUS_REQUEST', `Upload-Metadata's value of ${key} is not base64`)
    }
    metadata.set(key, value === undefined ? '' : Buffer.from(value, 'base64').toString('utf8'))
  }
  return Object.fromEntries(metadata)
}

/** The `Upload-Metadata` header of stored metadata. */
export function formatUploadMetadata(metadata: Record<string, string>): string {
  return Object.entries(metadata)
    .map(([key, value]) => (value === '' ? key : `${key} ${Buffer.from(value).toString('base64')}`))
    .join(',')
}
