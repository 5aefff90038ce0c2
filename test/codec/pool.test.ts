import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
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

test('encodeHashed gives the member with the sha256 of the chunk it read and of itself', async (t) => {
  const pool = new CodecPool(1)
  t.after(() => pool.close())
  const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
  for (const input of [mixed(300_000, 24), new Uint8Array(0)]) {
    const expected = encodeChunk(input)
    const inputSha256 = sha256(input)
    const { member, memberSha256, ...hashes } = await pool.encodeHashed(
      new Uint8Array(input),
      undefined,
      { transfer: true },
    )
    assert.deepEqual(member, expected)
    assert.deepEqual(hashes, { inputSha256 })
    assert.equal(memberSha256, sha256(expected))
    pool.recycle(member) // its memory serves a later result
  }
  const again = await pool.encodeHashed(mixed(1000, 25))
  assert.equal(again.memberSha256, sha256(again.member))
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

test('a pool that starts its threads at its first task works as one started at once', async () => {
  const unused = new CodecPool(2, { startThreads: 'at-first-task' })
  await unused.close() // nothing was started: nothing to wait for
  await assert.rejects(unused.encode(new Uint8Array(10)), /codec pool closed/)
  const pool = new CodecPool(2, { startThreads: 'at-first-task' })
  try {
    const input = mixed(200_000, 26)
    const members = await Promise.all([0, 1, 2].map(() => pool.encode(input)))
    for (const member of members) assert.deepEqual(member, encodeChunk(input))
  } finally {
    await pool.close()
  }
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

test('a result given back is written over by a later one, which shows none of its bytes', async (t) => {
  const pool = new CodecPool(1)
  t.after(() => pool.close())
  const large = mixed(300_000, 40)
  const small = mixed(50_000, 41)
  const first = await pool.decode(encodeChunk(large))
  assert.deepEqual(first, large)
  pool.recycle(first)
  // The next task carries the memory to the worker: the caller's view of it is gone.
  const second = await pool.decode(encodeChunk(small))
  assert.equal(first.byteLength, 0, 'the given-back buffer went to the worker')
  assert.deepEqual(second, small)
  const past = new Uint8Array(second.buffer, second.byteOffset + second.byteLength)
  assert.ok(past.length > 0 && past.every((b) => b === 0), 'no stale bytes past the result')
  // Encoding into the memory of a decoded result gives the same member as fresh memory.
  pool.recycle(second)
  assert.deepEqual(await pool.encode(large), encodeChunk(large))
})

test('recycle leaves alone what the pool did not produce', async (t) => {
  const pool = new CodecPool(1)
  t.after(() => pool.close())
  const input = mixed(100_000, 42)
  const member = encodeChunk(input)
  const own = new Uint8Array(input)
  pool.recycle(own)
  pool.recycle(member)
  assert.deepEqual(await pool.decode(member), input)
  assert.equal(own.byteLength, input.length, 'still the caller’s')
  assert.equal(member.byteLength > 0, true)
})

test('a buffer borrowed from the pool goes to a worker and serves again', async (t) => {
  const pool = new CodecPool(1)
  t.after(() => pool.close())
  for (let i = 0; i < 4; i++) {
    const input = mixed(200_000 + i, 43 + i)
    const member = encodeChunk(input)
    const lent = pool.borrow(member.length)
    lent.set(member)
    assert.deepEqual(await pool.decode(lent, {}, { transfer: true }), input)
    assert.equal(lent.byteLength, 0, 'handed over without a copy')
  }
})

test('a member that fails while the stream waits on its source fails the stream, not the process', async (t) => {
  const pool = new CodecPool(1)
  t.after(() => pool.close())
  const corrupt = Buffer.from(encodeChunk(mixed(50_000, 44)))
  corrupt[corrupt.length - 8]! ^= 1
  // The next member comes late, as from a disk or stdin: the worker's answer arrives first.
  async function* slowSource(): AsyncGenerator<Uint8Array> {
    yield corrupt
    await new Promise((resolve) => setTimeout(resolve, 300))
    yield encodeChunk(mixed(50_000, 45))
  }
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  t.after(() => process.off('unhandledRejection', onUnhandled))
  await assert.rejects(collect(decompress(slowSource(), { pool })), { code: 'E_CHECKSUM' })
  assert.deepEqual(unhandled, [])
})
