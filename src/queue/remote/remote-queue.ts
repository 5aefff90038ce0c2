import { randomBytes } from 'node:crypto'
import { formatFsyncPolicy } from '../../log/index.ts'
import type { Logger } from '../../telemetry/index.ts'
import { errorFromWire } from '../errors.ts'
import { checkTopic } from '../names.ts'
import type {
  Consumer,
  ConsumerOptions,
  PublishOptions,
  Queue,
  TopicOptions,
  TopicStats,
} from '../queue.ts'
import { RemoteConnection } from './remote-connection.ts'
import { RemoteConsumer } from './remote-consumer.ts'

export interface RemoteQueueOptions {
  /** `piper://host:7420` */
  url: string
  /** The server's `PIPER_QUEUE_TOKEN`. */
  token?: string
  logger: Logger
  requestTimeoutMs?: number
}

interface Outgoing {
  payload: Uint8Array
  /** This client's sequence number for the topic: a resend is recognised by it. */
  sequence: number
  options: PublishOptions
  resolve: (offset: number) => void
  reject: (error: unknown) => void
}

/**
 * The client of `piper queue serve` (`piper://host:port`). Publishes made in one turn of the
 * event loop travel in one frame (the server appends them as one group commit), within the
 * publish credit the server grants.
 *
 * Exactly once across reconnects: the client is a producer with a random id, and numbers its
 * publishes per topic; the server remembers the numbers (durably, in the records' headers), so
 * requests resent after a reconnect or a server restart return their first offsets.
 */
export class RemoteQueue implements Queue {
  readonly url: string
  readonly #connection: RemoteConnection
  readonly #logger: Logger
  readonly #outgoing = new Map<string, Outgoing[]>()
  readonly #producerId = randomBytes(16).toString('base64url')
  readonly #sequences = new Map<string, number>()
  #flushing = false
  readonly #consumers = new Set<RemoteConsumer>()
  #closed: Promise<void> | undefined

  constructor(options: RemoteQueueOptions) {
    this.url = options.url
    this.#logger = options.logger.child({ component: 'queue', adapter: 'remote' })
    this.#connection = new RemoteConnection({
      url: options.url,
      token: options.token,
      logger: this.#logger,
      requestTimeoutMs: options.requestTimeoutMs,
      onNewSession: () => this.#recreateConsumers(),
    })
  }

  start(): Promise<void> {
    return this.#connection.open()
  }

  async ensureTopic(topic: string, options: TopicOptions = {}): Promise<void> {
    checkTopic(topic)
    const wire = {
      ...options,
      ...(options.fsync ? { fsync: formatFsyncPolicy(options.fsync) } : {}),
    }
    await this.#connection.request(() => ({ head: { op: 'ensureTopic', topic, options: wire } }))
  }

  publish(topic: string, payload: Uint8Array, options: PublishOptions = {}): Promise<number> {
    try {
      checkTopic(topic)
    } catch (error) {
      return Promise.reject(error)
    }
    return new Promise((resolve, reject) => {
      const batch = this.#outgoing.get(topic) ?? []
      this.#outgoing.set(topic, batch)
      const sequence = this.#sequences.get(topic) ?? 0
      this.#sequences.set(topic, sequence + 1)
      batch.push({ payload, sequence, options, resolve, reject })
      if (!this.#flushing) {
        this.#flushing = true
        setImmediate(() => void this.#flush())
      }
    })
  }

  async consumer(topic: string, group: string, options?: ConsumerOptions): Promise<Consumer> {
    checkTopic(topic)
    const id = await this.#createConsumer(topic, group, options, false)
    const consumer = new RemoteConsumer(this.#connection, { id, topic, group, options }, () =>
      this.#consumers.delete(consumer),
    )
    this.#consumers.add(consumer)
    return consumer
  }

  async stats(topic?: string): Promise<TopicStats[]> {
    const { head } = await this.#connection.request(() => ({ head: { op: 'stats', topic } }))
    return head.stats as TopicStats[]
  }

  close(): Promise<void> {
    this.#closed ??= this.#close()
    return this.#closed
  }

  async #close(): Promise<void> {
    while (this.#flushing) await new Promise((resolve) => setImmediate(resolve))
    for (const consumer of [...this.#consumers]) await consumer.close()
    await this.#connection.close()
  }

  /** Sends what was published this turn, a frame per topic, as far as the credit allows. */
  async #flush(): Promise<void> {
    try {
      while (this.#outgoing.size > 0) {
        const [topic, all] = this.#outgoing.entries().next().value!
        this.#outgoing.delete(topic)
        const credit = Math.max(1, this.#connection.credit)
        for (let at = 0; at < all.length; at += credit) {
          const batch = all.slice(at, at + credit)
          await this.#connection.reserve(batch.length)
          void this.#send(topic, batch)
        }
      }
    } finally {
      this.#flushing = false
    }
  }

  async #send(topic: string, batch: Outgoing[]): Promise<void> {
    try {
      const { head } = await this.#connection.request(() => ({
        head: {
          op: 'publish',
          topic,
          producer: this.#producerId,
          messages: batch.map((m) => ({
            headers: m.options.headers,
            key: m.options.idempotencyKey,
            seq: m.sequence,
          })),
        },
        payloads: batch.map((m) => m.payload),
      }))
      const results = head.results as (number | { code: string; message: string })[]
      for (const [i, m] of batch.entries()) {
        const result = results[i]
        if (typeof result === 'number') m.resolve(result)
        else m.reject(errorFromWire(result ?? {}))
      }
    } catch (error) {
      for (const m of batch) m.reject(error)
    } finally {
      this.#connection.release(batch.length)
    }
  }

  async #createConsumer(
    topic: string,
    group: string,
    options: ConsumerOptions | undefined,
    urgent: boolean,
  ): Promise<string> {
    const { head } = await this.#connection.request(
      () => ({ head: { op: 'consumer', topic, group, options } }),
      { urgent },
    )
    return String(head.consumerId)
  }

  /** The server restarted: its consumers are gone; join the same groups again. */
  async #recreateConsumers(): Promise<void> {
    this.#logger.warn('the queue server lost this session (restarted?): rejoining consumer groups')
    for (const consumer of this.#consumers) {
      consumer.serverId = await this.#createConsumer(
        consumer.topic,
        consumer.group,
        consumer.options,
        true,
      )
    }
  }
}
