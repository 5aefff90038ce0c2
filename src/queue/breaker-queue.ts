import type { BreakerPolicy, DependencyBreaker } from '../net/index.ts'
import { QueueError, RemoteQueueError } from './errors.ts'
import type {
  Consumer,
  ConsumerOptions,
  PublishOptions,
  Queue,
  TopicOptions,
  TopicStats,
} from './queue.ts'

/**
 * A remote queue's breaker counts calls it did not answer: `E_QUEUE_UNAVAILABLE`, or an error of
 * the client library below (a NATS timeout, a closed connection). A refusal the queue answered
 * with (a schema, an argument, a full disk) is an answer.
 */
export const QUEUE_BREAKER_POLICY: BreakerPolicy = {
  counts: (error) =>
    !(error instanceof QueueError || error instanceof RemoteQueueError) ||
    error.code === 'E_QUEUE_UNAVAILABLE',
  refused: (message) => new QueueError('E_QUEUE_UNAVAILABLE', message),
}

/**
 * A remote queue (`piper://`, `nats://`) whose request verbs go through a circuit breaker: once
 * the server stops answering, publishes and stats fail at once rather than each waiting out its
 * request timeout (30 s), so an API call that publishes answers quickly (a new job waits in the
 * outbox) and `/readyz` says `queue`; its stats call is the try that closes the breaker again.
 * Consumers are long-lived and reconnect by themselves: they are not wrapped.
 */
export class BreakerQueue implements Queue {
  readonly #queue: Queue
  readonly #breaker: DependencyBreaker

  constructor(queue: Queue, breaker: DependencyBreaker) {
    this.#queue = queue
    this.#breaker = breaker
  }

  start(): Promise<void> {
    return this.#queue.start()
  }

  ensureTopic(topic: string, options?: TopicOptions): Promise<void> {
    return this.#breaker.run(() => this.#queue.ensureTopic(topic, options))
  }

  publish(topic: string, payload: Uint8Array, options?: PublishOptions): Promise<number> {
    return this.#breaker.run(() => this.#queue.publish(topic, payload, options))
  }

  consumer(topic: string, group: string, options?: ConsumerOptions): Promise<Consumer> {
    return this.#queue.consumer(topic, group, options)
  }

  stats(topic?: string): Promise<TopicStats[]> {
    return this.#breaker.run(() => this.#queue.stats(topic))
  }

  close(): Promise<void> {
    return this.#queue.close()
  }
}
