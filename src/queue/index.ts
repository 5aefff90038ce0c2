/** Piper's durable queue: the `Queue` port and its adapters. */
export { retryDelay } from './backoff.ts'
export { BreakerQueue, QUEUE_BREAKER_POLICY } from './breaker-queue.ts'
export { EmbeddedQueue, type EmbeddedQueueOptions } from './embedded-queue.ts'
export { errorFromWire, QueueError, type QueueErrorCode, RemoteQueueError } from './errors.ts'
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
export { PROTOCOL_VERSION } from './remote/protocol.ts'
export { QueueServer, type QueueServerOptions } from './remote/queue-server.ts'
export { RemoteQueue, type RemoteQueueOptions } from './remote/remote-queue.ts'
export { TracedQueue } from './traced-queue.ts'
