/** Stable codes of the blob store's errors (listed in docs/errors.md). */
export type BlobErrorCode =
  | 'E_BLOB_NOT_FOUND'
  | 'E_BLOB_KEY'
  | 'E_BLOB_RANGE'
  | 'E_BLOB_SIZE'
  | 'E_STORAGE_FULL'
  | 'E_BLOB_UNAVAILABLE'
  | 'E_BLOB_CORRUPT'

/** A blob store operation that failed for a reason the caller can act on. */
export class BlobError extends Error {
  readonly code: BlobErrorCode
  readonly key: string

  constructor(code: BlobErrorCode, key: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'BlobError'
    this.code = code
    this.key = key
  }
}

/** `E_BLOB_RANGE` unless `range` (inclusive) lies within a blob of `size` bytes. */
export function checkRange(
  key: string,
  range: { start: number; end: number } | undefined,
  size: number,
): void {
  if (range && (range.start < 0 || range.end < range.start || range.end >= size)) {
    throw new BlobError(
      'E_BLOB_RANGE',
      key,
      `range ${range.start}-${range.end} is outside blob ${key} of ${size} bytes`,
    )
  }
}
