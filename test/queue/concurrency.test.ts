import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { EmbeddedQueue, type Queue, QueueServer, RemoteQueue } from '../../src/queue/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'

const logger = createLogger({ level: 'silent' })
const PRODUCERS = 4
const PER_PRODUCER = 400
const CONSUMERS = 4

/** Many producers and consumers at once: each message delivered once, never to two at a time. */
async function hammer(queue: Queue, topic: string): Promise<void> {
  const holder = new Map<number, string>()
  const delivered = new Map<number, number>()
  let published = 0
  const producers = Array.from({ length: PRODUCERS }, async (_, p) => {
    for (let i = 0; i < PER_PRODUCER; i++) {
      await queue.publish(topic, Buffer.from(`${p}:${i}`))
      published++
    }
  })
  const total = PRODUCERS * PER_PRODUCER
  const consumers = Array.from({ length: CONSUMERS }, async () => {
    const consumer = await queue.consumer(topic, 'workers', { ackWaitMs: 60_000 })
    while (delivered.size < total) {
      const batch = await consumer.fetch(1 + Math.floor(Math.random() * 20), 200)
      for (const m of batch) {
        const other = holder.get(m.offset)
        assert.equal(other, undefined, `offset ${m.offset} held by ${other} and ${consumer.id}`)
        holder.set(m.offset, consumer.id)
        delivered.set(m.offset, (delivered.get(m.offset) ?? 0) + 1)
      }
      if (Math.random() < 0.3) await sleep(1)
      for (const m of batch) {
        holder.delete(m.offset)
        await consumer.ack(m)
      }
    }
    await consumer.close()
  })
  await Promise.all([...producers, ...consumers])
  assert.equal(published, total)
  assert.equal(delivered.size, total)
  assert.ok(
    [...delivered.values()].every((n) => n === 1),
    'no message delivered twice',
  )
  const [stats] = await queue.stats(topic)
  assert.equal(stats!.groups[0]!.lag, 0)
}

it('embedded: many producers and consumers at once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'piper-queue-conc-'))
  const queue = new EmbeddedQueue({ dir, logger })
  await queue.start()
  try {
    await hammer(queue, 'conc.embedded')
  } finally {
    await queue.close()
    await rm(dir, { recursive: true, force: true })
  }
})

it('remote: many producers and consumers at once, over several connections', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'piper-queue-conc-'))
  const served = new EmbeddedQueue({ dir, logger })
  await served.start()
  const server = new QueueServer({ queue: served, host: '127.0.0.1', port: 0, logger })
  await server.start()
  const clients = [0, 1].map(
    () => new RemoteQueue({ url: `piper://127.0.0.1:${server.port}`, logger }),
  )
  await Promise.all(clients.map((c) => c.start()))
  // Producers on one connection, consumers on another.
  const queue: Queue = {
    start: async () => {},
    ensureTopic: (t, o) => clients[0]!.ensureTopic(t, o),
    publish: (t, p, o) => clients[0]!.publish(t, p, o),
    consumer: (t, g, o) => clients[1]!.consumer(t, g, o),
    stats: (t) => clients[1]!.stats(t),
    close: async () => {},
  }
  try {
    await hammer(queue, 'conc.remote')
  } finally {
    for (const c of clients) await c.close()
    await server.close()
    await served.close()
    await rm(dir, { recursive: true, force: true })
  }
})
