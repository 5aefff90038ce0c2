import { randomUUID } from 'node:crypto'
import type { Log, LogRecord } from '../log/index.ts'
import { retryDelay } from './backoff.ts'
import type { GroupState } from './group-state.ts'
import { MinHeap } from './min-heap.ts'
import type { ConsumerOptions, GroupStats, QueueMessage } from './queue.ts'

interface Lease {
  consumerId: string
  deadline: number
}

/** Moves a message to the dead-letter topic (durably) before the group acks it. */
export type DeadLetter = (record: LogRecord, reason: string, deliveries: number) => Promise<void>

/**
 * One consumer group of an embedded topic: hands out leases, takes acks, redelivers what is
 * nacked or whose lease ran out, dead-letters what keeps failing. Messages are delivered from
 * the group's cursor in offset order; retries go first once due.
 */
export class ConsumerGroup {
  readonly topic: string
  readonly name: string
  readonly options: Required<ConsumerOptions>
  readonly state: GroupState
  readonly #log: Log
  readonly #deadLetter: DeadLetter
  /** The next offset never delivered since this process opened the group. */
  #cursor: number
  readonly #leases = new Map<number, Lease>()
  #expiries = new MinHeap<number>()
  readonly #retries = new MinHeap<number>()
  readonly #failures = new Map<number, string>()
  readonly #consumers = new Set<string>()
  readonly #waiters = new Set<() => void>()
  #timer: NodeJS.Timeout | undefined
  #timerAt = Number.POSITIVE_INFINITY
  #collecting: Promise<unknown> = Promise.resolve()
  #closed = false

  constructor(
    topic: string,
    name: string,
    log: Log,
    state: GroupState,
    options: Required<ConsumerOptions>,
    deadLetter: DeadLetter,
  ) {
    this.topic = topic
    this.name = name
    this.#log = log
    this.state = state
    this.options = options
    this.#deadLetter = deadLetter
    // Leases do not survive a restart: everything unacknowledged is delivered again.
    this.#cursor = state.ackFloor
  }

  join(): string {
    const id = randomUUID()
    this.#consumers.add(id)
    return id
  }

  leave(consumerId: string): void {
    this.#consumers.delete(consumerId)
    const now = Date.now()
    for (const [offset, lease] of this.#leases) {
      if (lease.consumerId !== consumerId) continue
      this.#leases.delete(offset)
      this.#retries.push(now, offset)
    }
    this.#wake()
  }

  /** Wakes fetches waiting for messages (after a publish). */
  notify(): void {
    this.#wake()
  }

