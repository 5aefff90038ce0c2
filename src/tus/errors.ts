/** Stable codes of resumable-upload errors (listed in docs/errors.md). */
export type TusErrorCode =
  | 'E_TUS_REQUEST'
  | 'E_TUS_NOT_FOUND'
  | 'E_TUS_EXPIRED'
  | 'E_TUS_OFFSET'
  | 'E_TUS_CHECKSUM'
  | 'E_TUS_CHECKSUM_ALGORITHM'
  | 'E_TUS_TOO_LARGE'
  | 'E_TUS_FINAL'
  | 'E_TUS_VERSION'
  | 'E_TUS_CONTENT_TYPE'

/** A tus request refused; the gateway maps each code to the status tus 1.0 names for it. */
export class TusError extends Error {
  readonly code: TusErrorCode

  constructor(code: TusErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'TusError'
    this.code = code
  }
}
