import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { it } from 'node:test'
import fc from 'fast-check'
import { histogram } from '../../src/codec/index.ts'
import { chunks } from '../../src/files/index.ts'

async function* pieces(bytes: Uint8Array, cuts: number[]): AsyncIterable<Uint8Array> {
  let at = 0
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    yield bytes.subarray(at, Math.max(at, cut))
    at = Math.max(at, cut)
  }
  yield bytes.subarray(at)
}

it('property: chunks are exact slices with their hash and table, however the input is cut', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 3000 }),
      fc.array(fc.nat({ max: 3000 }), { maxLength: 8 }),
      fc.integer({ min: 1, max: 700 }),
      async (bytes, cuts, chunkSize) => {
        let seen = 0
        const out = []
        for await (const c of chunks(pieces(bytes, cuts), chunkSize, (p) => {
          seen += p.length
        })) {
          out.push({ ...c, bytes: Buffer.from(c.bytes) })
        }
        assert.equal(seen, bytes.length)
        assert.equal(out.length, Math.ceil(bytes.length / chunkSize))
        for (const [i, c] of out.entries()) {
          const expected = bytes.subarray(i * chunkSize, (i + 1) * chunkSize)
          assert.deepEqual(new Uint8Array(c.bytes), expected)
          assert.equal(c.size, expected.length)
          assert.equal(c.key, createHash('sha256').update(expected).digest('hex'))
          assert.deepEqual(c.frequencies, histogram(expected))
        }
      },
    ),
  )
})
