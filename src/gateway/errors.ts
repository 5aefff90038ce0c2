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

/**
 * The HTTP status of each module error code: the one place they are mapped. Errors are told
 * apart by their stable `code`, whatever class carries it (a queue server's error arrives as a
 * `RemoteQueueError` with the code it had there).
 */
const STATUS_OF_CODE: Record<string, number> = {
  E_FILE_NAME: 400,
  E_FILE_NOT_FOUND: 404,
  E_RANGE: 416,
  // The stored bytes no longer match their hash: a server-side fault, not the client's.
  E_CHUNK_CORRUPT: 500,
  E_UPLOAD_TOO_LARGE: 413,
  E_META_UNAVAILABLE: 503,
  E_BLOB_UNAVAILABLE: 503,
  E_JOB_REQUEST: 400,
  E_JOB_NOT_FOUND: 404,
  E_JOB_FINISHED: 409,
  E_JOB_NOT_FAILED: 409,
  E_PIPELINE_INVALID: 400,
  E_PIPELINE_NOT_FOUND: 404,
  E_RUN_REQUEST: 400,
  E_RUN_NOT_FOUND: 404,
  E_RUN_FINISHED: 409,
  E_SCHEDULE_INVALID: 400,
  E_SCHEDULE_NOT_FOUND: 404,
  E_IMAGE_CORRUPT: 422,
  E_IMAGE_UNSUPPORTED: 415,
  E_IMAGE_TOO_LARGE: 413,
  E_IMAGE_VARIANT: 400,
  // RFC 4918 §11.5: the server cannot store what the request needs stored.
  E_STORAGE_FULL: 507,
  E_TUS_REQUEST: 400,
  E_TUS_NOT_FOUND: 404,
  // tus 1.0: an upload that expired is Gone.
  E_TUS_EXPIRED: 410,
  E_TUS_OFFSET: 409,
  // tus 1.0 checksum extension: 460 Checksum Mismatch.
  E_TUS_CHECKSUM: 460,
  E_TUS_CHECKSUM_ALGORITHM: 400,
  E_TUS_TOO_LARGE: 413,
  E_TUS_FINAL: 403,
  E_TUS_VERSION: 412,
  E_TUS_CONTENT_TYPE: 415,
  E_STATS_REQUEST: 400,
  E_WEBHOOK_REQUEST: 400,
  // A target on loopback or a private network (SSRF), or one that does not resolve.
  E_WEBHOOK_TARGET: 400,
  E_WEBHOOK_NOT_FOUND: 404,
  E_LOG_FENCED: 503,
  E_QUEUE_UNAVAILABLE: 503,
  E_QUEUE_CLOSED: 503,
}

/** Messages of 5xx answers: storage internals stay in the log. */
const PUBLIC_MESSAGE: Record<number, string> = {
  503: 'storage is unavailable; try again later',
  507: 'the server has no room to store this; nothing was stored',
}

/** Status, code and the message the client may see. */
export function describeError(error: unknown): { status: number; code: string; message: string } {
  if (error instanceof HttpError) {
    return { status: error.status, code: error.code, message: error.message }
  }
  const code = (error as { code?: unknown } | undefined)?.code
  const status = typeof code === 'string' ? STATUS_OF_CODE[code] : undefined
  if (status === undefined) return { status: 500, code: 'E_INTERNAL', message: 'internal error' }
  if (status >= 500) {
    return { status, code: code as string, message: PUBLIC_MESSAGE[status] ?? 'internal error' }
  }
  return { status, code: code as string, message: (error as Error).message }
}
