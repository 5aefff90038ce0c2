import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import {
  CodecError,
  compress,
  decodeMember,
  decompress,
  encodeChunk,
} from '../../src/codec/index.ts'
import { collect } from '../helpers/collect.ts'
import { mixed, textLike } from './data.ts'

const CODES = new Set([
  'E_NOT_GZIP',
  'E_CORRUPT_DATA',
  'E_TRUNCATED',
  'E_CHECKSUM',
  'E_OUTPUT_LIMIT',
])

/** Decodes, and returns either the output or the CodecError; anything else fails the test. */
async function outcome(gz: Uint8Array): Promise<Buffer | CodecError> {
  try {
    return await collect(decompress([gz], { maxOutput: 1 << 20 }))
  } catch (error) {
    assert.ok(error instanceof CodecError, `not a CodecError: ${(error as Error).stack}`)
    assert.ok(CODES.has(error.code), error.code)
    return error
  }
}

/** Flips bits of one byte at a time; every outcome must pass `outcome`'s checks and `check`. */
async function mutations(
  gz: Uint8Array,
  numRuns: number,
  check: (result: Buffer | CodecError) => void,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc.nat({ max: gz.length - 1 }),
      fc.integer({ min: 1, max: 255 }),
      async (at, xor) => {
        const mutated = Buffer.from(gz)
        mutated[at]! ^= xor
        check(await outcome(mutated))
      },
    ),
    { numRuns },
  )
}

const original = textLike(6000, 11)
const valid = await collect(compress([original], { chunkSize: 2500 }))

// A hang fails the test through the timeout instead of stalling the run.
describe('corrupt input ends in the original or a typed error, never a crash or hang', {
  timeout: 60_000,
}, () => {
  test('any single-byte mutation (property)', async () => {
    await mutations(valid, 400, (result) => {
      if (!(result instanceof CodecError))
        assert.ok(result.equals(original), 'a harmless mutation must not change the output')
    })
  })

  test('any truncation (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: valid.length - 1 }), async (length) => {
        const result = await outcome(valid.subarray(0, length))
        // A cut exactly between members leaves a shorter valid gzip file (RFC 1952 cannot tell);
        // it must then decode to whole chunks of the original. Any other cut is an error.
        if (result instanceof CodecError) return
        assert.ok(
          length > 0 && result.length % 2500 === 0,
          `cut at ${length} of ${valid.length} must fail`,
        )
        assert.ok(result.equals(original.subarray(0, result.length)))
      }),
      { numRuns: 300 },
    )
  })

  test('mutations of foreign gzip (zlib path) too (property)', async () => {
    await mutations(gzipSync(mixed(5000)), 200, () => {})
  })
})

describe('each problem is named', () => {
  const member = encodeChunk(original)

  test('not gzip at all', async () => {
    const error = await outcome(Buffer.from('hello, this is plain text'))
    assert.ok(error instanceof CodecError)
    assert.equal(error.code, 'E_NOT_GZIP')
    assert.equal(error.member, 0)
    assert.equal(error.offset, 0)
  })

  test('empty input', async () => {
    const error = await outcome(new Uint8Array(0))
    assert.ok(error instanceof CodecError && error.code === 'E_TRUNCATED')
  })

  test('a flipped data byte is caught by the CRC or the decoder, naming the member', async () => {
    const second = Buffer.from(valid)
    const secondStart = encodeChunk(original.subarray(0, 2500)).length
    second[secondStart + 40]! ^= 0x10
    const error = await outcome(second)
    assert.ok(error instanceof CodecError)
    assert.equal(error.member, 1)
    assert.match(error.message, /member 1, byte \d+/)
  })

  test('a wrong ISIZE in the trailer', () => {
    const bad = Buffer.from(member)
    bad.writeUInt32LE(original.length + 1, bad.length - 4)
    assert.throws(
      () => decodeMember(bad),
      (e: unknown) => e instanceof CodecError && e.code === 'E_CHECKSUM',
    )
  })

  test('a member announcing an impossible size is refused before allocating it', () => {
    const bad = Buffer.from(member)
    bad.writeUInt32LE(0xfffffff0, 21)
    assert.throws(
      () => decodeMember(bad),
      (e: unknown) => e instanceof CodecError && e.code === 'E_CORRUPT_DATA',
    )
  })

  test('a zip bomb stops at the output limit', async () => {
    const bomb = gzipSync(new Uint8Array(64 << 20))
    const error = await outcome(bomb)
    assert.ok(error instanceof CodecError)
    assert.equal(error.code, 'E_OUTPUT_LIMIT')
    assert.throws(
      () => decodeMember(bomb, { maxOutput: 1 << 20 }),
      (e: unknown) => e instanceof CodecError && e.code === 'E_OUTPUT_LIMIT',
    )
  })

  test('trailing garbage after the last member', async () => {
    const error = await outcome(Buffer.concat([valid, Buffer.from('garbage')]))
    assert.ok(error instanceof CodecError)
    assert.equal(error.code, 'E_NOT_GZIP')
    assert.equal(error.offset, valid.length)
  })
})
