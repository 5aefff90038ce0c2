import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { codeCost, entropyBits, limitedCodeLengths } from '../../src/codec/index.ts'

function kraftSum(lengths: Uint8Array): number {
  let sum = 0
  for (const len of lengths) if (len > 0) sum += 2 ** -len
  return sum
}

/** Unlimited Huffman cost by the textbook merge of the two lightest, for comparison. */
function huffmanCost(freqs: number[]): number {
  const weights = freqs.filter((f) => f > 0)
  if (weights.length < 2) return weights.length === 1 ? weights[0]! : 0
  let cost = 0
  while (weights.length > 1) {
    weights.sort((a, b) => a - b)
    const merged = weights.shift()! + weights.shift()!
    cost += merged
    weights.push(merged)
  }
  return cost
}

const frequencies = fc.array(fc.nat({ max: 1_000_000 }), { minLength: 2, maxLength: 286 })

test('lengths form a complete prefix code within the limit', () => {
  fc.assert(
    fc.property(frequencies, fc.integer({ min: 9, max: 15 }), (freqs, maxBits) => {
      const lengths = limitedCodeLengths(freqs, maxBits)
      assert.ok(lengths.every((l) => l <= maxBits))
      freqs.forEach((f, s) => {
        if (f > 0) assert.ok(lengths[s]! > 0, `symbol ${s} of frequency ${f} has no code`)
      })
      assert.equal(kraftSum(lengths), 1)
    }),
  )
})

test('cost is Huffman-optimal when the limit does not bind, and never below the entropy bound', () => {
  fc.assert(
    fc.property(frequencies, (freqs) => {
      const lengths = limitedCodeLengths(freqs, 15)
      const cost = codeCost(freqs, lengths)
      const used = freqs.filter((f) => f > 0).length
      if (used >= 2) assert.equal(cost, huffmanCost(freqs))
      assert.ok(cost >= entropyBits(freqs) - 1e-6)
    }),
  )
})

test('a Fibonacci distribution forces the limit; the repaired code is complete and near the optimum', () => {
  // Fibonacci weights make unlimited Huffman codes as deep as there are symbols: the worst case
  // for the repair, which moves leaves until the code fits.
  const fib = [1, 1]
  while (fib.length < 30) fib.push(fib.at(-1)! + fib.at(-2)!)
  const unlimitedCost = huffmanCost(fib)
  // 30 Fibonacci weights are the repair's worst case; real blocks lose far less (the
  // cli bench's mix: +0.03% of output at 12 bits against the optimum at 15).
  for (const maxBits of [15, 12]) {
    const lengths = limitedCodeLengths(fib, maxBits)
    assert.equal(Math.max(...lengths), maxBits)
    assert.equal(kraftSum(lengths), 1)
    const cost = codeCost(fib, lengths)
    assert.ok(cost > unlimitedCost, 'the limit costs something here')
    // An independent optimum: a dynamic program over depths and free code slots.
    const optimum = limitedOptimum(fib, maxBits)
    assert.ok(cost >= optimum, 'nothing beats the optimum')
    assert.ok(cost <= optimum * 1.015, `${maxBits} bits: ${cost} against the optimum ${optimum}`)
  }
})

test('under a binding limit, lengths still follow frequencies (a rarer symbol is never shorter)', () => {
  fc.assert(
    fc.property(frequencies, fc.integer({ min: 9, max: 12 }), (freqs, maxBits) => {
      const lengths = limitedCodeLengths(freqs, maxBits)
      for (let s = 0; s < freqs.length; s++) {
        for (let t = 0; t < freqs.length; t++) {
          if (freqs[s]! > 0 && freqs[s]! < freqs[t]!) assert.ok(lengths[s]! >= lengths[t]!)
        }
      }
    }),
    { numRuns: 50 },
  )
})

/** Optimal length-limited cost by dynamic programming over Kraft budgets, for small inputs. */
function limitedOptimum(freqs: number[], maxBits: number): number {
  const w = [...freqs].sort((a, b) => b - a)
  const n = w.length
  // best(i, depth, slots): least cost of the symbols from i on, heaviest first, given `slots`
  // free codes at `depth`.
  const memo = new Map<string, number>()
  const best = (i: number, depth: number, freeSlots: number): number => {
    if (i === n) return 0
    if (freeSlots === 0 || depth > maxBits) return Infinity
    // More free codes than symbols left are never needed.
    const slots = Math.min(freeSlots, n - i)
    const key = `${i},${depth},${slots}`
    const hit = memo.get(key)
    if (hit !== undefined) return hit
    // Either give symbol i a code at this depth, or split every free slot one level deeper.
    const take = w[i]! * depth + best(i + 1, depth, slots - 1)
    const deeper = depth < maxBits ? best(i, depth + 1, Math.min(2 * slots, n - i)) : Infinity
    const result = Math.min(take, deeper)
    memo.set(key, result)
    return result
  }
  return best(0, 1, 2)
}

test('one used symbol still gets a two-symbol code (decoders reject one-code alphabets)', () => {
  const freqs = new Array(257).fill(0)
  freqs[256] = 1
  const lengths = limitedCodeLengths(freqs, 15)
  assert.equal(lengths[256], 1)
  assert.equal(lengths.filter((l) => l > 0).length, 2)
})
