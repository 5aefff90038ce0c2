import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  bandProbes,
  DEFAULT_IMAGE_LIMITS,
  duplicateClusters,
  hammingDistance,
  ImageError,
  parseDetections,
  parseVariantQuery,
  popcount32,
  VariantError,
} from '../../src/images/index.ts'

const hex64 = fc
  .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }))
  .map(([hi, lo]) => hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0'))

describe('image parsers and indexes (properties)', () => {
  it('a variant query is parsed into values in range, or refused with E_IMAGE_VARIANT', () => {
    const key = fc.constantFrom('w', 'h', 'fit', 'format', 'q', 'x', 'W', '')
    const value = fc.oneof(
      fc.constantFrom(
        '0',
        '1',
        '480',
        '16384',
        '16385',
        '99999',
        'webp',
        'avif',
        'bmp',
        'cover',
        'inside',
        '-1',
        '1e3',
        ' 4',
      ),
      fc.string({ maxLength: 8 }),
    )
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { maxLength: 6 }), (pairs) => {
        const query = new URLSearchParams(pairs)
        try {
          const v = parseVariantQuery(query, DEFAULT_IMAGE_LIMITS)
          for (const size of [v.width, v.height]) {
            if (size !== undefined) assert.ok(Number.isInteger(size) && size >= 1 && size <= 16_384)
          }
          assert.ok(v.width !== undefined || v.height !== undefined || v.format !== undefined)
          if (v.quality !== undefined) assert.ok(v.quality >= 1 && v.quality <= 100)
        } catch (error) {
          assert.ok(error instanceof VariantError, String(error))
          assert.equal(error.code, 'E_IMAGE_VARIANT')
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('a detections file round-trips; anything else is E_IMAGE_UNSUPPORTED, never a crash', () => {
    const box = fc.record({
      x: fc.nat(5000),
      y: fc.nat(5000),
      width: fc.integer({ min: 1, max: 5000 }),
      height: fc.integer({ min: 1, max: 5000 }),
    })
    const doc = fc.record({
      image: fc.string({ minLength: 1, maxLength: 40 }),
      sha256: fc.stringMatching(/^[0-9a-f]{64}$/),
      width: fc.integer({ min: 1, max: 10_000 }),
      height: fc.integer({ min: 1, max: 10_000 }),
      model: fc.string({ maxLength: 20 }),
      detections: fc.array(
        fc.record({
          label: fc.string({ minLength: 1 }),
          score: fc.double({ min: 0, max: 1, noNaN: true }),
          box,
        }),
        {
          maxLength: 5,
        },
      ),
    })
    fc.assert(
      fc.property(doc, (d) => {
        assert.deepEqual(
          parseDetections(Buffer.from(JSON.stringify(d))),
          JSON.parse(JSON.stringify(d)),
        )
      }),
      { numRuns: 300 },
    )
    const hostile = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))),
      doc.chain((d) =>
        fc.constantFrom('image', 'sha256', 'width', 'height', 'detections').map((field) => {
          const broken: Record<string, unknown> = { ...d }
          broken[field] = field === 'detections' ? [{ label: 1 }] : -1
          return Buffer.from(JSON.stringify(broken))
        }),
      ),
    )
    fc.assert(
      fc.property(hostile, (bytes) => {
        try {
          parseDetections(bytes)
        } catch (error) {
          assert.ok(error instanceof ImageError, String(error))
          assert.equal(error.code, 'E_IMAGE_UNSUPPORTED')
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('band probes are exactly the values within k flips, each once', () => {
    const choose = (n: number, k: number): number =>
      k === 0 ? 1 : (choose(n, k - 1) * (n - k + 1)) / k
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 3 }),
        (band, k) => {
          const probes = bandProbes(band, k)
          const expected = Array.from({ length: k + 1 }, (_, i) => choose(16, i)).reduce(
            (a, b) => a + b,
          )
          assert.equal(probes.length, expected)
          assert.equal(new Set(probes).size, probes.length)
          for (const p of probes) assert.ok(p >= 0 && p <= 0xffff && popcount32(p ^ band) <= k)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('clusters are the connected components of "within the distance", as brute force finds them', () => {
    fc.assert(
      fc.property(
        fc.array(hex64, { minLength: 1, maxLength: 12 }),
        fc.array(fc.tuple(fc.nat(11), fc.array(fc.nat(63), { maxLength: 10 })), { maxLength: 30 }),
        fc.integer({ min: 0, max: 12 }),
        (seeds, derived, distance) => {
          // Images near the seeds (a few flipped bits), so clusters form at every distance.
          const hashes = [...seeds]
          for (const [from, flips] of derived) {
            let h = BigInt(`0x${seeds[from % seeds.length]}`)
            for (const bit of flips) h ^= 1n << BigInt(bit)
            hashes.push(h.toString(16).padStart(16, '0'))
          }
          const images = hashes.map((phash, i) => ({ name: `i${i}`, sha256: '', size: 0, phash }))
          const got = duplicateClusters(images, distance)
            .map((c) =>
              c
                .map((m) => m.name)
                .sort()
                .join(','),
            )
            .sort()
          // Brute force: flood fill over every pair.
          const seen = new Set<number>()
          const want: string[] = []
          for (let i = 0; i < images.length; i++) {
            if (seen.has(i)) continue
            const group = [i]
            seen.add(i)
            for (let at = 0; at < group.length; at++) {
              for (let j = 0; j < images.length; j++) {
                if (
                  !seen.has(j) &&
                  hammingDistance(images[group[at]!]!.phash, images[j]!.phash) <= distance
                ) {
                  seen.add(j)
                  group.push(j)
                }
              }
            }
            if (group.length > 1)
              want.push(
                group
                  .map((g) => `i${g}`)
                  .sort()
                  .join(','),
              )
          }
          assert.deepEqual(got, want.sort())
        },
      ),
      { numRuns: 300 },
    )
  })
})
