import assert from 'node:assert/strict'
import { it } from 'node:test'
import fc from 'fast-check'
import { addHistogram } from '../../src/codec/index.ts'

it('property: addHistogram counts every byte of any range of any (unaligned) view', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 200 }),
      fc.nat({ max: 7 }),
      fc.nat(),
      fc.nat(),
      (bytes, shift, a, b) => {
        const backing = new Uint8Array(bytes.length + shift)
        backing.set(bytes, shift)
        const view = backing.subarray(shift)
        const start = bytes.length === 0 ? 0 : a % (bytes.length + 1)
        const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1))
        const expected = new Uint32Array(256)
        for (let i = start; i < end; i++) expected[view[i]!]!++
        const out = new Uint32Array(256)
        out[9] = 5
        expected[9]! += 5
        addHistogram(view, start, end, out)
        assert.deepEqual(out, expected)
      },
    ),
  )
})
