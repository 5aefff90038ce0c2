import { schemaCheck } from '../schemas/index.ts'

/**
 * `POST /v1/webhooks`: checked against this before anything else, and described by it in
 * `/v1/openapi.json`. What a schema cannot say (the event names, the target's addresses) is
 * checked after.
 */
export const WEBHOOK_REQUEST = {
  type: 'object',
  properties: {
    url: { type: 'string', maxLength: 2048, description: 'an http(s) URL' },
    events: {
      type: 'array',
      items: { type: 'string' },
      minItems: 1,
      maxItems: 32,
      description: 'event names or patterns: file.created, job.*, *',
    },
  },
  required: ['url', 'events'],
  additionalProperties: false,
} as const

export const checkWebhookRequest = schemaCheck(WEBHOOK_REQUEST)
