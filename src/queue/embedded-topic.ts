import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Log, type LogRecord, readTextIfExists, writeFileDurably } from '../log/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { ConsumerGroup } from './consumer-group.ts'
import { checkConsumerOptions } from './consumer-options.ts'
import { QueueError } from './errors.ts'
import { GroupState } from './group-state.ts'
import { IDEMPOTENCY_HEADER, IdempotencyWindow } from './idempotency.ts'
import { checkGroup } from './names.ts'
import {
  checkProducer,
  PRODUCER_HEADER,
  ProducerWindow,
  SEQUENCE_HEADER,
} from './producer-window.ts'
import {
  type ConsumerOptions,
  DEFAULT_CONSUMER_OPTIONS,
  IDEMPOTENCY_WINDOW_MS,
  type PublishOptions,
  type TopicStats,
} from './queue.ts'
import { SchemaCheck } from './schema.ts'
import {
  mergeTopicOptions,
  readTopicConfig,
  type TopicConfig,
  writeTopicConfig,
} from './topic-config.ts'

/** Publishes a dead letter of `topic` (the queue owns the `.dlq` topic). */
export type DeadLetterSink = (
  topic: string,
  group: string,
  record: LogRecord,
  reason: string,
  deliveries: number,
) => Promise<void>

/** Records scanned at start-up to rebuild the idempotency window (the newest ones). */
const IDEMPOTENCY_SCAN = 100_000
const MAINTENANCE_MS = 5_000

/** One topic of the embedded queue: its log, its consumer groups, its settings. */
export class EmbeddedTopic {
  readonly name: string
  readonly dir: string
  readonly log: Log
  #config: TopicConfig
  #configuring: Promise<void> = Promise.resolve()
  #schema: SchemaCheck | undefined
  readonly #idempotency = new IdempotencyWindow(IDEMPOTENCY_WINDOW_MS)
  readonly #producers = new ProducerWindow()
  readonly #groups = new Map<string, Promise<ConsumerGroup>>()
  readonly #logger: Logger
  readonly #deadLetter: DeadLetterSink
  readonly #timer: NodeJS.Timeout

