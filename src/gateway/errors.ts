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

/** The one place codes map to statuses, so every route answers the same way. */
export function httpStatusOf(error: unknown): number {
  return error instanceof HttpError ? error.status : 500
}
