import { randomBytes } from 'node:crypto'
import type { JetStreamClient, JetStreamManager, StreamConfig } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Logger } from '../telemetry/index.ts'
import { checkConsumerOptions } from './consumer-options.ts'
import { QueueError } from './errors.ts'
import { checkGroup, checkTopic, dlqTopic } from './names.ts'
import { NatsConsumer } from './nats-consumer.ts'
import { streamOf, subjectOf, topicOfSubject } from './nats-names.ts'
import { maskNatsUrl, natsConnectionOptions } from './nats-options.ts'
import {
  type Consumer,
  type ConsumerOptions,
  DEFAULT_CONSUMER_OPTIONS,
  DLQ_HEADERS,
  IDEMPOTENCY_WINDOW_MS,
  type PublishOptions,
  type Queue,
  type QueueMessage,
  type TopicOptions,
  type TopicStats,
} from './queue.ts'
import { SchemaCheck } from './schema.ts'

type NatsModule = typeof import('@nats-io/transport-node')
type JetStreamModule = typeof import('@nats-io/jetstream')

/** How long a topic's stream settings (schema) are trusted before being read again. */
const TOPIC_CACHE_MS = 10_000

interface KnownTopic {
  schema: SchemaCheck | undefined
  at: number
}

/**
 * The queue on NATS JetStream (`nats://host:port`): a stream per topic (file storage), a
 * durable pull consumer per group. Dead letters, the delivery limit and backoff are Piper's, so
 * they behave as in the other adapters: the server redelivers without limit, and a message
 * past `maxDeliver` is published to `<topic>.dlq` and terminated when it next arrives.
 * JetStream's own fsync is the server's `sync_interval`; a topic's `fsync` option is not used.
 */
export class NatsQueue implements Queue {
  readonly url: string
  /** Set by `?namespace=`: several Piper installations on one NATS keep to their own streams. */
  readonly namespace: string
  readonly #logger: Logger
  readonly #timeoutMs: number | undefined
  #nc: NatsConnection | undefined
  #js: JetStreamClient | undefined
  #jsm: JetStreamManager | undefined
  #nats: NatsModule | undefined
  #jetstream: JetStreamModule | undefined
  readonly #topics = new Map<string, Promise<KnownTopic>>()
  readonly #consumers = new Set<NatsConsumer>()
  /** Names this client's publishes that carry no idempotency key: `<producer>-<n>`. */
  readonly #producer = randomBytes(12).toString('base64url')
  #sequence = 0
  #closed: Promise<void> | undefined

  /** `timeoutMs`: how long a JetStream request (a publish, a stream's info) waits for its answer. */
  constructor(url: string, logger: Logger, options: { timeoutMs?: number } = {}) {
    this.url = url
    this.#timeoutMs = options.timeoutMs
    const namespace = new URL(url).searchParams.get('namespace') ?? ''
    if (namespace && !/^[a-z0-9-]{1,64}$/.test(namespace)) {
      throw new QueueError(
        'E_QUEUE_ARGUMENT',
        `namespace must be 1 to 64 of a-z, 0-9 and -; got ${JSON.stringify(namespace)}`,
      )
    }
    this.namespace = namespace
    this.#logger = logger.child({ component: 'queue', adapter: 'nats' })
  }

  async start(): Promise<void> {
    // The client is loaded only by deployments that use it.
    this.#nats = await import('@nats-io/transport-node')
    this.#jetstream = await import('@nats-io/jetstream')
    const { creds, ...options } = natsConnectionOptions(this.url)
    try {
      this.#nc = await this.#nats.connect({
        ...options,
        ...(creds ? { authenticator: this.#nats.credsAuthenticator(creds) } : {}),
        name: 'piper',
        maxReconnectAttempts: -1,
      })
    } catch (error) {
      const where = maskNatsUrl(this.url)
      // nats.js says "Authorization Violation" (or names an auth error) for refused credentials.
      const refused = /authoriz|authenticat/i.test(
        `${(error as Error).message} ${(error as Error).name}`,
      )
      throw refused
        ? new QueueError('E_QUEUE_AUTH', `NATS at ${where} refused the credentials in the URL`, {
            cause: error,
          })
        : new QueueError(
            'E_QUEUE_UNAVAILABLE',
            `NATS at ${where} is not answering (${(error as Error).message})`,
            {
              cause: error,
            },
          )
    }
    const timeout = this.#timeoutMs === undefined ? {} : { timeout: this.#timeoutMs }
    this.#js = this.#jetstream.jetstream(this.#nc, timeout)
    this.#jsm = await this.#jetstream.jetstreamManager(this.#nc, timeout)
  }

