import assert from 'node:assert/strict'
import { it } from 'node:test'
import fc from 'fast-check'
import { TailCache } from '../../src/log/tail-cache.ts'

it('property: a read inside the cached tail returns the file bytes; outside, nothing', () => {
  fc.assert(
    fc.property(
      fc.nat({ max: 300 }),
      fc.array(fc.uint8Array({ maxLength: 120 }), { maxLength: 12 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.nat({ max: 400 }),
      (capacity, writes, where, length) => {
        const cache = new TailCache(capacity)
        const file: number[] = []
        for (const bytes of writes) {
          cache.add(file.length, bytes)
          file.push(...bytes)
        }
        const last = writes.at(-1)
        if (last && last.length <= capacity) {
          assert.ok(cache.read(file.length - last.length, file.length), 'the newest write is held')
        }
        const start = Math.floor(where * file.length)
        const end = Math.min(start + length, file.length)
        const read = cache.read(start, end)
        if (read === undefined) return
        assert.deepEqual([...read], file.slice(start, end))
        // Only the newest `capacity` bytes are held.
        assert.ok(file.length - start <= capacity)
      },
    ),
  )
})

it('serves the newest writes, across pieces, and forgets what is evicted or not contiguous', () => {
  const cache = new TailCache(10)
  cache.add(0, Buffer.from('abcd'))
  cache.add(4, Buffer.from('efgh'))
  assert.equal(Buffer.from(cache.read(2, 6)!).toString(), 'cdef')
  cache.add(8, Buffer.from('ijk'))
  // 11 bytes written, 10 allowed: the first piece is gone.
  assert.equal(cache.read(0, 4), undefined)
  assert.equal(Buffer.from(cache.read(4, 11)!).toString(), 'efghijk')
  assert.equal(cache.read(4, 12), undefined)
  // A write that does not follow on (a truncated file) starts again.
  cache.add(5, Buffer.from('XY'))
  assert.equal(cache.read(4, 5), undefined)
  assert.equal(Buffer.from(cache.read(5, 7)!).toString(), 'XY')
  cache.resize(0)
  assert.equal(cache.read(5, 7), undefined)
  cache.add(7, Buffer.from('z'))
  assert.equal(cache.read(7, 8), undefined)
})
