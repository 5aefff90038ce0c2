import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { constants, crc32, deflateRawSync } from 'node:zlib'
import fc from 'fast-check'
import {
  PIPER_HEADER_SIZE,
  TRAILER_SIZE,
  writePiperHeader,
  writeTrailer,
} from '../../src/codec/gzip-member.ts'
import { CodecError, decodeMember, encodeChunk } from '../../src/codec/index.ts'
import { mixed, skewed, textLike } from './data.ts'

/**
 * Wraps a raw DEFLATE stream in Piper's member header, so that `decodeMember` reads it with
 * Piper's own decoder: a cross-check against blocks zlib cut and coded, not Piper's encoder.
 */
function piperMember(deflate: Uint8Array, original: Uint8Array): Uint8Array {
  const size = PIPER_HEADER_SIZE + deflate.length + TRAILER_SIZE
  const member = new Uint8Array(size)
  writePiperHeader(member, size, original.length)
  member.set(deflate, PIPER_HEADER_SIZE)
  writeTrailer(member, PIPER_HEADER_SIZE + deflate.length, crc32(original), original.length)
  return member
}

function assertSame(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  assert.ok(Buffer.from(actual).equals(expected), message)
}

const huffmanOnly = (bytes: Uint8Array) =>
  deflateRawSync(bytes, { strategy: constants.Z_HUFFMAN_ONLY })

/** Runs of text, skewed bytes and noise, so the statistics shift between blocks of any size. */
const segments = fc
  .array(
    fc.record({
      kind: fc.constantFrom(textLike, skewed, mixed),
      size: fc.integer({ min: 0, max: 40_000 }),
      seed: fc.integer({ min: 1, max: 1000 }),
    }),
    { maxLength: 6 },
  )
  .map((parts) => Buffer.concat(parts.map(({ kind, size, seed }) => kind(size, seed))))

describe("Piper's decoder", () => {
  test('reads the literal-only blocks zlib writes, whatever their sizes (property)', () => {
    fc.assert(
      fc.property(segments, (bytes) => {
        assertSame(decodeMember(piperMember(huffmanOnly(bytes), bytes)), bytes)
      }),
      { numRuns: 60 },
    )
  })

  test('reads stored and fixed blocks, and hands blocks with matches to zlib', () => {
    const text = textLike(100_000, 9)
    for (const options of [{ level: 0 }, { strategy: constants.Z_FIXED }, { level: 9 }]) {
      const member = piperMember(deflateRawSync(text, options), text)
      assertSame(decodeMember(member), text, JSON.stringify(options))
    }
  })

  test('decodes codes longer than the table root through subtables', () => {
    // A geometric distribution over all 256 values: the rarest codes take 15 bits.
    const bytes = new Uint8Array(300_000)
    let x = 7
    for (let i = 0; i < bytes.length; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff
      bytes[i] = Math.min(255, Math.clz32(x | 1) * 8 + (x & 7))
    }
    assertSame(decodeMember(encodeChunk(bytes)), bytes)
    assertSame(decodeMember(piperMember(huffmanOnly(bytes), bytes)), bytes)
  })

  test('a stream that decodes to more than its header announced is refused', () => {
    const bytes = textLike(50_000, 3)
    for (const announced of [0, 1, 49_999, 49_993]) {
      const member = piperMember(huffmanOnly(bytes), bytes)
      new DataView(member.buffer).setUint32(21, announced, true)
      assert.throws(
        () => decodeMember(member),
        (error: unknown) => error instanceof CodecError && error.code === 'E_CORRUPT_DATA',
        `announced ${announced}`,
      )
    }
  })
})
