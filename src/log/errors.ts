/** Stable codes of the log's errors (listed in docs/errors.md). */
export type LogErrorCode =
  | 'E_LOG_CORRUPT'
  | 'E_LOG_CLOSED'
  | 'E_LOG_RECORD'
  | 'E_LOG_CONFIG'
  | 'E_LOG_FENCED'

/** A log operation refused, or a log on disk that cannot be trusted. */
export class LogError extends Error {
  readonly code: LogErrorCode

  constructor(code: LogErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LogError'
    this.code = code
  }
}
