import { randomUUID } from 'node:crypto'
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node'
import { retryDelay } from './backoff.ts'
import { QueueError } from './errors.ts'
import { parseAckSubject } from './nats-names.ts'
import type { Consumer, ConsumerOptions, QueueMessage } from './queue.ts'

export interface NatsConsumerInit {
  nc: NatsConnection
  topic: string
  stream: string
  group: string
  options: Required<ConsumerOptions>
  deadLetter: (message: QueueMessage, reason: string) => Promise<void>
  onClose: () => void
}

interface PullRequest {
  /** The reply subject of this request alone, so late answers to older ones are told apart. */
  inbox: string
  want: number
  got: Msg[]
  done: () => void
}

const encoder = new TextEncoder()
const ACK_TIMEOUT_MS = 10_000

/**
 * One member of a durable JetStream pull consumer. Pull requests are made by hand (not with
 * the client's `fetch`) because a fetch here may wait any time from 0 ms, while the client's
 * helper waits at least a second.
 */
export class NatsConsumer implements Consumer {
  readonly id = randomUUID()
  readonly #init: NatsConsumerInit
  readonly #inbox: string
  readonly #sub: Subscription
  /** Ack subjects of the messages this consumer holds. */
  readonly #replies = new WeakMap<QueueMessage, string>()
  readonly #settled = new WeakSet<QueueMessage>()
  /** Why a message last failed (a nack), for the dead-letter reason when it comes back. */
  readonly #failures = new Map<number, string>()
  /**
   * The delivery count this consumer last handed out per offset. A 2.9 server that delivers to
   * a pull request we had already given up on takes that delivery back and sends the message
   * again with the same count: counting on from what we saw keeps `deliveries` increasing.
   */
  readonly #counted = new Map<number, number>()
  #request: PullRequest | undefined
  #requests = 0
  /** Messages that arrived after their pull request ended; handed out by the next fetch. */
  #stray: Msg[] = []
  #fetching: Promise<unknown> = Promise.resolve()
  #closed = false

