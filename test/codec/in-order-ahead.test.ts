import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { inOrderAhead } from '../../src/codec/in-order-ahead.ts'

/** Resolves after `n` turns of the microtask queue: tasks that finish out of order, no timers. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve()
}

describe('inOrderAhead', () => {
  it('yields every result in source order, never holding more than `limit` tasks besides the result being handed over', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(20), { maxLength: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.nat(20), { minLength: 1, maxLength: 40 }),
        async (delays, limit, consumerDelays) => {
          let started = 0
          let taken = 0
          let most = 0
          const results: number[] = []
          const ahead = inOrderAhead(
            delays.map((delay, i) => ({ delay, i })),
            async ({ delay, i }) => {
              started++
              most = Math.max(most, started - taken)
              await turns(delay)
              return i * 2
            },
            limit,
          )
          for await (const result of ahead) {
            taken++
            results.push(result)
            await turns(consumerDelays[results.length % consumerDelays.length]!)
          }
          assert.deepEqual(
            results,
            delays.map((_, i) => i * 2),
          )
          // The last one: a result yielded but not yet seen by the consumer's loop.
          assert.ok(most <= limit + 1, `${most} tasks untaken with a limit of ${limit}`)
        },
      ),
    )
  })

  it('pulls the source while the consumer is busy with a result', async () => {
    const pulled: number[] = []
    async function* source() {
      for (let i = 0; i < 4; i++) {
        pulled.push(i)
        yield i
      }
    }
    const ahead = inOrderAhead(source(), async (i) => i, 3)
    const first = await ahead.next()
    assert.equal(first.value, 0)
    // The consumer has not asked for the next result, yet the source went on.
    await turns(20)
    assert.deepEqual(pulled, [0, 1, 2, 3])
    await ahead.return(undefined)
  })

  it('raises a failed task in its turn, after the results before it', async () => {
    const results: number[] = []
    await assert.rejects(async () => {
      for await (const r of inOrderAhead(
        [1, 2, 3, 4],
        async (i) => {
          if (i === 3) throw new Error('three')
          await turns(5)
          return i
        },
        4,
      ))
        results.push(r)
    }, /three/)
    assert.deepEqual(results, [1, 2])
  })

  it('raises a failing source after every task started before it', async () => {
    async function* source() {
      yield 1
      yield 2
      throw new Error('source broke')
    }
    const results: number[] = []
    await assert.rejects(async () => {
      for await (const r of inOrderAhead(source(), async (i) => i, 2)) results.push(r)
    }, /source broke/)
    assert.deepEqual(results, [1, 2])
  })

  it('a consumer that stops early stops the source and closes it', async () => {
    let pulled = 0
    let closed = false
    async function* source() {
      try {
        for (let i = 0; ; i++) {
          pulled++
          yield i
        }
      } finally {
        closed = true
      }
    }
    for await (const r of inOrderAhead(source(), async (i) => i, 2)) if (r === 3) break
    assert.equal(closed, true)
    assert.ok(pulled <= 3 + 2 + 1, `pulled ${pulled}`)
  })
})
