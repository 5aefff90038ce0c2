import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { describe, it, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Consumer, DLQ_HEADERS, type Queue, type QueueMessage } from '../../src/queue/index.ts'

/** A place queues can be opened on: every `open` is a new, started client of the same store. */
export interface QueueBacking {
  open: () => Promise<Queue>
  /** Frees what the backing holds (folders, servers). */
  dispose?: () => Promise<void>
}

export interface QueueContractOptions {
  /** A fresh backing, or undefined when its server is absent (the test was skipped). */
  create: (t: TestContext) => Promise<QueueBacking | undefined>
}

const text = (s: string): Uint8Array => Buffer.from(s)
const str = (m: QueueMessage): string => Buffer.from(m.payload).toString()

/** Fetches until `count` messages arrived or `ms` passed. */
async function fetchAll(consumer: Consumer, count: number, ms = 5000): Promise<QueueMessage[]> {
  const out: QueueMessage[] = []
  const until = Date.now() + ms
  while (out.length < count && Date.now() < until) {
    out.push(...(await consumer.fetch(count - out.length, Math.min(500, until - Date.now()))))
  }
  return out
}

/** The behaviour every `Queue` adapter must have: embedded, remote and NATS JetStream alike. */
export function runQueueContract(name: string, options: QueueContractOptions): void {
  describe(`Queue contract: ${name}`, () => {
    async function withQueue(
      t: TestContext,
      fn: (queue: Queue, topic: string, backing: QueueBacking) => Promise<void>,
    ): Promise<void> {
      const backing = await options.create(t)
      if (!backing) return
      const queue = await backing.open()
      // Unique per test, so adapters on a shared server never see another test's messages.
      const topic = `contract.t${randomUUID().slice(0, 8)}`
      try {
        await fn(queue, topic, backing)
      } finally {
        await queue.close()
        await queue.close() // idempotent
        await backing.dispose?.()
      }
    }

    it('publishes in order and delivers payloads and headers intact', (t) =>
      withQueue(t, async (queue, topic) => {
        const payloads = [text('one'), randomBytes(70_000), new Uint8Array(0), text('four')]
        const offsets: number[] = []
        for (const [i, p] of payloads.entries()) {
          offsets.push(await queue.publish(topic, p, { headers: { n: String(i) } }))
        }
        for (let i = 1; i < offsets.length; i++) assert.ok(offsets[i]! > offsets[i - 1]!)
        const consumer = await queue.consumer(topic, 'g')
        const got = await fetchAll(consumer, 4)
        assert.deepEqual(
          got.map((m) => m.offset),
          offsets,
        )
        for (const [i, m] of got.entries()) {
          assert.deepEqual(Buffer.from(m.payload), Buffer.from(payloads[i]!))
          assert.equal(m.headers.n, String(i))
          assert.equal(m.deliveries, 1)
          assert.equal(m.topic, topic)
          assert.ok(Math.abs(m.timestamp - Date.now()) < 60_000)
          await consumer.ack(m)
        }
      }))

    it('concurrent publishes each get their own offset', (t) =>
      withQueue(t, async (queue, topic) => {
        const offsets = await Promise.all(
          Array.from({ length: 200 }, (_, i) => queue.publish(topic, text(`m${i}`))),
        )
        assert.equal(new Set(offsets).size, 200)
        const consumer = await queue.consumer(topic, 'g')
        const got = await fetchAll(consumer, 200)
        assert.deepEqual(got.map(str).sort(), Array.from({ length: 200 }, (_, i) => `m${i}`).sort())
      }))

    it('ensureTopic with options, many at once (a cluster of processes starting together), sets them without error', (t) =>
      withQueue(t, async (queue, topic) => {
        const options = { deleteAcked: false, maxAgeMs: 3_600_000 }
        await Promise.all(Array.from({ length: 12 }, () => queue.ensureTopic(topic, options)))
        await queue.publish(topic, text('kept'))
        const consumer = await queue.consumer(topic, 'g')
        assert.deepEqual((await fetchAll(consumer, 1)).map(str), ['kept'])
      }))

    it('every group sees every message; consumers in a group share them', (t) =>
      withQueue(t, async (queue, topic) => {
        for (let i = 0; i < 20; i++) await queue.publish(topic, text(`m${i}`))
        const a1 = await queue.consumer(topic, 'a')
        const a2 = await queue.consumer(topic, 'a')
        const b = await queue.consumer(topic, 'b')
        assert.notEqual(a1.id, a2.id)
        const first = await fetchAll(a1, 7)
        const second = await fetchAll(a2, 13)
        const seenA = [...first, ...second].map(str)
        assert.equal(seenA.length, 20)
        assert.equal(new Set(seenA).size, 20, 'no message went to both consumers of a group')
        const seenB = (await fetchAll(b, 20)).map(str)
        assert.equal(new Set(seenB).size, 20)
      }))

    it('a fetch waits for a message published while it waits', (t) =>
      withQueue(t, async (queue, topic) => {
        const consumer = await queue.consumer(topic, 'g')
        assert.deepEqual(await consumer.fetch(1, 0), [])
        const fetching = consumer.fetch(1, 10_000)
        await sleep(100)
        await queue.publish(topic, text('late'))
        const got = await fetching
        assert.deepEqual(got.map(str), ['late'])
      }))

    it('an acked message is not delivered again, also after the ack deadline', (t) =>
      withQueue(t, async (queue, topic) => {
        await queue.publish(topic, text('x'))
        const consumer = await queue.consumer(topic, 'g', { ackWaitMs: 300 })
        const [m] = await fetchAll(consumer, 1)
        await consumer.ack(m!)
        await consumer.ack(m!) // twice is harmless
        await sleep(600)
        assert.deepEqual(await consumer.fetch(1, 300), [])
      }))

    it('a message not acked in time goes to another consumer, counting deliveries', (t) =>
      withQueue(t, async (queue, topic) => {
        await queue.publish(topic, text('x'))
        const slow = await queue.consumer(topic, 'g', { ackWaitMs: 400 })
        const other = await queue.consumer(topic, 'g')
        const [first] = await fetchAll(slow, 1)
        assert.equal(first!.deliveries, 1)
        assert.deepEqual(await other.fetch(1, 100), [], 'leased: not delivered twice at once')
        const [again] = await fetchAll(other, 1, 5000)
        assert.ok(again, 'redelivered after the ack deadline')
        assert.equal(again.offset, first!.offset)
        assert.equal(again.deliveries, 2)
        await other.ack(again)
      }))

    it('inProgress extends the lease', (t) =>
      withQueue(t, async (queue, topic) => {
        await queue.publish(topic, text('x'))
        const worker = await queue.consumer(topic, 'g', { ackWaitMs: 1000 })
        const other = await queue.consumer(topic, 'g')
        const [m] = await fetchAll(worker, 1)
        for (let i = 0; i < 4; i++) {
          await sleep(500)
          await worker.inProgress(m!)
        }
        // 2 s after delivery, twice the ack wait: still leased to `worker`.
        assert.deepEqual(await other.fetch(1, 200), [])
        await worker.ack(m!)
      }))

    it('nack redelivers after the delay it names', (t) =>
      withQueue(t, async (queue, topic) => {
        await queue.publish(topic, text('x'))
        const consumer = await queue.consumer(topic, 'g')
        const [m] = await fetchAll(consumer, 1)
        await consumer.nack(m!, 0)
        const [again] = await fetchAll(consumer, 1)
        assert.equal(again!.deliveries, 2)
        await consumer.nack(again!, 1500)
        assert.deepEqual(await consumer.fetch(1, 300), [], 'not before the delay')
        const [third] = await fetchAll(consumer, 1, 5000)
        assert.equal(third!.deliveries, 3)
        await consumer.ack(third!)
      }))

    it('after maxDeliver deliveries the message moves to <topic>.dlq with the reason', (t) =>
      withQueue(t, async (queue, topic) => {
        const offset = await queue.publish(topic, text('poison'), { headers: { trace: 't1' } })
        await queue.publish(topic, text('fine'))
        const consumer = await queue.consumer(topic, 'g', { maxDeliver: 2, ackWaitMs: 5000 })
        const seen: string[] = []
        for (let round = 0; round < 4; round++) {
          for (const m of await consumer.fetch(10, 300)) {
            seen.push(`${str(m)}#${m.deliveries}`)
            if (str(m) === 'fine') await consumer.ack(m)
            else await consumer.nack(m, 0)
          }
        }
        assert.deepEqual(seen.sort(), ['fine#1', 'poison#1', 'poison#2'])
        const dead = await queue.consumer(`${topic}.dlq`, 'inspect')
        const [letter] = await fetchAll(dead, 1)
        assert.ok(letter, 'dead-lettered')
        assert.equal(str(letter), 'poison')
        assert.equal(letter.headers.trace, 't1')
        assert.equal(letter.headers[DLQ_HEADERS.deliveries], '2')
        assert.equal(letter.headers[DLQ_HEADERS.offset], String(offset))
        assert.equal(letter.headers[DLQ_HEADERS.group], 'g')
        assert.match(letter.headers[DLQ_HEADERS.reason]!, /nack/)
      }))

    it('a message whose lease keeps running out is dead-lettered too', (t) =>
      withQueue(t, async (queue, topic) => {
        await queue.publish(topic, text('stuck'))
        const consumer = await queue.consumer(topic, 'g', { maxDeliver: 2, ackWaitMs: 300 })
        const deliveries: number[] = []
        const until = Date.now() + 4000
        while (Date.now() < until && deliveries.length < 3) {
          for (const m of await consumer.fetch(1, 300)) deliveries.push(m.deliveries)
        }
        assert.deepEqual(deliveries, [1, 2])
        const [letter] = await fetchAll(await queue.consumer(`${topic}.dlq`, 'inspect'), 1)
        assert.match(letter!.headers[DLQ_HEADERS.reason]!, /deadline/)
      }))

    it('term stops redelivery and dead-letters with the reason given', (t) =>
      withQueue(t, async (queue, topic) => {
        await queue.publish(topic, text('bad input'))
        const consumer = await queue.consumer(topic, 'g', { ackWaitMs: 300 })
        const [m] = await fetchAll(consumer, 1)
        await consumer.term(m!, 'E_CORRUPT_DATA at byte 7')
        await sleep(500)
        assert.deepEqual(await consumer.fetch(1, 200), [])
        const [letter] = await fetchAll(await queue.consumer(`${topic}.dlq`, 'inspect'), 1)
        assert.match(letter!.headers[DLQ_HEADERS.reason]!, /E_CORRUPT_DATA at byte 7/)
      }))

    it('a repeated idempotency key returns the first offset and stores one message', (t) =>
      withQueue(t, async (queue, topic) => {
        const key = randomUUID()
        const first = await queue.publish(topic, text('a'), { idempotencyKey: key })
        const again = await queue.publish(topic, text('a'), { idempotencyKey: key })
        const racing = await Promise.all([
          queue.publish(topic, text('b'), { idempotencyKey: `${key}-2` }),
          queue.publish(topic, text('b'), { idempotencyKey: `${key}-2` }),
        ])
        assert.equal(again, first)
        assert.equal(racing[0], racing[1])
        const consumer = await queue.consumer(topic, 'g')
        const got = await fetchAll(consumer, 3, 1500)
        assert.deepEqual(got.map(str), ['a', 'b'])
      }))

    it('a topic schema refuses payloads that do not match, naming the field', (t) =>
      withQueue(t, async (queue, topic) => {
        await queue.ensureTopic(topic, {
          schema: {
            type: 'object',
            required: ['input'],
            properties: { input: { type: 'string' }, level: { type: 'integer' } },
          },
        })
        await queue.publish(topic, text('{"input":"a.txt","level":3}'))
        await assert.rejects(queue.publish(topic, text('{"input":"a","level":"x"}')), {
          code: 'E_SCHEMA',
          message: /\/level/,
        })
        await assert.rejects(queue.publish(topic, text('{"level":1}')), {
          code: 'E_SCHEMA',
          message: /\/input is required/,
        })
        await assert.rejects(queue.publish(topic, text('not json')), { code: 'E_SCHEMA' })
        const consumer = await queue.consumer(topic, 'g')
        assert.equal((await fetchAll(consumer, 4, 1000)).length, 1)
      }))

    it('bad names and arguments are clear errors', (t) =>
      withQueue(t, async (queue, topic) => {
        for (const bad of ['', 'Upper', '../x', 'a..b', 'a b', 'x'.repeat(201)]) {
          await assert.rejects(queue.publish(bad, text('x')), { code: 'E_TOPIC_NAME' })
        }
        await assert.rejects(queue.consumer(topic, 'no spaces'), { code: 'E_GROUP_NAME' })
        const consumer = await queue.consumer(topic, 'g')
        await assert.rejects(consumer.fetch(0, 0), { code: 'E_QUEUE_ARGUMENT' })
      }))

    it('reports lag and pending per group', (t) =>
      withQueue(t, async (queue, topic) => {
        for (let i = 0; i < 5; i++) await queue.publish(topic, text(`m${i}`))
        const consumer = await queue.consumer(topic, 'g')
        const got = await fetchAll(consumer, 3)
        await consumer.ack(got[0]!)
        const [stats] = await queue.stats(topic)
        assert.equal(stats!.topic, topic)
        assert.equal(stats!.messages, 5)
        assert.ok(stats!.bytes > 0)
        const group = stats!.groups.find((g) => g.group === 'g')
        assert.equal(group?.lag, 4)
        assert.equal(group?.pending, 2)
        assert.ok((await queue.stats()).some((s) => s.topic === topic))
      }))

    it('after a restart nothing acked comes back and nothing unacked is skipped', (t) =>
      withQueue(t, async (queue, topic, backing) => {
        for (let i = 0; i < 10; i++) await queue.publish(topic, text(`m${i}`))
        const consumer = await queue.consumer(topic, 'g', { ackWaitMs: 500 })
        const got = await fetchAll(consumer, 10)
        for (const m of got) if (Number(str(m).slice(1)) % 2 === 0) await consumer.ack(m)
        await queue.close()
        const reopened = await backing.open()
        try {
          const again = await reopened.consumer(topic, 'g', { ackWaitMs: 500 })
          const redelivered = await fetchAll(again, 5, 5000)
          assert.deepEqual(redelivered.map(str).sort(), ['m1', 'm3', 'm5', 'm7', 'm9'])
          for (const m of redelivered) await again.ack(m)
          assert.deepEqual(await again.fetch(5, 800), [])
        } finally {
          await reopened.close()
        }
      }))
  })
}
