import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { gfInv, gfMul, invert, ReedSolomon } from '../../src/storage/reed-solomon.ts'

/** Multiplication by shift-and-add with reduction by 0x11d: the field's definition. */
function slowMul(a: number, b: number): number {
  let product = 0
  for (let i = 0; i < 8; i++) {
    if (b & (1 << i)) product ^= a << i
  }
  for (let bit = 15; bit >= 8; bit--) if (product & (1 << bit)) product ^= 0x11d << (bit - 8)
  return product
}

const code = fc.record({ k: fc.integer({ min: 1, max: 10 }), m: fc.integer({ min: 1, max: 4 }) })

describe('Reed–Solomon over GF(2^8) (properties)', () => {
  it('field arithmetic matches its definition', () => {
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) assert.equal(gfMul(a, b), slowMul(a, b))
      if (a > 0) assert.equal(gfMul(a, gfInv(a)), 1)
    }
  })

  it('a matrix times its inverse is the identity', () => {
    fc.assert(
      fc.property(code, ({ k, m }) => {
        // Any k rows of the code's matrix are invertible: pick the last k of identity + Cauchy.
        const rows = [
          ...Array.from({ length: k }, (_, i) =>
            Array.from({ length: k }, (_, j) => (i === j ? 1 : 0)),
          ),
          ...Array.from({ length: m }, (_, i) =>
            Array.from({ length: k }, (_, j) => gfInv((k + i) ^ j)),
          ),
        ].slice(m)
        const inverse = invert(rows)
        for (let i = 0; i < k; i++) {
          for (let j = 0; j < k; j++) {
            let sum = 0
            for (let x = 0; x < k; x++) sum ^= gfMul(rows[i]![x]!, inverse[x]![j]!)
            assert.equal(sum, i === j ? 1 : 0)
          }
        }
      }),
      { numRuns: 100 },
    )
  })

  it('any k of the k + m shards give the data back, in both engines, which agree byte for byte', () => {
    fc.assert(
      fc.property(
        code.chain(({ k, m }) =>
          fc.record({
            k: fc.constant(k),
            m: fc.constant(m),
            data: fc.array(fc.uint8Array({ minLength: 37, maxLength: 37 }), {
              minLength: k,
              maxLength: k,
            }),
            lost: fc.shuffledSubarray(
              Array.from({ length: k + m }, (_, i) => i),
              { minLength: 0, maxLength: m },
            ),
          }),
        ),
        ({ k, m, data, lost }) => {
          const js = new ReedSolomon(k, m, { engine: 'js' })
          const simd = new ReedSolomon(k, m, { engine: 'simd' })
          const parity = js.encode(data)
          assert.deepEqual(simd.encode(data), parity, 'the SIMD parity is the JavaScript parity')
          const shards: (Uint8Array | undefined)[] = [...data, ...parity]
          for (const i of lost) shards[i] = undefined
          assert.deepEqual(js.reconstruct(shards), data)
          assert.deepEqual(simd.reconstruct(shards), data)
        },
      ),
      { numRuns: 400 },
    )
  })

  it('fewer than k shards is an error that says how many are needed', () => {
    const rs = new ReedSolomon(4, 2)
    const data = Array.from({ length: 4 }, () => new Uint8Array(16).fill(7))
    const shards: (Uint8Array | undefined)[] = [...data, ...rs.encode(data)]
    shards[0] = shards[1] = shards[2] = undefined
    assert.throws(() => rs.reconstruct(shards), /3 of 6 shards left; 4 are needed/)
    assert.throws(() => new ReedSolomon(200, 60), /k \+ m ≤ 255/)
  })
})
