import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { constants, gzipSync } from 'node:zlib'
import { decodeMember, decompress } from '../../src/codec/index.ts'
import { collect } from '../helpers/collect.ts'
import { pipeThrough } from '../helpers/exec.ts'
import { mixed, textLike } from './data.ts'

const input = mixed(300_000)

describe('decompresses gzip made by other writers', () => {
  for (const level of ['-1', '-9']) {
    test(`gzip ${level}`, async () => {
      const made = await pipeThrough('gzip', [level, '-c'], input)
      assert.equal(made.code, 0)
      assert.ok((await collect(decompress([made.stdout]))).equals(input))
      assert.ok(Buffer.from(decodeMember(made.stdout)).equals(input))
    })
  }

  const strategies = {
    default: constants.Z_DEFAULT_STRATEGY,
    filtered: constants.Z_FILTERED,
    'huffman only': constants.Z_HUFFMAN_ONLY,
    rle: constants.Z_RLE,
    fixed: constants.Z_FIXED,
  }
  for (const [name, strategy] of Object.entries(strategies)) {
    test(`node:zlib, strategy ${name}`, async () => {
      const made = gzipSync(input, { strategy })
      assert.ok((await collect(decompress([made]))).equals(input))
    })
  }

  test('several members, with FNAME, FCOMMENT and FHCRC headers, from gzip -N', async () => {
    const a = textLike(5000, 7)
    const b = textLike(7000, 8)
    const first = (await pipeThrough('gzip', ['-c', '-N'], a)).stdout
    // A member with every optional header field, built by hand (RFC 1952 §2.3).
    const body = gzipSync(b).subarray(10)
    const name = Buffer.from('name.txt\0')
    const comment = Buffer.from('a comment\0')
    const header = Buffer.from([
      0x1f,
      0x8b,
      8,
      4 | 8 | 16 | 2,
      0,
      0,
      0,
      0,
      0,
      3,
      4,
      0,
      0x41,
      0x42,
      0,
      0,
    ])
    const fields = Buffer.concat([header, name, comment])
    const { crc32 } = await import('node:zlib')
    const hcrc = Buffer.alloc(2)
    hcrc.writeUInt16LE(crc32(fields) & 0xffff)
    const second = Buffer.concat([fields, hcrc, body])
    const out = await collect(decompress([first, second]))
    assert.ok(out.equals(Buffer.concat([a, b])))
  })

  test('zero padding after the last member is accepted', async () => {
    const made = gzipSync(input)
    assert.ok((await collect(decompress([made, new Uint8Array(512)]))).equals(input))
  })

  test('input split into 1-byte pieces decodes the same', async () => {
    const { compress } = await import('../../src/codec/index.ts')
    const small = textLike(20_000, 9)
    const gz = await collect(compress([small], { chunkSize: 3000 }))
    const pieces = Array.from(gz, (byte) => Uint8Array.of(byte))
    assert.ok((await collect(decompress(pieces))).equals(small))
  })
})
