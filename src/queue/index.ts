/** Piper's durable queue: the `Queue` port and its adapters. */
export { retryDelay } from './backoff.ts'
export { EmbeddedQueue, type EmbeddedQueueOptions } from './embedded-queue.ts'
export { QueueError, type QueueErrorCode } from './errors.ts'
export { checkGroup, checkTopic, dlqTopic } from './names.ts'
export { NatsQueue } from './nats-queue.ts'
export {
  type Consumer,
  type ConsumerOptions,
  DEFAULT_CONSUMER_OPTIONS,
  DLQ_HEADERS,
  type GroupStats,
  IDEMPOTENCY_WINDOW_MS,
  type PublishOptions,
  type Queue,
  type QueueMessage,
  type TopicOptions,
  type TopicStats,
} from './queue.ts'
