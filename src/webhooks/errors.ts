/** Stable codes of webhook errors (listed in docs/errors.md). */
export type WebhookErrorCode = 'E_WEBHOOK_REQUEST' | 'E_WEBHOOK_TARGET' | 'E_WEBHOOK_NOT_FOUND'

export class WebhookError extends Error {
  readonly code: WebhookErrorCode

  constructor(code: WebhookErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'WebhookError'
    this.code = code
  }
}