  async fetch(consumerId: string, max: number, waitMs: number): Promise<QueueMessage[]> {
    const until = Date.now() + waitMs
    for (;;) {
      const collected = this.#collecting.then(() => this.#collect(consumerId, max))
      this.#collecting = collected.catch(() => {})
      const messages = await collected
      const now = Date.now()
      if (messages.length > 0 || now >= until || this.#closed) return messages
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer)
          this.#waiters.delete(done)
          resolve()
        }
        const timer = setTimeout(done, until - now)
        this.#waiters.add(done)
        this.#schedule()
      })
    }
  }

  async ack(offset: number): Promise<void> {
    if (offset >= this.#log.nextOffset || offset < 0) return
    this.#leases.delete(offset)
    this.#failures.delete(offset)
    await this.state.ack(offset)
  }

  async nack(consumerId: string, offset: number, delayMs: number | undefined): Promise<void> {
    const lease = this.#leases.get(offset)
    if (!lease || lease.consumerId !== consumerId) return
    this.#leases.delete(offset)
    const deliveries = this.state.deliveries(offset)
    this.#failures.set(offset, `nacked after delivery ${deliveries}`)
    const delay =
      delayMs ?? retryDelay(deliveries, this.options.backoffMs, this.options.maxBackoffMs)
    this.#retries.push(Date.now() + Math.max(0, delay), offset)
    this.#schedule()
    if (delay <= 0) this.#wake()
  }

  inProgress(consumerId: string, offset: number): void {
    const lease = this.#leases.get(offset)
    if (!lease || lease.consumerId !== consumerId) return
    lease.deadline = Date.now() + this.options.ackWaitMs
    this.#pushExpiry(lease.deadline, offset)
  }

  async term(offset: number, reason: string): Promise<void> {
    if (this.state.isAcked(offset)) return
    this.#leases.delete(offset)
    const [record] = await this.#log.read(offset, 1)
    if (record?.offset === offset) {
      await this.#deadLetter(record, `terminated: ${reason}`, this.state.deliveries(offset))
    }
    await this.ack(offset)
  }

  stats(): GroupStats {
    this.#skipDeleted()
    const stored = this.#log.nextOffset - this.state.ackFloor
    return {
      group: this.name,
      lag: stored - this.state.ackedAbove,
      pending: this.#leases.size,
      ackFloor: this.state.ackFloor,
      consumers: this.#consumers.size,
    }
  }

  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
    for (const wake of [...this.#waiters]) wake()
  }

  async #collect(consumerId: string, max: number): Promise<QueueMessage[]> {
    this.#skipDeleted()
    const now = Date.now()
    this.#expire(now)
    const out: QueueMessage[] = []
    while (out.length < max && this.#retries.peekKey() <= now) {
      const offset = this.#retries.pop()!
      if (this.state.isAcked(offset) || this.#leases.has(offset)) continue
      const [record] = await this.#log.read(offset, 1)
      if (record?.offset !== offset) continue
      const message = await this.#lease(record, consumerId, now)
      if (message) out.push(message)
    }
    while (out.length < max && this.#cursor < this.#log.committedOffset) {
      const records = await this.#log.read(this.#cursor, max - out.length)
      if (records.length === 0) break
      for (const record of records) {
        this.#cursor = record.offset + 1
        if (this.state.isAcked(record.offset) || this.#leases.has(record.offset)) continue
        const message = await this.#lease(record, consumerId, now)
        if (message) out.push(message)
      }
    }
    this.#schedule()
    return out
  }

  /** Leases `record` to the consumer, or dead-letters it when it has had its deliveries. */
  async #lease(record: LogRecord, consumerId: string, now: number): Promise<QueueMessage | null> {
    const previous = this.state.deliveries(record.offset)
    if (previous >= this.options.maxDeliver) {
      const why = this.#failures.get(record.offset) ?? 'not acknowledged'
      await this.#deadLetter(record, `${why}; ${previous} deliveries`, previous)
      await this.ack(record.offset)
      return null
    }
    const deliveries = previous + 1
    this.state.delivered(record.offset, deliveries)
    const deadline = now + this.options.ackWaitMs
    this.#leases.set(record.offset, { consumerId, deadline })
    this.#pushExpiry(deadline, record.offset)
    return {
      topic: this.topic,
      offset: record.offset,
      timestamp: record.timestamp,
      headers: record.headers,
      payload: record.payload,
      deliveries,
    }
  }

  #pushExpiry(deadline: number, offset: number): void {
    this.#expiries.push(deadline, offset)
    // Acked leases leave stale entries behind; rebuild so memory follows the leases held.
    if (this.#expiries.size > 2 * this.#leases.size + 1024) {
      this.#expiries = new MinHeap<number>()
      for (const [leased, lease] of this.#leases) this.#expiries.push(lease.deadline, leased)
    }
  }

  /** Leases past their deadline become retries, due now. */
  #expire(now: number): void {
    while (this.#expiries.peekKey() <= now) {
      const deadline = this.#expiries.peekKey()
      const offset = this.#expiries.pop()!
      const lease = this.#leases.get(offset)
      // Stale heap entries (acked, or extended by inProgress) are skipped.
      if (!lease || lease.deadline !== deadline) continue
      this.#leases.delete(offset)
      this.#failures.set(offset, 'ack deadline passed')
      this.#retries.push(now, offset)
    }
  }

  /** Retention may have deleted messages below the floor: nothing to deliver there. */
  #skipDeleted(): void {
    const start = this.#log.startOffset
    if (this.state.ackFloor < start) this.state.skipTo(start)
    if (this.#cursor < start) this.#cursor = start
  }

  /** One timer for the group: fires at the next lease deadline or retry, to wake fetches. */
  #schedule(): void {
    if (this.#waiters.size === 0 || this.#closed) return
    const at = Math.min(this.#expiries.peekKey(), this.#retries.peekKey())
    if (at >= this.#timerAt || at === Number.POSITIVE_INFINITY) return
    clearTimeout(this.#timer)
    this.#timerAt = at
    this.#timer = setTimeout(
      () => {
        this.#timerAt = Number.POSITIVE_INFINITY
        this.#wake()
      },
      Math.max(0, at - Date.now()),
    )
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake()
  }
}
