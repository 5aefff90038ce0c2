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

/** A queue operation refused or failed. */
export class QueueError extends Error {
  readonly code: QueueErrorCode

  constructor(code: QueueErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'QueueError'
    this.code = code
  }
}
