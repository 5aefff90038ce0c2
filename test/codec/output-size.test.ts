import assert from 'node:assert/strict'
import { test } from 'node:test'
import { constants, gzipSync } from 'node:zlib'
import { corpusFiles } from '../../bench/lib/inputs.ts'
import { PIPER_HEADER_SIZE } from '../../src/codec/gzip-member.ts'
import { encodeChunk } from '../../src/codec/index.ts'
import { SHAPES } from './data.ts'

// Issue 24's promise: Piper's output is never larger than zlib's Huffman-only mode on the same
// bytes, whatever the codes' length limit and block splitting cost (the 12-bit limit, say).
// Both are compared member for member; Piper's header carries its FEXTRA field (15 bytes more
// than a plain gzip header), which the comparison takes off.
const PIPER_EXTRA = PIPER_HEADER_SIZE - 10

function zlibHuffmanOnly(bytes: Uint8Array): number {
  return gzipSync(bytes, { strategy: constants.Z_HUFFMAN_ONLY }).length
}

test('output is no larger than zlib Huffman-only on every test shape', () => {
  for (const [shape, make] of Object.entries(SHAPES)) {
    for (const size of [1000, 100_000, 1_000_000]) {
      const bytes = make(size)
      const piper = encodeChunk(bytes).length
      const zlib = zlibHuffmanOnly(bytes)
      assert.ok(
        piper - PIPER_EXTRA <= zlib,
        `${shape}, ${size} bytes: ${piper - PIPER_EXTRA} > zlib's ${zlib}`,
      )
    }
  }
})

test('output is no larger than zlib Huffman-only on the real files of ../shared/corpus', (t) => {
  const files = corpusFiles()
  if (files.length === 0) {
    t.skip('no corpus at ../shared/corpus')
    return
  }
  for (const { name, bytes } of files) {
    // 1 MiB members, as `piper compress` cuts them.
    let piper = 0
    let zlib = 0
    for (let at = 0; at < bytes.length; at += 1 << 20) {
      const chunk = bytes.subarray(at, at + (1 << 20))
      piper += encodeChunk(chunk).length - PIPER_EXTRA
      zlib += zlibHuffmanOnly(chunk)
    }
    assert.ok(piper <= zlib, `${name}: ${piper} > zlib's ${zlib}`)
  }
})