  constructor(init: NatsConsumerInit) {
    this.#init = init
    this.#inbox = `_INBOX.piper.${this.id}`
    this.#sub = init.nc.subscribe(`${this.#inbox}.*`, {
      callback: (_error, msg) => this.#receive(msg),
    })
  }

  fetch(max: number, waitMs: number): Promise<QueueMessage[]> {
    if (this.#closed)
      return Promise.reject(new QueueError('E_QUEUE_CLOSED', 'the consumer is closed'))
    if (!Number.isSafeInteger(max) || max < 1 || !(waitMs >= 0)) {
      return Promise.reject(
        new QueueError('E_QUEUE_ARGUMENT', 'fetch takes max ≥ 1 and waitMs ≥ 0'),
      )
    }
    const run = this.#fetching.then(() => this.#fetch(max, waitMs))
    this.#fetching = run.catch(() => {})
    return run
  }

  async ack(message: QueueMessage): Promise<void> {
    const reply = this.#reply(message)
    if (this.#settled.has(message)) return
    // A request, not a publish: the server answers once the ack is stored ("double ack").
    await this.#init.nc
      .request(reply, encoder.encode('+ACK'), { timeout: ACK_TIMEOUT_MS })
      .catch((error: unknown) => {
        throw new QueueError('E_QUEUE_UNAVAILABLE', 'JetStream did not confirm the ack', {
          cause: error,
        })
      })
    this.#settled.add(message)
    this.#failures.delete(message.offset)
    this.#counted.delete(message.offset)
  }

  async nack(message: QueueMessage, delayMs?: number): Promise<void> {
    const reply = this.#reply(message)
    if (this.#settled.has(message)) return
    const { options } = this.#init
    const why = `nacked after delivery ${message.deliveries}`
    if (message.deliveries >= options.maxDeliver) {
      return this.#deadLetter(message, reply, `${why}; ${message.deliveries} deliveries`)
    }
    this.#failures.set(message.offset, why)
    const delay = delayMs ?? retryDelay(message.deliveries, options.backoffMs, options.maxBackoffMs)
    const body = delay > 0 ? `-NAK ${JSON.stringify({ delay: delay * 1e6 })}` : '-NAK'
    this.#settled.add(message)
    this.#init.nc.publish(reply, encoder.encode(body))
    await this.#init.nc.flush()
  }

  async inProgress(message: QueueMessage): Promise<void> {
    const reply = this.#reply(message)
    if (this.#settled.has(message)) return
    this.#init.nc.publish(reply, encoder.encode('+WPI'))
    await this.#init.nc.flush()
  }

  async term(message: QueueMessage, reason: string): Promise<void> {
    const reply = this.#reply(message)
    if (this.#settled.has(message)) return
    await this.#deadLetter(message, reply, `terminated: ${reason}`)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#request?.done()
    // Messages that arrived for nobody go back at once rather than after the ack wait.
    for (const msg of this.#stray)
      if (msg.reply) this.#init.nc.publish(msg.reply, encoder.encode('-NAK'))
    this.#stray = []
    this.#sub.unsubscribe()
    this.#init.onClose()
  }

  async #fetch(max: number, waitMs: number): Promise<QueueMessage[]> {
    const until = Date.now() + waitMs
    const out: QueueMessage[] = []
    for (;;) {
      const msgs = this.#stray.splice(0, max - out.length)
      if (msgs.length < max - out.length) {
        msgs.push(...(await this.#pull(max - out.length - msgs.length, until - Date.now())))
      }
      for (const msg of msgs) {
        const message = await this.#admit(msg)
        if (message) out.push(message)
      }
      if (out.length > 0 || Date.now() >= until || this.#closed) return out
    }
  }

  /** One pull request: up to `want` messages, waiting up to `waitMs` (0: only what is there). */
  #pull(want: number, waitMs: number): Promise<Msg[]> {
    return new Promise((resolve) => {
      const request: PullRequest = {
        inbox: `${this.#inbox}.${++this.#requests}`,
        want,
        got: [],
        done: () => {
          clearTimeout(safety)
          if (this.#request === request) this.#request = undefined
          resolve(request.got)
        },
      }
      this.#request = request
      const wait = Math.max(0, Math.floor(waitMs))
      const body = wait < 10 ? { batch: want, no_wait: true } : { batch: want, expires: wait * 1e6 }
      const { stream, group, nc } = this.#init
      nc.publish(
        `$JS.API.CONSUMER.MSG.NEXT.${stream}.${group}`,
        encoder.encode(JSON.stringify(body)),
        { reply: request.inbox },
      )
      // The server ends the request itself (408), but a 2.9 server sometimes drops a request
      // whose expiry meets a redelivery: give up on it soon after and ask again.
      const safety = setTimeout(request.done, wait + Math.min(1_000, 100 + wait / 4))
    })
  }

  #receive(msg: Msg): void {
    const request = this.#request
    const status = msg.headers?.code ?? 0
    if (!msg.reply?.startsWith('$JS.ACK.')) {
      // 404 no messages, 408 request expired, 409 limits: that pull request is over.
      if (status >= 400 && request?.inbox === msg.subject) request.done()
      return
    }
    // A message is leased to this consumer whichever request it answers: the current one takes it.
    if (!request) {
      this.#stray.push(msg)
      return
    }
    request.got.push(msg)
    if (request.got.length >= request.want) request.done()
  }

  /** The message as Piper's, or null when it has used up its deliveries (then dead-lettered). */
  async #admit(msg: Msg): Promise<QueueMessage | null> {
    const info = parseAckSubject(msg.reply!)!
    const before = this.#counted.get(info.streamSequence - 1) ?? 0
    if (info.deliveries <= before) info.deliveries = before + 1
    if (this.#counted.size >= 10_000) this.#counted.clear()
    this.#counted.set(info.streamSequence - 1, info.deliveries)
    const headers: Record<string, string> = {}
    for (const name of msg.headers?.keys() ?? []) headers[name] = msg.headers!.get(name)
    const offset = info.streamSequence - 1
    const { topic, options } = this.#init
    if (info.deliveries > options.maxDeliver) {
      const message = {
        topic,
        offset,
        timestamp: info.timestamp,
        headers,
        payload: msg.data,
        deliveries: info.deliveries - 1,
      }
      const why = this.#failures.get(offset) ?? 'ack deadline passed'
      await this.#deadLetter(message, msg.reply!, `${why}; ${message.deliveries} deliveries`)
      return null
    }
    const message: QueueMessage = {
      topic,
      offset,
      timestamp: info.timestamp,
      headers,
      payload: msg.data,
      deliveries: info.deliveries,
    }
    this.#replies.set(message, msg.reply!)
    return message
  }

  async #deadLetter(message: QueueMessage, reply: string, reason: string): Promise<void> {
    // Published (and confirmed) before the term: a crash in between duplicates, never loses.
    await this.#init.deadLetter(message, reason)
    this.#settled.add(message)
    this.#failures.delete(message.offset)
    this.#counted.delete(message.offset)
    // Plain +TERM: servers before 2.10.4 do not parse a reason after it (the DLQ has it).
    await this.#init.nc
      .request(reply, encoder.encode('+TERM'), { timeout: ACK_TIMEOUT_MS })
      .catch(() => {})
  }

  #reply(message: QueueMessage): string {
    const reply = this.#replies.get(message)
    if (!reply) {
      throw new QueueError(
        'E_QUEUE_ARGUMENT',
        `message ${message.offset} of ${message.topic} was not delivered by this consumer`,
      )
    }
    return reply
  }
}
