/** Stable codes of the queue's errors (listed in docs/errors.md). */
export type QueueErrorCode =
  | 'E_SCHEMA'
  | 'E_TOPIC_NAME'
  | 'E_GROUP_NAME'
  | 'E_QUEUE_CLOSED'
  | 'E_QUEUE_PROTOCOL'
  | 'E_QUEUE_AUTH'
  | 'E_QUEUE_UNAVAILABLE'
  | 'E_QUEUE_ARGUMENT'
  | 'E_QUEUE_LOCKED'

/** A queue operation refused or failed. */
export class QueueError extends Error {
  readonly code: QueueErrorCode

  constructor(code: QueueErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'QueueError'
    this.code = code
  }
}

/** An error a queue server reported, rebuilt with its code (queue, log or other Piper code). */
export class RemoteQueueError extends Error {
  readonly code: string

  constructor(code: string, message: string) {
    super(message)
    this.name = 'RemoteQueueError'
    this.code = code
  }
}

/** The error a `{code, message}` from the wire stands for. */
export function errorFromWire(body: { code?: unknown; message?: unknown }): Error {
  const code = typeof body.code === 'string' ? body.code : 'E_INTERNAL'
  const message = typeof body.message === 'string' ? body.message : 'queue server error'
  return new RemoteQueueError(code, message)
}
