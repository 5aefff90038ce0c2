import { parseFsyncPolicy } from '../../log/index.ts'
import { QueueError } from '../errors.ts'
import type { ConsumerOptions, Queue, QueueMessage, TopicOptions } from '../queue.ts'
import type { Frame, FrameHead } from './protocol.ts'
import type { Session } from './session.ts'

export interface Reply {
  head: Omit<FrameHead, 'op' | 'id'>
  payloads?: Uint8Array[]
}

type Handler = (queue: Queue, session: Session, frame: Frame) => Promise<Reply>

function field<T>(head: FrameHead, name: string, type: string): T {
  const value = head[name]
  const ok = type === 'array' ? Array.isArray(value) : typeof value === type
  if (!ok) throw new QueueError('E_QUEUE_PROTOCOL', `"${head.op}" needs "${name}" (${type})`)
  return value as T
}

function optional<T>(head: FrameHead, name: string, type: string): T | undefined {
  return head[name] === undefined ? undefined : field<T>(head, name, type)
}

function consumerOf(session: Session, head: FrameHead) {
  const id = field<string>(head, 'consumerId', 'string')
  const consumer = session.consumers.get(id)
  if (!consumer) {
    throw new QueueError(
      'E_QUEUE_ARGUMENT',
      `no consumer ${id} in this session (closed or expired)`,
    )
  }
  return consumer
}

/**
 * The message an ack names. The server's queue is the embedded one, which identifies messages
 * by offset and checks leases itself, so the server keeps no table of deliveries.
 */
function messageAt(head: FrameHead, offset: unknown): QueueMessage {
  if (!Number.isSafeInteger(offset)) {
    throw new QueueError('E_QUEUE_PROTOCOL', `"${head.op}" needs integer offsets`)
  }
  const topic = field<string>(head, 'topic', 'string')
  return {
    topic,
    offset: offset as number,
    timestamp: 0,
    headers: {},
    payload: new Uint8Array(0),
    deliveries: 0,
  }
}

/** The server's side of each operation of docs/queue-protocol.md. */
export const HANDLERS: Record<string, Handler> = {
  async publish(queue, _session, { head, payloads }) {
    const topic = field<string>(head, 'topic', 'string')
    const messages = field<{ headers?: Record<string, string>; key?: string; seq?: number }[]>(
      head,
      'messages',
      'array',
    )
    const producer = optional<string>(head, 'producer', 'string')
    if (messages.length !== payloads.length) {
      throw new QueueError('E_QUEUE_PROTOCOL', 'publish: one payload per message')
    }
    const settled = await Promise.allSettled(
      messages.map((m, i) =>
        queue.publish(topic, payloads[i]!, {
          headers: m.headers,
          idempotencyKey: m.key,
          ...(producer === undefined || m.seq === undefined
            ? {}
            : { producer: { id: producer, sequence: m.seq } }),
        }),
      ),
    )
    return {
      head: {
        results: settled.map((r) => (r.status === 'fulfilled' ? r.value : errorBody(r.reason))),
      },
    }
  },

  async ensureTopic(queue, _session, { head }) {
    const options = (optional<TopicOptions & { fsync?: string }>(head, 'options', 'object') ??
      {}) as TopicOptions & {
      fsync?: unknown
    }
    const { fsync, ...rest } = options
    await queue.ensureTopic(field(head, 'topic', 'string'), {
      ...rest,
      ...(typeof fsync === 'string' ? { fsync: parseFsyncPolicy(fsync) } : {}),
    })
    return { head: {} }
  },

  async consumer(queue, session, { head }) {
    const options = optional<ConsumerOptions>(head, 'options', 'object')
    const consumer = await queue.consumer(
      field(head, 'topic', 'string'),
      field(head, 'group', 'string'),
      options,
    )
    session.consumers.set(consumer.id, consumer)
    return { head: { consumerId: consumer.id } }
  },

  async fetch(_queue, session, { head }) {
    const consumer = consumerOf(session, head)
    const messages = await consumer.fetch(
      field(head, 'max', 'number'),
      field(head, 'waitMs', 'number'),
    )
    return {
      head: {
        messages: messages.map((m) => ({
          topic: m.topic,
          offset: m.offset,
          timestamp: m.timestamp,
          headers: m.headers,
          deliveries: m.deliveries,
        })),
      },
      payloads: messages.map((m) => m.payload),
    }
  },

  async ack(_queue, session, { head }) {
    const consumer = consumerOf(session, head)
    const offsets = field<unknown[]>(head, 'offsets', 'array')
    await Promise.all(offsets.map((o) => consumer.ack(messageAt(head, o))))
    return { head: {} }
  },

  async nack(_queue, session, { head }) {
    const consumer = consumerOf(session, head)
    await consumer.nack(messageAt(head, head.offset), optional<number>(head, 'delayMs', 'number'))
    return { head: {} }
  },

  async inProgress(_queue, session, { head }) {
    const consumer = consumerOf(session, head)
    const offsets = field<unknown[]>(head, 'offsets', 'array')
    await Promise.all(offsets.map((o) => consumer.inProgress(messageAt(head, o))))
    return { head: {} }
  },

  async term(_queue, session, { head }) {
    const consumer = consumerOf(session, head)
    await consumer.term(messageAt(head, head.offset), field(head, 'reason', 'string'))
    return { head: {} }
  },

  async closeConsumer(_queue, session, { head }) {
    const consumer = consumerOf(session, head)
    session.consumers.delete(consumer.id)
    await consumer.close()
    return { head: {} }
  },

  async stats(queue, _session, { head }) {
    return { head: { stats: await queue.stats(optional(head, 'topic', 'string')) } }
  },
}

/** An error as it travels: its stable code and message. */
export function errorBody(error: unknown): { code: string; message: string } {
  const code = (error as { code?: unknown }).code
  return {
    code: typeof code === 'string' && code.startsWith('E_') ? code : 'E_INTERNAL',
    message: (error as Error).message ?? String(error),
  }
}
