import type {
  Consumer,
  ConsumerOptions,
  PublishOptions,
  Queue,
  TopicOptions,
  TopicStats,
} from './queue.ts'

/**
 * A queue whose every publish carries the current trace context in its headers (W3C
 * `traceparent`), so the consumer's work joins the publisher's trace; `headers` gives them
 * (empty outside a trace, or with tracing off).
 */
export class TracedQueue implements Queue {
  readonly #queue: Queue
  readonly #headers: () => Record<string, string>

  constructor(queue: Queue, headers: () => Record<string, string>) {
    this.#queue = queue
    this.#headers = headers
  }

  start(): Promise<void> {
    return this.#queue.start()
  }

  ensureTopic(topic: string, options?: TopicOptions): Promise<void> {
    return this.#queue.ensureTopic(topic, options)
  }

  publish(topic: string, payload: Uint8Array, options: PublishOptions = {}): Promise<number> {
    const trace = this.#headers()
    if (Object.keys(trace).length === 0) return this.#queue.publish(topic, payload, options)
    return this.#queue.publish(topic, payload, {
      ...options,
      headers: { ...trace, ...options.headers },
    })
  }

  consumer(topic: string, group: string, options?: ConsumerOptions): Promise<Consumer> {
    return this.#queue.consumer(topic, group, options)
  }

  stats(topic?: string): Promise<TopicStats[]> {
    return this.#queue.stats(topic)
  }

  close(): Promise<void> {
    return this.#queue.close()
  }
}