  async ensureTopic(topic: string, options: TopicOptions = {}): Promise<void> {
    checkTopic(topic)
    const jsm = this.#manager()
    const config = this.#streamConfig(topic, options)
    const info = await jsm.streams
      .info(streamOf(topic, this.namespace))
      .catch(notFoundAs(undefined))
    if (info)
      await jsm.streams.update(streamOf(topic, this.namespace), { ...info.config, ...config })
    else await jsm.streams.add(config)
    this.#topics.delete(topic)
  }

  async publish(topic: string, payload: Uint8Array, options: PublishOptions = {}): Promise<number> {
    const known = await this.#topic(topic)
    known.schema?.check(topic, payload)
    const nats = this.#nats!
    const headers = nats.headers()
    for (const [name, value] of Object.entries(options.headers ?? {})) headers.set(name, value)
    const key = options.idempotencyKey
    if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 256)) {
      throw new QueueError('E_QUEUE_ARGUMENT', 'an idempotency key is 1 to 256 characters')
    }
    // Every publish has a Nats-Msg-Id, so one retried after a lost ack (by nats.js on a
    // timeout, or by a caller) is stored once: JetStream drops a repeated id within the
    // stream's duplicate window and answers with the first one's sequence.
    try {
      const ack = await this.#client().publish(subjectOf(topic, this.namespace), payload, {
        headers,
        msgID: key ?? `${this.#producer}-${this.#sequence++}`,
        retries: 3,
      })
      return ack.seq - 1
    } catch (error) {
      throw unavailable(error, `NATS at ${maskNatsUrl(this.url)} did not take the message`)
    }
  }

  async consumer(topic: string, group: string, options: ConsumerOptions = {}): Promise<Consumer> {
    checkGroup(group)
    await this.#topic(topic)
    const jsm = this.#manager()
    const stream = streamOf(topic, this.namespace)
    let info = await jsm.consumers.info(stream, group).catch(notFoundAs(undefined))
    if (!info) {
      const settings = checkConsumerOptions({ ...DEFAULT_CONSUMER_OPTIONS, ...options })
      const { AckPolicy, DeliverPolicy } = this.#jetstream!
      info = await jsm.consumers.add(stream, {
        durable_name: group,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: this.#nats!.nanos(settings.ackWaitMs),
        max_deliver: -1,
        max_ack_pending: 10_000,
        // In the description, not `metadata`: servers before 2.10 drop metadata.
        description: JSON.stringify({ piper: settings }),
      })
    }
    const settings = { ...DEFAULT_CONSUMER_OPTIONS, ...piperPart(info.config.description) }
    const consumer = new NatsConsumer({
      nc: this.#connection(),
      topic,
      stream,
      group,
      options: settings,
      deadLetter: (message, reason) => this.#deadLetter(group, message, reason),
      onClose: () => this.#consumers.delete(consumer),
    })
    this.#consumers.add(consumer)
    return consumer
  }

  async stats(topic?: string): Promise<TopicStats[]> {
    const jsm = this.#manager()
    const topics: string[] = []
    if (topic !== undefined) topics.push(checkTopic(topic))
    else {
      for await (const info of jsm.streams.list()) {
        const name = topicOfSubject(info.config.subjects?.[0], this.namespace)
        if (name !== undefined) topics.push(name)
      }
    }
    const out: TopicStats[] = []
    for (const name of topics.sort()) {
      const info = await jsm.streams
        .info(streamOf(name, this.namespace))
        .catch(notFoundAs(undefined))
      if (!info) continue
      const groups = []
      for await (const c of jsm.consumers.list(streamOf(name, this.namespace))) {
        groups.push({
          group: c.name,
          lag: c.num_pending + c.num_ack_pending,
          pending: c.num_ack_pending,
          ackFloor: c.ack_floor.stream_seq,
        })
      }
      out.push({
        topic: name,
        messages: info.state.messages,
        firstOffset: info.state.first_seq - 1,
        nextOffset: info.state.last_seq,
        bytes: info.state.bytes,
        groups: groups.sort((a, b) => a.group.localeCompare(b.group)),
      })
    }
    return out
  }

  close(): Promise<void> {
    this.#closed ??= this.#close()
    return this.#closed
  }

  async #close(): Promise<void> {
    for (const consumer of [...this.#consumers]) await consumer.close()
    await this.#nc?.drain().catch(() => this.#nc?.close())
  }

  #topic(topic: string): Promise<KnownTopic> {
    if (this.#closed) return Promise.reject(new QueueError('E_QUEUE_CLOSED', 'the queue is closed'))
    checkTopic(topic)
    const cached = this.#topics.get(topic)
    if (cached) {
      return cached.then((known) => {
        if (Date.now() - known.at < TOPIC_CACHE_MS) return known
        this.#topics.delete(topic)
        return this.#topic(topic)
      })
    }
    const loading = this.#loadTopic(topic)
    this.#topics.set(topic, loading)
    loading.catch(() => this.#topics.delete(topic))
    return loading
  }

  async #loadTopic(topic: string): Promise<KnownTopic> {
    const jsm = this.#manager()
    let info = await jsm.streams.info(streamOf(topic, this.namespace)).catch(notFoundAs(undefined))
    if (!info) {
      info = await jsm.streams
        .add(this.#streamConfig(topic, {}))
        .catch(async () => jsm.streams.info(streamOf(topic, this.namespace)))
    }
    const schema = piperPart(info.config.description).schema as object | undefined
    return {
      schema: schema ? new SchemaCheck(topic, schema) : undefined,
      at: Date.now(),
    }
  }

  #streamConfig(topic: string, options: TopicOptions): Partial<StreamConfig> & { name: string } {
    const { StorageType, RetentionPolicy } = this.#jetstream!
    const nanos = this.#nats!.nanos
    if (options.schema) new SchemaCheck(topic, options.schema) // refuses an invalid schema now
    return {
      name: streamOf(topic, this.namespace),
      subjects: [subjectOf(topic, this.namespace)],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      duplicate_window: nanos(IDEMPOTENCY_WINDOW_MS),
      ...(options.maxBytes ? { max_bytes: options.maxBytes } : {}),
      ...(options.maxAgeMs ? { max_age: nanos(options.maxAgeMs) } : {}),
      ...(options.schema
        ? { description: JSON.stringify({ piper: { schema: options.schema } }) }
        : {}),
    }
  }

  async #deadLetter(group: string, message: QueueMessage, reason: string): Promise<void> {
    await this.publish(dlqTopic(message.topic), message.payload, {
      headers: {
        ...message.headers,
        [DLQ_HEADERS.topic]: message.topic,
        [DLQ_HEADERS.group]: group,
        [DLQ_HEADERS.offset]: String(message.offset),
        [DLQ_HEADERS.reason]: reason,
        [DLQ_HEADERS.deliveries]: String(message.deliveries),
      },
    })
    this.#logger.warn(
      { topic: message.topic, group, offset: message.offset, reason },
      'message dead-lettered',
    )
  }

  #connection(): NatsConnection {
    if (!this.#nc) throw new QueueError('E_QUEUE_CLOSED', 'the NATS queue is not started')
    return this.#nc
  }

  #client(): JetStreamClient {
    this.#connection()
    return this.#js!
  }

  #manager(): JetStreamManager {
    this.#connection()
    return this.#jsm!
  }
}

