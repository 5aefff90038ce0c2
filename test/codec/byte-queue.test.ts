import assert from 'node:assert/strict'
import { it } from 'node:test'
import fc from 'fast-check'
import { ByteQueue } from '../../src/codec/byte-queue.ts'

it('take gives the bytes in order, owned or not, however the pieces fall', () => {
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
          const got = queue.take(size, owned)
          assert.deepEqual(Buffer.from(got), all.subarray(at, at + size))
          if (owned) {
            // Its own buffer, exactly as long, shared with no piece: it may be transferred.
            assert.equal(got.byteOffset, 0)
            assert.equal(got.buffer.byteLength, size)
            assert.ok(pieces.every((piece) => piece.buffer !== got.buffer))
          }
          at += size
          assert.equal(queue.consumed, at)
        }
      },
    ),
  )
})
