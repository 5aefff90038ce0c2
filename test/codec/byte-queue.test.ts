import assert from 'node:assert/strict'
import { it } from 'node:test'
import fc from 'fast-check'
import { ByteQueue } from '../../src/codec/byte-queue.ts'

it('take gives the bytes in order, into a given buffer or not, however the pieces fall', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 8 }),
      fc.array(fc.tuple(fc.nat(60), fc.boolean()), { maxLength: 8 }),
      (pieces, takes) => {
        const queue = new ByteQueue()
        for (const piece of pieces) queue.push(piece)
        const all = Buffer.concat(pieces)
        let at = 0
        for (const [n, owned] of takes) {
          const size = Math.min(n, queue.length)
          // A buffer given to take, larger than needed and with a stale byte past the end.
          const given = new Uint8Array(size + 1).fill(0xee)
          const got = queue.take(size, owned ? () => given.subarray(0, size) : undefined)
          assert.deepEqual(Buffer.from(got), all.subarray(at, at + size))
          if (owned) {
            assert.equal(got.buffer, given.buffer, 'copied into the buffer given')
            assert.equal(given[size], 0xee, 'and nothing past what was asked')
          }
          at += size
          assert.equal(queue.consumed, at)
        }
      },
    ),
  )
})
