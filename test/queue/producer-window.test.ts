import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { EmbeddedQueue } from '../../src/queue/index.ts'
import { PRODUCER_WINDOW } from '../../src/queue/producer-window.ts'
import { createLogger } from '../../src/telemetry/index.ts'

const logger = createLogger({ level: 'silent' })
const dirs: string[] = []
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

const as = (id: string, sequence: number) => ({ producer: { id, sequence } })

it('a producer sequence seen before returns its first offset, also after a restart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'piper-producer-'))
  dirs.push(dir)
  let queue = new EmbeddedQueue({ dir, logger })
  await queue.start()
  const first = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      queue.publish('p.t', Buffer.from(`m${i}`), as('producerA', i)),
    ),
  )
  assert.deepEqual(first, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  // The same numbers again, while the first ones may still be on their way: the same offsets.
  assert.equal(await queue.publish('p.t', Buffer.from('m3'), as('producerA', 3)), 3)
  // Another producer's numbers are its own.
  assert.equal(await queue.publish('p.t', Buffer.from('b0'), as('producerB', 0)), 10)
  await queue.close()

  queue = new EmbeddedQueue({ dir, logger })
  await queue.start()
  try {
    assert.equal(await queue.publish('p.t', Buffer.from('m7'), as('producerA', 7)), 7)
    assert.equal(await queue.publish('p.t', Buffer.from('b0'), as('producerB', 0)), 10)
    assert.equal(await queue.publish('p.t', Buffer.from('m10'), as('producerA', 10)), 11)
    const stats = await queue.stats('p.t')
    assert.equal(stats[0]!.messages, 12, 'nothing stored twice')
  } finally {
    await queue.close()
  }
})

it('a failed publish is forgotten (a retry stores it); one older than the window is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'piper-producer-'))
  dirs.push(dir)
  const queue = new EmbeddedQueue({ dir, logger })
  await queue.start()
  try {
    await queue.ensureTopic('p.schema', {
      schema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
    })
    await assert.rejects(queue.publish('p.schema', Buffer.from('{}'), as('producerC', 0)), {
      code: 'E_SCHEMA',
    })
    assert.equal(await queue.publish('p.schema', Buffer.from('{"n":1}'), as('producerC', 0)), 0)
    await queue.publish('p.schema', Buffer.from('{"n":2}'), as('producerC', PRODUCER_WINDOW + 5))
    await assert.rejects(queue.publish('p.schema', Buffer.from('{"n":3}'), as('producerC', 1)), {
      code: 'E_QUEUE_ARGUMENT',
    })
    await assert.rejects(queue.publish('p.schema', Buffer.from('{"n":3}'), as('bad id', 1)), {
      code: 'E_QUEUE_ARGUMENT',
    })
  } finally {
    await queue.close()
  }
})
