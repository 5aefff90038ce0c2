/** Webhooks: clients' endpoints, told of file, job and run events by signed, retried POSTs. */
export { WebhookError, type WebhookErrorCode } from './errors.ts'
export { checkEventPatterns, WEBHOOK_EVENTS, wantsEvent, webhookEventName } from './event-names.ts'
export { type PostOutcome, postWebhook } from './post-webhook.ts'
export { newWebhookSecret, signWebhook, verifyWebhook } from './signature.ts'
export {
  type DeliveryMessage,
  WEBHOOK_TOPIC,
  WebhookDispatcher,
  type WebhookDispatcherOptions,
} from './webhook-dispatcher.ts'
export { checkWebhookRequest, WEBHOOK_REQUEST } from './webhook-request.ts'
export { WebhookSender, type WebhookSenderOptions, webhookSenders } from './webhook-sender.ts'
export { WebhookService, type WebhookServiceOptions } from './webhook-service.ts'
export { checkWebhookTarget, publicLookup } from './webhook-target.ts'
