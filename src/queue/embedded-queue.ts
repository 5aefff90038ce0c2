import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { type LogRecord, lockDir } from '../log/index.ts'
import type { Logger } from '../telemetry/index.ts'
import type { ConsumerGroup } from './consumer-group.ts'
import { EmbeddedTopic } from './embedded-topic.ts'
import { QueueError } from './errors.ts'
import { checkTopic, dlqTopic } from './names.ts'
import {
  type Consumer,
  type ConsumerOptions,
  DLQ_HEADERS,
  type PublishOptions,
  type Queue,
  type QueueMessage,
  type TopicOptions,
  type TopicStats,
} from './queue.ts'
import { DEFAULT_TOPIC_CONFIG, mergeTopicOptions, type TopicConfig } from './topic-config.ts'

export interface EmbeddedQueueOptions {
  /** Folder holding one folder per topic. */
  dir: string
  logger: Logger
  /** Options of topics created by their first publish or consumer. */
  defaults?: TopicOptions
}

/** The queue in this process, on Piper's own log: `embedded:DIR`. */
export class EmbeddedQueue implements Queue {
  readonly dir: string
  readonly #logger: Logger
  readonly #defaults: TopicConfig
  readonly #topics = new Map<string, Promise<EmbeddedTopic>>()
  readonly #consumers = new Set<EmbeddedConsumer>()
  #closed: Promise<void> | undefined
  #unlock: (() => Promise<void>) | undefined

  constructor(options: EmbeddedQueueOptions) {
    this.dir = options.dir
    this.#logger = options.logger.child({ component: 'queue' })
    this.#defaults = mergeTopicOptions(DEFAULT_TOPIC_CONFIG, options.defaults)
  }

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    this.#unlock = await lockDir(
      this.dir,
      (owner) =>
        new QueueError(
          'E_QUEUE_LOCKED',
          `the queue in ${this.dir} is in use by process ${owner} (piper up or piper queue serve): stop it or use another data folder; a served queue is reached with PIPER_QUEUE=piper://HOST:PORT`,
        ),
    )
  }

  async ensureTopic(topic: string, options?: TopicOptions): Promise<void> {
    const opened = await this.#topic(topic, options)
    if (options) await opened.configure(options)
  }

  async publish(topic: string, payload: Uint8Array, options?: PublishOptions): Promise<number> {
    return (await this.#topic(topic)).publish(payload, options)
  }

  async consumer(topic: string, group: string, options?: ConsumerOptions): Promise<Consumer> {
    const consumerGroup = await (await this.#topic(topic)).group(group, options)
    const consumer = new EmbeddedConsumer(consumerGroup, () => this.#consumers.delete(consumer))
    this.#consumers.add(consumer)
    return consumer
  }

  async stats(topic?: string): Promise<TopicStats[]> {
    const names = topic === undefined ? await this.#storedTopics() : [checkTopic(topic)]
    const topics = await Promise.all(names.map((name) => this.#topic(name)))
    return Promise.all(topics.map((t) => t.stats()))
  }

  close(): Promise<void> {
    this.#closed ??= this.#close()
    return this.#closed
  }

  async #close(): Promise<void> {
    for (const consumer of [...this.#consumers]) await consumer.close()
    const topics = await Promise.allSettled(this.#topics.values())
    for (const topic of topics) if (topic.status === 'fulfilled') await topic.value.close()
    await this.#unlock?.()
  }

  #topic(name: string, options?: TopicOptions): Promise<EmbeddedTopic> {
    if (this.#closed) return Promise.reject(new QueueError('E_QUEUE_CLOSED', 'the queue is closed'))
    checkTopic(name)
    let topic = this.#topics.get(name)
    if (!topic) {
      const config = mergeTopicOptions(this.#defaults, options)
      topic = EmbeddedTopic.open(join(this.dir, name), name, config, this.#logger, (...args) =>
        this.#deadLetter(...args),
      )
      this.#topics.set(name, topic)
      topic.catch(() => this.#topics.delete(name))
    }
    return topic
  }

  async #deadLetter(
    topic: string,
    group: string,
    record: LogRecord,
    reason: string,
    deliveries: number,
  ): Promise<void> {
    await this.publish(dlqTopic(topic), record.payload, {
      headers: {
        ...record.headers,
        [DLQ_HEADERS.topic]: topic,
        [DLQ_HEADERS.group]: group,
        [DLQ_HEADERS.offset]: String(record.offset),
        [DLQ_HEADERS.reason]: reason,
        [DLQ_HEADERS.deliveries]: String(deliveries),
      },
    })
    this.#logger.warn({ topic, group, offset: record.offset, reason }, 'message dead-lettered')
  }

  async #storedTopics(): Promise<string[]> {
    const names = new Set(this.#topics.keys())
    for (const entry of await readdir(this.dir, { withFileTypes: true })) {
      if (entry.isDirectory() && /^[a-z0-9]/.test(entry.name)) names.add(entry.name)
    }
    return [...names].sort()
  }
}

class EmbeddedConsumer implements Consumer {
  readonly id: string
  readonly #group: ConsumerGroup
  readonly #onClose: () => void
  #closed = false

  constructor(group: ConsumerGroup, onClose: () => void) {
    this.#group = group
    this.id = group.join()
    this.#onClose = onClose
  }

  fetch(max: number, waitMs: number): Promise<QueueMessage[]> {
    if (this.#closed) return Promise.reject(closedError())
    if (!Number.isSafeInteger(max) || max < 1 || !(waitMs >= 0)) {
      return Promise.reject(
        new QueueError('E_QUEUE_ARGUMENT', 'fetch takes max ≥ 1 and waitMs ≥ 0'),
      )
    }
    return this.#group.fetch(this.id, max, waitMs)
  }

  ack(message: QueueMessage): Promise<void> {
    return this.#group.ack(message.offset)
  }

  async nack(message: QueueMessage, delayMs?: number): Promise<void> {
    await this.#group.nack(this.id, message.offset, delayMs)
  }

  async inProgress(message: QueueMessage): Promise<void> {
    this.#group.inProgress(this.id, message.offset)
  }

  term(message: QueueMessage, reason: string): Promise<void> {
    return this.#group.term(message.offset, reason)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#group.leave(this.id)
    this.#onClose()
  }
}

function closedError(): QueueError {
  return new QueueError('E_QUEUE_CLOSED', 'the consumer is closed')
}
