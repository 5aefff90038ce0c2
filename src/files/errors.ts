/** Stable codes of file operations' errors (listed in docs/errors.md). */
export type FileErrorCode =
  | 'E_FILE_NAME'
  | 'E_FILE_NOT_FOUND'
  | 'E_RANGE'
  | 'E_UPLOAD_TOO_LARGE'
  | 'E_CHUNK_CORRUPT'

/** A file operation refused or cut short; the gateway maps each code to one HTTP status. */
export class FileError extends Error {
  readonly code: FileErrorCode

  constructor(code: FileErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'FileError'
    this.code = code
  }
}
