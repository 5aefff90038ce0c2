import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CodecError, CodecPool, compress, decompress, encodeChunk } from '../../src/codec/index.ts'
import { collect } from '../helpers/collect.ts'
import { mixed } from './data.ts'

test('the pool produces the same bytes as the calling thread, in order', async (t) => {
  const pool = new CodecPool(2)
  t.after(() => pool.close())
  const input = mixed(600_000, 21)
  const inline = await collect(compress([input], { chunkSize: 50_000 }))
  const pooled = await collect(compress([input], { chunkSize: 50_000, pool }))
  assert.ok(pooled.equals(inline))
  assert.ok((await collect(decompress([pooled], { pool }))).equals(input))
})

test('a caller-owned buffer is neither detached nor changed by the pool', async (t) => {
  const pool = new CodecPool(1)
  t.after(() => pool.close())
  const input = mixed(10_000, 22)
  const copy = Buffer.from(input)
  const member = await pool.encode(input.subarray(100, 5000))
  assert.equal(input.byteLength, 10_000)
  assert.ok(copy.equals(input))
  assert.deepEqual(await pool.decode(member), input.subarray(100, 5000))
})

test('a buffer handed over crosses without a copy; a view of part of one is still copied', async (t) => {
  const pool = new CodecPool(1)
  t.after(() => pool.close())
  const input = mixed(10_000, 23)
  const expected = encodeChunk(input)
  const whole = new Uint8Array(input)
  const member = await pool.encode(whole, undefined, { transfer: true })
  assert.equal(whole.byteLength, 0, 'detached: it went to the worker')
  assert.deepEqual(member, expected)
  const part = new Uint8Array(input)
  await pool.encode(part.subarray(1), undefined, { transfer: true })
  assert.equal(part.byteLength, 10_000, 'a partial view is copied, so the rest stays usable')
  const decoded = await pool.decode(new Uint8Array(member), {}, { transfer: true })
  assert.deepEqual(decoded, input)
})

test('a decode error in a worker comes back as a CodecError with its code and place', async (t) => {
  const pool = new CodecPool(1)
  t.after(() => pool.close())
  const member = Buffer.from(encodeChunk(mixed(10_000, 23)))
  member[member.length - 8]! ^= 1
  await assert.rejects(pool.decode(member, { member: 3, offset: 1000 }), (error: unknown) => {
    assert.ok(error instanceof CodecError)
    assert.equal(error.code, 'E_CHECKSUM')
    assert.equal(error.member, 3)
    return true
  })
})

test('close is idempotent and fails later tasks clearly', async () => {
  const pool = new CodecPool(1)
  await Promise.all([pool.close(), pool.close()])
  await assert.rejects(pool.encode(new Uint8Array(10)), /codec pool closed/)
})

test('compressing a stream keeps a bounded number of chunks in flight', async (t) => {
  const pool = new CodecPool(2)
  t.after(() => pool.close())
  let produced = 0
  let consumed = 0
  let maxAhead = 0
  const chunkSize = 10_000
  async function* source(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 100; i++) {
      produced += chunkSize
      maxAhead = Math.max(maxAhead, produced - consumed)
      yield mixed(chunkSize, i)
    }
  }
  for await (const _member of compress(source(), { chunkSize, pool })) consumed += chunkSize
  // Three chunks per thread in flight, plus the one being cut: memory does not grow with input.
  assert.ok(maxAhead <= (3 * 2 + 2) * chunkSize, `read ${maxAhead} bytes ahead`)
})

test('close lets the tasks already on a worker finish and fails the ones still waiting', async () => {
  const pool = new CodecPool(1)
  const members = Array.from({ length: 6 }, (_, i) => encodeChunk(mixed(200_000, 30 + i)))
  const tasks = members.map((member) => pool.decode(member))
  const settled = Promise.allSettled(tasks)
  await pool.close()
  const results = await settled
  const done = results.filter((r) => r.status === 'fulfilled').length
  // One worker holds two tasks (one running, one ready); the other four never left the queue.
  assert.equal(done, 2)
  for (const r of results.slice(2)) {
    assert.equal(r.status, 'rejected')
    assert.match(String((r as PromiseRejectedResult).reason), /codec pool closed/)
  }
})
