import { QueueError } from '../errors.ts'
import type { Consumer, ConsumerOptions, QueueMessage } from '../queue.ts'
import type { RemoteConnection } from './remote-connection.ts'

/** A consumer of `piper queue serve`: each call is a request; acks of one turn travel together. */
export class RemoteConsumer implements Consumer {
  readonly id: string
  readonly topic: string
  readonly group: string
  readonly options: ConsumerOptions | undefined
  /** The id the server knows this consumer by now (a new one after the server restarted). */
  serverId: string
  readonly #connection: RemoteConnection
  readonly #onClose: () => void
  #acks: number[] = []
  #ackFlush: Promise<void> | undefined
  #closed = false

  constructor(
    connection: RemoteConnection,
    init: { id: string; topic: string; group: string; options?: ConsumerOptions },
    onClose: () => void,
  ) {
    this.#connection = connection
    this.id = init.id
    this.serverId = init.id
    this.topic = init.topic
    this.group = init.group
    this.options = init.options
    this.#onClose = onClose
  }

  async fetch(max: number, waitMs: number): Promise<QueueMessage[]> {
    if (this.#closed) throw new QueueError('E_QUEUE_CLOSED', 'the consumer is closed')
    const { head, payloads } = await this.#connection.request(
      () => ({ head: { op: 'fetch', consumerId: this.serverId, max, waitMs } }),
      { waitMs },
    )
    const metas = head.messages as Omit<QueueMessage, 'payload'>[]
    return metas.map((meta, i) => ({ ...meta, payload: payloads[i]! }))
  }

  ack(message: QueueMessage): Promise<void> {
    this.#acks.push(message.offset)
    this.#ackFlush ??= new Promise((resolve) => setImmediate(resolve)).then(() => {
      const offsets = this.#acks
      this.#acks = []
      this.#ackFlush = undefined
      return this.#call('ack', { offsets })
    })
    return this.#ackFlush
  }

  nack(message: QueueMessage, delayMs?: number): Promise<void> {
    return this.#call('nack', { offset: message.offset, delayMs })
  }

  inProgress(message: QueueMessage): Promise<void> {
    return this.#call('inProgress', { offsets: [message.offset] })
  }

  term(message: QueueMessage, reason: string): Promise<void> {
    return this.#call('term', { offset: message.offset, reason })
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#onClose()
    // With no server to tell, there is nothing to wait for: its session expires on its own
    // and the leases this consumer held run out.
    if (!this.#connection.connected) return
    await this.#ackFlush?.catch(() => {})
    await this.#call('closeConsumer', {}).catch(() => {})
  }

  async #call(op: string, fields: Record<string, unknown>): Promise<void> {
    await this.#connection.request(() => ({
      head: { op, consumerId: this.serverId, topic: this.topic, ...fields },
    }))
  }
}
