/**
 * The systems the queue benchmark compares, behind one small interface: Piper's embedded queue
 * and `piper queue serve`, NATS JetStream, Redis Streams and BullMQ, each through its own
 * official client used the usual way.
 */
import { AckPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { Queue as BullQueue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { EmbeddedQueue, type Queue, RemoteQueue } from '../../src/queue/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'

const logger = createLogger({ level: 'silent' })

export interface Peer {
  /** Publishes one message; resolves once the system confirms it. */
  publish(payload: Uint8Array): Promise<unknown>
  /** A consumer in this process (fetch/read, then ack); resolves to its stop function. */
  consume(onMessage: (payload: Uint8Array) => void): Promise<() => Promise<void>>
  close(): Promise<void>
}

export type PeerKind = 'embedded' | 'serve' | 'nats' | 'redis-streams' | 'bullmq'

export interface PeerPlace {
  /** Folder for the embedded queue. */
  dir: string
  /** `piper://127.0.0.1:PORT` of the served queue. */
  serveUrl: string
  /** A consumer in another process joins what the producer's side created (and reset). */
  join?: boolean
}

export async function openPeer(kind: PeerKind, topic: string, place: PeerPlace): Promise<Peer> {
  if (kind === 'embedded' || kind === 'serve') {
    const queue: Queue =
      kind === 'embedded'
        ? new EmbeddedQueue({ dir: place.dir, logger })
        : new RemoteQueue({ url: place.serveUrl, logger })
    await queue.start()
    if (!place.join) await queue.ensureTopic(topic, { fsync: { kind: 'always' } })
    return piperPeer(queue, topic)
  }
  const fresh = !place.join
  if (kind === 'nats') return natsPeer(topic, fresh)
  if (kind === 'redis-streams') return redisStreamsPeer(topic, fresh)
  return bullPeer(topic, fresh)
}

function piperPeer(queue: Queue, topic: string): Peer {
  return {
    publish: (payload) => queue.publish(topic, payload),
    async consume(onMessage) {
      const consumer = await queue.consumer(topic, 'bench')
      let running = true
      // Acks travel while the next fetch waits, as NATS's consume() acks without waiting.
      const acking = new Set<Promise<unknown>>()
      let ackFailure: unknown
      const loop = (async () => {
        while (running) {
          if (ackFailure) throw ackFailure
          const batch = await consumer.fetch(256, 100)
          for (const m of batch) onMessage(m.payload)
          if (batch.length === 0) continue
          const acked = Promise.all(batch.map((m) => consumer.ack(m)))
          acking.add(acked)
          acked.then(
            () => acking.delete(acked),
            (error: unknown) => {
              acking.delete(acked)
              ackFailure ??= error
            },
          )
          if (acking.size >= 4) await Promise.race(acking).catch(() => {})
        }
        await Promise.all(acking)
        if (ackFailure) throw ackFailure
      })()
      return async () => {
        running = false
        await loop
        await consumer.close()
      }
    },
    close: () => queue.close(),
  }
}

async function natsPeer(topic: string, fresh: boolean): Promise<Peer> {
  const nc = await connect({ servers: '127.0.0.1:4222' })
  const jsm = await jetstreamManager(nc)
  const js = jetstream(nc)
  const stream = `bench_${topic.replaceAll('.', '_')}`
  if (fresh) {
    await jsm.streams.add({ name: stream, subjects: [`bench.${topic}`], storage: StorageType.File })
    await jsm.consumers.add(stream, { durable_name: 'bench', ack_policy: AckPolicy.Explicit })
  }
  return {
    publish: (payload) => js.publish(`bench.${topic}`, payload),
    async consume(onMessage) {
      const consumer = await js.consumers.get(stream, 'bench')
      const messages = await consumer.consume({ max_messages: 1000 })
      const loop = (async () => {
        for await (const m of messages) {
          onMessage(m.data)
          m.ack()
        }
      })()
      return async () => {
        await messages.close()
        await loop
      }
    },
    async close() {
      if (fresh) await jsm.streams.delete(stream).catch(() => {})
      await nc.close()
    },
  }
}

async function redisStreamsPeer(topic: string, fresh: boolean): Promise<Peer> {
  const key = `bench:${topic}`
  const redis = new Redis({ host: '127.0.0.1', port: 6379 })
  if (fresh) {
    await redis.del(key)
    await redis.xgroup('CREATE', key, 'bench', '0', 'MKSTREAM')
  }
  return {
    publish: (payload) => redis.xadd(key, '*', 'd', Buffer.from(payload)),
    async consume(onMessage) {
      const reader = new Redis({ host: '127.0.0.1', port: 6379 })
      const name = `c${Math.random()}`
      let running = true
      const loop = (async () => {
        while (running) {
          const reply = (await reader.xreadgroupBuffer(
            'GROUP',
            'bench',
            name,
            'COUNT',
            256,
            'BLOCK',
            100,
            'STREAMS',
            key,
            '>',
          )) as [Buffer, [Buffer, Buffer[]][]][] | null
          const entries = reply?.[0]?.[1] ?? []
          for (const [, fields] of entries) onMessage(fields[1]!)
          if (entries.length > 0) await reader.xack(key, 'bench', ...entries.map(([id]) => id))
        }
      })()
      return async () => {
        running = false
        await loop
        reader.disconnect()
      }
    },
    async close() {
      if (fresh) await redis.del(key)
      redis.disconnect()
    },
  }
}

async function bullPeer(topic: string, fresh: boolean): Promise<Peer> {
  const connection = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null }
  const name = `bench-${topic.replaceAll('.', '-')}`
  const queue = new BullQueue(name, { connection })
  if (fresh) await queue.obliterate({ force: true }).catch(() => {})
  return {
    publish: (payload) =>
      queue.add('m', { d: Buffer.from(payload).toString('latin1') }, { removeOnComplete: true }),
    async consume(onMessage) {
      const worker = new Worker(
        name,
        async (job) => {
          onMessage(Buffer.from(job.data.d as string, 'latin1'))
        },
        { connection, concurrency: 64, removeOnComplete: { count: 0 } },
      )
      await worker.waitUntilReady()
      return () => worker.close()
    },
    async close() {
      if (fresh) await queue.obliterate({ force: true }).catch(() => {})
      await queue.close()
    },
  }
}