/** Piper's settings kept in a stream's or consumer's description (`{"piper": {…}}`). */
function piperPart(description: string | undefined): Record<string, unknown> {
  try {
    return (JSON.parse(description ?? '{}') as { piper?: Record<string, unknown> }).piper ?? {}
  } catch {
    return {}
  }
}

/** A `.catch` that turns JetStream's "not found" into `value` and rethrows anything else. */
function notFoundAs<T>(value: T): (error: unknown) => T {
  return (error) => {
    const code = (error as { api_error?: { err_code?: number } }).api_error?.err_code
    const name = (error as Error).name
    // 10059: stream not found, 10014: consumer not found.
    if (code === 10059 || code === 10014 || /NotFound/.test(name)) return value
    throw error
  }
}

/** nats.js's errors for a server that did not answer (not one that refused). */
const NO_ANSWER = new Set([
  'TimeoutError',
  'NoResponders',
  'ClosedConnectionError',
  'DrainingConnectionError',
  'ConnectionError',
  'RequestError',
])

/** `E_QUEUE_UNAVAILABLE` for an error that says NATS did not answer; others as they are. */
function unavailable(error: unknown, what: string): unknown {
  if (!(error instanceof Error) || !NO_ANSWER.has(error.name)) return error
  return new QueueError('E_QUEUE_UNAVAILABLE', `${what}: ${error.message}`, { cause: error })
}
