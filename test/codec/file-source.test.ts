import assert from 'node:assert/strict'
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { CodecError, CodecPool, compress, decompress } from '../../src/codec/index.ts'
import { collect } from '../helpers/collect.ts'
import { mixed } from './data.ts'

let dir: string
let pool: CodecPool
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'piper-file-source-'))
  pool = new CodecPool(2)
})
after(async () => {
  await pool.close()
  await rm(dir, { recursive: true, force: true })
})

/** The output, or the error's code, member and offset. */
async function outcome(run: () => AsyncIterable<Uint8Array>): Promise<Buffer | string> {
  try {
    return await collect(run())
  } catch (error) {
    assert.ok(error instanceof CodecError, `not a CodecError: ${(error as Error).stack}`)
    return `${error.code} member ${error.member} at ${error.offset}: ${error.message}`
  }
}

let files = 0

test('a file read by position decodes as its bytes streamed do, whole, cut or corrupt', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.noBias(fc.integer({ min: 0, max: 300_000 })),
      // Members from smaller to larger than what is read for a header (16 KiB).
      fc.noBias(fc.integer({ min: 1000, max: 120_000 })),
      fc.boolean(),
      fc.integer({ min: 0, max: 40 }),
      fc.oneof(
        fc.constant({ kind: 'whole' as const }),
        fc.record({
          kind: fc.constant('cut' as const),
          at: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        fc.record({
          kind: fc.constant('flip' as const),
          at: fc.double({ min: 0, max: 1, noNaN: true }),
          xor: fc.integer({ min: 1, max: 255 }),
        }),
      ),
      fc.boolean(),
      async (size, chunkSize, foreignTail, padding, damage, withPool) => {
        const input = mixed(size, size + 1)
        // Piper's members, perhaps a member from zlib after them, perhaps zero padding.
        const parts = [await collect(compress([input], { chunkSize }))]
        if (foreignTail) parts.push(gzipSync(input.subarray(0, 5000)))
        parts.push(Buffer.alloc(padding))
        let gz = Buffer.concat(parts)
        if (damage.kind === 'cut') gz = gz.subarray(0, Math.floor(damage.at * gz.length))
        if (damage.kind === 'flip' && gz.length > 0)
          gz[Math.floor(damage.at * (gz.length - 1))]! ^= damage.xor
        const path = join(dir, `f${files++}.gz`)
        await writeFile(path, gz)
        const options = { pool: withPool ? pool : undefined, maxOutput: 1 << 20 }
        // Streamed in pieces of 30,000 bytes, members span pieces.
        const pieces = Array.from({ length: Math.ceil(gz.length / 30_000) }, (_, i) =>
          gz.subarray(i * 30_000, (i + 1) * 30_000),
        )
        const streamed = await outcome(() => decompress(pieces, options))
        const handle = await open(path, 'r')
        try {
          const fromFile = await outcome(() => decompress(handle, options))
          assert.deepEqual(fromFile, streamed)
        } finally {
          await handle.close()
        }
        if (damage.kind === 'whole') {
          const expected = foreignTail ? Buffer.concat([input, input.subarray(0, 5000)]) : input
          assert.deepEqual(streamed, Buffer.from(expected))
        }
      },
    ),
    { numRuns: 100 },
  )
})

test('a file cut anywhere fails as its bytes streamed do, naming the same byte', async () => {
  const gz = await collect(compress([mixed(300_000, 8)], { chunkSize: 100_000 }))
  const path = join(dir, 'cut.gz')
  for (let cut = 1; cut < gz.length; cut += 997) {
    const bytes = gz.subarray(0, cut)
    await writeFile(path, bytes)
    const handle = await open(path, 'r')
    try {
      assert.deepEqual(
        await outcome(() => decompress(handle, { pool })),
        await outcome(() => decompress([bytes], { pool })),
        `cut at ${cut}`,
      )
    } finally {
      await handle.close()
    }
  }
})

test('progress from a file counts the input consumed, up to its size', async () => {
  const input = mixed(200_000, 9)
  const gz = await collect(compress([input], { chunkSize: 30_000 }))
  const path = join(dir, 'progress.gz')
  await writeFile(path, gz)
  const seen: number[] = []
  const handle = await open(path, 'r')
  try {
    const output = await collect(decompress(handle, { pool, onProgress: (n) => seen.push(n) }))
    assert.deepEqual(output, Buffer.from(input))
  } finally {
    await handle.close()
  }
  assert.ok(seen.length >= 7, `told ${seen.length} times`)
  assert.deepEqual(
    seen,
    [...seen].sort((a, b) => a - b),
  )
  assert.equal(seen.at(-1), gz.length)
})
