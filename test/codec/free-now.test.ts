import assert from 'node:assert/strict'
import { it } from 'node:test'
import { freeNow } from '../../src/codec/index.ts'

it('freeNow releases a buffer its caller owns, and leaves shared, small and freed ones alone', () => {
  const owned = new Uint8Array(1 << 20).fill(7)
  freeNow(owned.subarray(10, 20))
  assert.equal(owned.buffer.byteLength, 0, 'detached: the memory is gone with it')
  assert.equal(owned.length, 0)
  freeNow(owned) // already freed: nothing to do

  const shared = new Uint8Array(new SharedArrayBuffer(1 << 20)).fill(7)
  freeNow(shared)
  assert.equal(shared[0], 7)

  // Small buffers may come from Node's shared allocation pool, which other Buffers use too.
  const pooled = Buffer.from('hello')
  freeNow(pooled)
  assert.equal(pooled.toString(), 'hello')
})
