import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, it } from 'node:test'
import fc from 'fast-check'
import {
  CodecPool,
  cutChunks,
  histogram,
  INLINE_BYTES,
  ownedPieces,
} from '../../src/codec/index.ts'
import { analyzeChunk } from '../../src/files/index.ts'

const pool = new CodecPool(2)
after(() => pool.close())

async function* pieces(bytes: Uint8Array, cuts: number[]): AsyncIterable<Uint8Array> {
  let at = 0
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    yield bytes.subarray(at, Math.max(at, cut))
    at = Math.max(at, cut)
  }
  yield bytes.subarray(at)
}

it('property: chunks are exact slices however the input is cut', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 3000 }),
      fc.array(fc.nat({ max: 3000 }), { maxLength: 8 }),
      fc.integer({ min: 1, max: 700 }),
      async (bytes, cuts, chunkSize) => {
        let seen = 0
        const out: Uint8Array[] = []
        for await (const c of cutChunks(pieces(bytes, cuts), chunkSize, (p) => {
          seen += p.length
        })) {
          out.push(c)
        }
        assert.equal(seen, bytes.length)
        assert.equal(out.length, Math.ceil(bytes.length / chunkSize))
        for (const [i, c] of out.entries()) {
          assert.deepEqual(new Uint8Array(c), bytes.subarray(i * chunkSize, (i + 1) * chunkSize))
        }
      },
    ),
  )
})

it("property: an owned body's pieces are freed once copied, and the chunks are the same; a piece sharing its memory is left alone", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 900 }), { maxLength: 8 }),
      fc.array(fc.boolean(), { maxLength: 8 }),
      fc.integer({ min: 1, max: 700 }),
      async (parts, shared, chunkSize) => {
        // Each part in an ArrayBuffer of its own (as a socket read is), or a view of a larger one.
        const given = parts.map((part, i) =>
          shared[i] ? new Uint8Array([...part, 0]).subarray(0, part.length) : part.slice(),
        )
        async function* body() {
          yield* given
        }
        const out: Uint8Array[] = []
        for await (const c of cutChunks(ownedPieces(body()), chunkSize)) out.push(c.slice())
        const all = Buffer.concat(parts)
        assert.deepEqual(Buffer.concat(out), all)
        assert.equal(out.length, Math.ceil(all.length / chunkSize))
        for (const [i, piece] of given.entries()) {
          if (shared[i]) assert.deepEqual(piece, parts[i], 'a view of shared memory is intact')
          else assert.equal(piece.buffer.byteLength, 0, 'a piece of its own is freed once copied')
        }
      },
    ),
  )
})

it('property: a chunk is analysed alike on this thread and in the pool, small or not', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 5000 }),
      fc.nat({ max: 3 }),
      fc.boolean(),
      async (bytes, skip, large) => {
        // Past INLINE_BYTES the pool's threads analyse it; up to it, the calling thread.
        const whole = large ? Buffer.concat([Buffer.alloc(INLINE_BYTES, 7), bytes]) : bytes
        const view = Buffer.from(whole).subarray(Math.min(skip, whole.length))
        const expected = {
          sha256: createHash('sha256').update(view).digest('hex'),
          histogram: histogram(view),
        }
        assert.deepEqual(await analyzeChunk(view), expected)
        assert.deepEqual(await pool.analyze(view), expected)
        assert.equal(await pool.sha256(view), expected.sha256)
      },
    ),
    { numRuns: 50 },
  )
})

it('the pool analyses chunks in shared memory without copying them, and they stay intact', async () => {
  // Larger than INLINE_BYTES, so that a pool thread reads them.
  const shared = Buffer.from(new SharedArrayBuffer(INLINE_BYTES + 4096))
  for (let i = 0; i < shared.length; i++) shared[i] = (i * 31) & 255
  const before = Buffer.from(shared)
  const view = shared.subarray(5, INLINE_BYTES + 4000)
  assert.deepEqual(await pool.analyze(view), await analyzeChunk(view))
  assert.deepEqual(shared, before)
})

it('a chunk buffer is taken when its first byte arrives, never before or after the last', async () => {
  let taken = 0
  const take = () => {
    taken++
    return new Uint8Array(4)
  }
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  async function* body() {
    yield new Uint8Array(0)
    await gate
    yield new Uint8Array(8)
  }
  const chunks = cutChunks(body(), 4, undefined, take)[Symbol.asyncIterator]()
  const first = chunks.next()
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(taken, 0, 'a request that has sent nothing holds no buffer')
  release()
  assert.equal((await first).value?.length, 4)
  assert.equal((await chunks.next()).value?.length, 4)
  assert.equal((await chunks.next()).done, true)
  assert.equal(taken, 2, 'eight bytes in chunks of four take two buffers, not three')
})