  private constructor(
    name: string,
    dir: string,
    log: Log,
    config: TopicConfig,
    logger: Logger,
    deadLetter: DeadLetterSink,
  ) {
    this.name = name
    this.dir = dir
    this.log = log
    this.#config = config
    this.#schema = config.schema ? new SchemaCheck(name, config.schema) : undefined
    this.#logger = logger
    this.#deadLetter = deadLetter
    this.#timer = setInterval(() => {
      this.maintain().catch((error: unknown) =>
        logger.warn({ err: error, topic: name }, 'topic maintenance failed'),
      )
    }, MAINTENANCE_MS)
    this.#timer.unref()
  }

  static async open(
    dir: string,
    name: string,
    config: TopicConfig,
    logger: Logger,
    deadLetter: DeadLetterSink,
  ): Promise<EmbeddedTopic> {
    const stored = await readTopicConfig(dir)
    if (!stored) {
      await mkdir(dir, { recursive: true })
      await writeTopicConfig(dir, config)
    }
    const effective = stored ?? config
    const log = await Log.open({ dir: join(dir, 'log'), fsync: effective.fsync, logger })
    const topic = new EmbeddedTopic(name, dir, log, effective, logger, deadLetter)
    await topic.#rebuildIdempotency()
    for (const group of await topic.#storedGroups()) await topic.group(group)
    return topic
  }

  get config(): TopicConfig {
    return this.#config
  }

  /**
   * Changes the topic's options (stored first, then applied). Calls run one at a time: clients
   * of a queue server ensure the same topic at once as they start (one file, one writer), and
   * options that change nothing are not written again.
   */
  configure(options: Parameters<typeof mergeTopicOptions>[1]): Promise<void> {
    const next = this.#configuring.then(async () => {
      const config = mergeTopicOptions(this.#config, options)
      if (JSON.stringify(config) === JSON.stringify(this.#config)) return
      const schema = config.schema ? new SchemaCheck(this.name, config.schema) : undefined
      await writeTopicConfig(this.dir, config)
      this.#config = config
      this.#schema = schema
      this.log.fsync = config.fsync
    })
    this.#configuring = next.catch(() => {})
    return next
  }

  publish(payload: Uint8Array, options: PublishOptions = {}): Promise<number> {
    this.#schema?.check(this.name, payload)
    let headers = checkHeaders(options.headers)
    const { producer } = options
    if (producer !== undefined) {
      checkProducer(producer)
      const now = Date.now()
      const first = this.#producers.lookup(producer.id, producer.sequence, now)
      if (first !== undefined) return Promise.resolve(first)
      headers = {
        ...headers,
        [PRODUCER_HEADER]: producer.id,
        [SEQUENCE_HEADER]: String(producer.sequence),
      }
      const offset = this.#publishKeyed(payload, headers, options.idempotencyKey)
      this.#producers.remember(producer.id, producer.sequence, offset, now)
      return offset
    }
    return this.#publishKeyed(payload, headers, options.idempotencyKey)
  }

  #publishKeyed(
    payload: Uint8Array,
    headers: Record<string, string>,
    key: string | undefined,
  ): Promise<number> {
    if (key === undefined) return this.#append(payload, headers)
    if (typeof key !== 'string' || key.length === 0 || key.length > 256) {
      throw new QueueError('E_QUEUE_ARGUMENT', 'an idempotency key is 1 to 256 characters')
    }
    const now = Date.now()
    const first = this.#idempotency.lookup(key, now)
    if (first) return first
    const offset = this.#append(payload, { ...headers, [IDEMPOTENCY_HEADER]: key })
    this.#idempotency.remember(key, offset, now)
    return offset
  }

  /** The group, opened (and created on disk) on first use; later options are ignored. */
  group(name: string, options: ConsumerOptions = {}): Promise<ConsumerGroup> {
    checkGroup(name)
    let group = this.#groups.get(name)
    if (!group) {
      group = this.#openGroup(name, options)
      this.#groups.set(name, group)
      group.catch(() => this.#groups.delete(name))
    }
    return group
  }

  async stats(): Promise<TopicStats> {
    const groups = await Promise.all(this.#groups.values())
    return {
      topic: this.name,
      messages: this.log.nextOffset - this.log.startOffset,
      firstOffset: this.log.startOffset,
      nextOffset: this.log.nextOffset,
      bytes: this.log.bytes,
      segments: this.log.segmentCount,
      groups: groups.map((g) => g.stats()).sort((a, b) => a.group.localeCompare(b.group)),
    }
  }

  /** Retention and compaction of group state; runs every few seconds. */
  async maintain(): Promise<void> {
    const groups = await Promise.all(this.#groups.values())
    if (this.#config.deleteAcked && groups.length > 0) {
      await this.log.deleteBefore(Math.min(...groups.map((g) => g.state.ackFloor)))
    }
    const { maxBytes, maxAgeMs } = this.#config
    if (maxBytes !== undefined || maxAgeMs !== undefined) {
      await this.log.applyRetention({ maxBytes, maxAgeMs })
    }
    for (const group of groups) await group.state.maybeCompact()
  }

  async close(): Promise<void> {
    clearInterval(this.#timer)
    const groups = await Promise.allSettled(this.#groups.values())
    for (const group of groups) if (group.status === 'fulfilled') group.value.close()
    await this.log.close()
    for (const group of groups) if (group.status === 'fulfilled') await group.value.state.close()
  }

  async #append(payload: Uint8Array, headers: Record<string, string>): Promise<number> {
    const offset = await this.log.append(payload, { headers })
    for (const group of this.#groups.values())
      group.then(
        (g) => g.notify(),
        () => {},
      )
    return offset
  }

  async #openGroup(name: string, options: ConsumerOptions): Promise<ConsumerGroup> {
    const dir = join(this.dir, 'groups', name)
    await mkdir(dir, { recursive: true })
    const settings = await readGroupOptions(dir, options)
    const state = await GroupState.open(dir, this.#config.fsync, this.#logger)
    return new ConsumerGroup(this.name, name, this.log, state, settings, (record, reason, n) =>
      this.#deadLetter(this.name, name, record, reason, n),
    )
  }

  async #storedGroups(): Promise<string[]> {
    try {
      return await readdir(join(this.dir, 'groups'))
    } catch {
      return []
    }
  }

  /**
   * Idempotency keys and producer sequences of the newest records, so a retry after a restart
   * still finds its offset.
   */
  async #rebuildIdempotency(): Promise<void> {
    const from = Math.max(this.log.startOffset, this.log.nextOffset - IDEMPOTENCY_SCAN)
    const cutoff = Date.now() - IDEMPOTENCY_WINDOW_MS
    for (let offset = from; offset < this.log.nextOffset; ) {
      const records = await this.log.read(offset, 1000, 8 << 20)
      if (records.length === 0) break
      for (const record of records) {
        if (record.timestamp < cutoff) continue
        const key = record.headers[IDEMPOTENCY_HEADER]
        if (key) this.#idempotency.remember(key, Promise.resolve(record.offset), record.timestamp)
        const producer = record.headers[PRODUCER_HEADER]
        const sequence = Number(record.headers[SEQUENCE_HEADER])
        if (producer && Number.isSafeInteger(sequence)) {
          this.#producers.remember(producer, sequence, record.offset, record.timestamp)
        }
      }
      offset = records.at(-1)!.offset + 1
    }
  }
}

/** The group's options: stored by its first consumer, read back by every later one. */
async function readGroupOptions(
  dir: string,
  options: ConsumerOptions,
): Promise<Required<ConsumerOptions>> {
  const path = join(dir, 'group.json')
  const stored = await readTextIfExists(path)
  if (stored !== undefined) return { ...DEFAULT_CONSUMER_OPTIONS, ...JSON.parse(stored) }
  const settings = checkConsumerOptions({ ...DEFAULT_CONSUMER_OPTIONS, ...options })
  await writeFileDurably(path, `${JSON.stringify(settings, null, 2)}\n`)
  return settings
}

/** Headers are string to string; names are short and free of control characters. */
function checkHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  if (headers === undefined) return {}
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string' || name.length === 0 || name.length > 256 || /[\s:]/.test(name)) {
      throw new QueueError(
        'E_QUEUE_ARGUMENT',
        `header ${JSON.stringify(name)}: names are 1-256 characters without spaces or ":", values are strings`,
      )
    }
  }
  return headers
}
