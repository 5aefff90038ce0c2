import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  compress,
  decodeMember,
  decompress,
  encodeChunk,
  histogram,
} from '../../src/codec/index.ts'
import { collect } from '../helpers/collect.ts'
import { pipeThrough } from '../helpers/exec.ts'
import { SHAPES } from './data.ts'

async function piperGzip(input: Uint8Array, chunkSize: number): Promise<Buffer> {
  return collect(compress([input], { chunkSize }))
}

describe('round trip through Piper and the system gzip', () => {
  const chunkSize = 4096
  const sizes = [0, 1, 2, 100, chunkSize - 1, chunkSize, chunkSize + 1, 3 * chunkSize + 1, 70_000]
  for (const [shape, make] of Object.entries(SHAPES)) {
    test(shape, async () => {
      for (const size of sizes) {
        const input = make(size)
        const gz = await piperGzip(input, chunkSize)
        assert.deepEqual(
          await collect(decompress([gz])),
          Buffer.from(input),
          `piper, ${size} bytes`,
        )
        const system = await pipeThrough('gzip', ['-dc'], gz)
        assert.equal(system.code, 0, system.stderr)
        assert.ok(system.stdout.equals(input), `gzip -d, ${shape}, ${size} bytes`)
      }
    })
  }

  test('a chunk of one byte at the end of a file', async () => {
    const input = SHAPES.text!(8193)
    const gz = await piperGzip(input, 8192)
    assert.ok((await pipeThrough('gzip', ['-dc'], gz)).stdout.equals(input))
  })

  test("Python's gzip module reads Piper's output", async () => {
    const input = SHAPES.mixed!(100_000)
    const gz = await piperGzip(input, 30_000)
    const script =
      'import sys, gzip; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))'
    const python = await pipeThrough('python3', ['-c', script], gz)
    assert.equal(python.code, 0, python.stderr)
    assert.ok(python.stdout.equals(input))
  })
})

describe('encodeChunk and decodeMember', () => {
  test('any byte array round-trips (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20_000 }), (bytes) => {
        assert.deepEqual(decodeMember(encodeChunk(bytes)), bytes)
      }),
      { numRuns: 300 },
    )
  })

  test('skewed arrays with long codes round-trip (property)', () => {
    const skewedBytes = fc.array(fc.constantFrom(...[0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 3, 255]), {
      maxLength: 50_000,
    })
    fc.assert(
      fc.property(skewedBytes, fc.uint8Array({ maxLength: 64 }), (common, rare) => {
        const bytes = Uint8Array.from([...common, ...rare])
        assert.deepEqual(decodeMember(encodeChunk(bytes)), bytes)
      }),
      { numRuns: 100 },
    )
  })

  test('random data is stored, not expanded beyond block overhead', () => {
    const input = SHAPES.random!(200_000)
    const member = encodeChunk(input)
    // 25-byte header, 8-byte trailer, 5 bytes per 65,535-byte stored block.
    assert.ok(member.length <= input.length + 25 + 8 + 5 * 4, `${member.length} bytes`)
  })

  test('a known histogram of incompressible data skips straight to stored blocks', () => {
    const input = SHAPES.random!(100_000)
    const member = encodeChunk(input, histogram(input))
    assert.deepEqual(decodeMember(member), input)
    assert.ok(member.length <= input.length + 25 + 8 + 5 * 2)
  })

  test('text compresses below its order-0 entropy plus a small overhead', () => {
    const input = SHAPES.text!(200_000)
    const member = encodeChunk(input)
    assert.ok(member.length < input.length * 0.6, `${member.length} of ${input.length}`)
  })
})
