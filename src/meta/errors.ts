/** Stable codes of the metadata store's errors (listed in docs/errors.md). */
export type MetaErrorCode =
  | 'E_META_MIGRATION'
  | 'E_META_UNAVAILABLE'
  | 'E_UPLOAD_CONFLICT'
  | 'E_UPLOAD_GONE'
  | 'E_STORAGE_FULL'
  | 'E_RESTORE_NOT_EMPTY'

/** A metadata operation that failed: the database is unreachable, too new, or state vanished. */
export class MetaError extends Error {
  readonly code: MetaErrorCode

  constructor(code: MetaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'MetaError'
    this.code = code
  }
}
