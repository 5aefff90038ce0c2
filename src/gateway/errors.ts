import { BlobError } from '../blobs/index.ts'
import { FileError } from '../files/index.ts'
import { JobError } from '../jobs/index.ts'
import { MetaError } from '../meta/index.ts'

/** An error with a stable code that the gateway answers with a given HTTP status. */
export class HttpError extends Error {
  readonly code: string
  readonly status: number

  constructor(status: number, code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'HttpError'
    this.status = status
    this.code = code
  }
}

/** The HTTP status of each module error code: the one place they are mapped. */
const STATUS_OF_CODE: Record<string, number> = {
  E_FILE_NAME: 400,
  E_FILE_NOT_FOUND: 404,
  E_RANGE: 416,
  E_UPLOAD_TOO_LARGE: 413,
  E_META_UNAVAILABLE: 503,
  E_JOB_REQUEST: 400,
  E_JOB_NOT_FOUND: 404,
  E_JOB_FINISHED: 409,
}

/** Status, code and whether the message may be shown to the client. */
export function describeError(error: unknown): { status: number; code: string; message: string } {
  if (error instanceof HttpError) {
    return { status: error.status, code: error.code, message: error.message }
  }
  if (
    error instanceof FileError ||
    error instanceof MetaError ||
    error instanceof BlobError ||
    error instanceof JobError
  ) {
    const status = STATUS_OF_CODE[error.code] ?? 500
    // Storage internals stay in the log; the client learns only that storage failed.
    if (status >= 500) return { status, code: error.code, message: 'storage is unavailable' }
    return { status, code: error.code, message: error.message }
  }
  return { status: 500, code: 'E_INTERNAL', message: 'internal error' }
}
