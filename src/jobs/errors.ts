/** Stable codes of the jobs module; `docs/errors.md` lists them. */
export type JobErrorCode =
  | 'E_JOB_REQUEST'
  | 'E_JOB_NOT_FOUND'
  | 'E_JOB_FINISHED'
  | 'E_JOB_TASK'
  | 'E_JOB_ATTEMPTS'
  | 'E_JOB_NOT_FAILED'
  | 'E_ARCHIVE_CORRUPT'
  | 'E_ARCHIVE_ENTRY'
  | 'E_OUTPUT_LIMIT'

/** A job request that cannot be served, or a task that must not be retried. */
export class JobError extends Error {
  readonly code: JobErrorCode

  constructor(code: JobErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'JobError'
    this.code = code
  }
}
