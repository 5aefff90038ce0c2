import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { decodeMember, encodeChunk } from '../../src/codec/index.ts'
import { SpareBuffers, spareSize } from '../../src/codec/spare-buffers.ts'

test('take gives the smallest idle buffer that is large enough', () => {
  const spares = new SpareBuffers(4, 1 << 20)
  const [a, b, c] = [new ArrayBuffer(300), new ArrayBuffer(100), new ArrayBuffer(200)]
  for (const buffer of [a, b, c]) spares.keep(buffer)
  assert.equal(spares.take(150), c)
  assert.equal(spares.take(400), undefined)
  assert.equal(spares.takeLargest(), a)
  assert.equal(spares.take(1), b)
  assert.equal(spares.idle, 0)
})

test('keep holds a bounded number of buffers of bounded size, and nothing detached', () => {
  const spares = new SpareBuffers(2, 1000)
  spares.keep(new ArrayBuffer(1001))
  const detached = new ArrayBuffer(10)
  detached.transfer()
  spares.keep(detached)
  assert.equal(spares.idle, 0)
  for (let i = 0; i < 3; i++) spares.keep(new ArrayBuffer(10))
  assert.equal(spares.idle, 2)
  spares.clear()
  assert.equal(spares.idle, 0)
})

test('sizes round up to 256 KiB steps', () => {
  assert.equal(spareSize(1), 256 * 1024)
  assert.equal(spareSize((1 << 20) + 8), 1.25 * (1 << 20))
  assert.equal(spareSize(1 << 20), 1 << 20)
})

test('encoding and decoding into memory that holds old bytes give what fresh memory gives', () => {
  const dirty = (n: number) => new Uint8Array(n + 64).fill(0xa5).subarray(0, n)
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40_000 }), (bytes) => {
      const member = encodeChunk(bytes, undefined, dirty)
      assert.deepEqual(member, encodeChunk(bytes))
      assert.deepEqual(decodeMember(member, {}, dirty), bytes)
    }),
    { numRuns: 60 },
  )
})
