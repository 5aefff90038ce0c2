import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, it, type TestContext } from 'node:test'
import { BlobError, type BlobStore } from '../../src/blobs/index.ts'
import { freeNow } from '../../src/codec/index.ts'
import { collect } from '../helpers/collect.ts'

export interface BlobStoreContractOptions {
  /** A fresh, started store with nothing in it, or undefined when its server is absent (skip). */
  create: (t: TestContext) => Promise<BlobStore | undefined>
}

function keyOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

async function* pieces(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
}

/** The behaviour every `BlobStore` adapter must have: fs, s3 (and storage nodes). */
export function runBlobStoreContract(name: string, options: BlobStoreContractOptions): void {
  describe(`BlobStore contract: ${name}`, () => {
    async function withStore(t: TestContext, fn: (store: BlobStore) => Promise<void>) {
      const store = await options.create(t)
      if (!store) return
      try {
        await fn(store)
      } finally {
        await store.close()
        await store.close() // idempotent
      }
    }

    it('stores bytes and returns them whole and by range', (t) =>
      withStore(t, async (store) => {
        const bytes = randomBytes(300_000)
        const key = keyOf(bytes)
        assert.deepEqual(await store.put(key, pieces(bytes, 65_536)), {
          created: true,
          size: bytes.length,
        })
        assert.deepEqual(await collect(await store.get(key)), bytes)
        assert.deepEqual(Buffer.from(await store.read(key)), bytes)
        const part = await store.get(key, { start: 1000, end: 199_999 })
        assert.deepEqual(await collect(part), bytes.subarray(1000, 200_000))
        const last = await store.get(key, { start: bytes.length - 1, end: bytes.length - 1 })
        assert.deepEqual(await collect(last), bytes.subarray(bytes.length - 1))
        assert.deepEqual(await store.stat(key), { size: bytes.length })
      }))

    it('stores an empty blob', (t) =>
      withStore(t, async (store) => {
        const key = keyOf(new Uint8Array(0))
        await store.put(key, new Uint8Array(0))
        assert.deepEqual(await store.stat(key), { size: 0 })
        assert.equal((await collect(await store.get(key))).length, 0)
        assert.equal((await store.read(key)).length, 0)
      }))

    it('streams pieces that are buffers of their own, which a consumer may free', (t) =>
      withStore(t, async (store) => {
        const bytes = randomBytes(1_000_000)
        const key = keyOf(bytes)
        await store.put(key, bytes)
        const pieces: Uint8Array[] = []
        for await (const piece of await store.get(key)) pieces.push(piece)
        assert.ok(pieces.length > 1, 'a megabyte comes in several pieces')
        assert.equal(new Set(pieces.map((p) => p.buffer)).size, pieces.length)
        assert.deepEqual(Buffer.concat(pieces), bytes)
        for (const piece of pieces) freeNow(piece)
        assert.deepEqual(await collect(await store.get(key)), bytes)
      }))

    it('reads each blob into a buffer of its own', (t) =>
      withStore(t, async (store) => {
        const bytes = randomBytes(5000)
        const key = keyOf(bytes)
        await store.put(key, bytes)
        const [a, b] = [await store.read(key), await store.read(key)]
        a.fill(0)
        assert.deepEqual(Buffer.from(b), bytes, 'a change to one read shows in neither the other')
        assert.deepEqual(Buffer.from(await store.read(key)), bytes, 'nor in the blob')
      }))

    it('reads into memory the caller lends, or into its own, checked or not: the bytes either way', (t) =>
      withStore(t, async (store) => {
        // Small and past the size the fs store reads with direct I/O.
        for (const size of [5000, 300_000]) {
          const bytes = randomBytes(size)
          const key = keyOf(bytes)
          await store.put(key, bytes)
          const lent: Uint8Array[] = []
          const allocate = (n: number) => {
            const memory = new Uint8Array(n).fill(0xee)
            lent.push(memory)
            return memory
          }
          const read = await store.read(key, { allocate })
          assert.deepEqual(Buffer.from(read), bytes)
          assert.ok(lent.length <= 1, 'asks for memory once at most')
          if (lent[0]) {
            assert.equal(lent[0].length, size, 'exactly the blob’s size')
            assert.equal(read.buffer, lent[0].buffer, 'and reads into what it asked for')
          }
          const unchecked = await store.read(key, { unchecked: true })
          assert.deepEqual(Buffer.from(unchecked), bytes, 'asked unchecked: the same bytes')
        }
      }))

    it('a second put of a key is a no-op that reports created: false', (t) =>
      withStore(t, async (store) => {
        const bytes = randomBytes(1000)
        const key = keyOf(bytes)
        assert.equal((await store.put(key, bytes)).created, true)
        assert.equal((await store.put(key, pieces(bytes, 100))).created, false)
        assert.deepEqual(await collect(await store.get(key)), bytes)
      }))

    it('concurrent puts of one key store it once, whole', (t) =>
      withStore(t, async (store) => {
        const bytes = randomBytes(200_000)
        const key = keyOf(bytes)
        const results = await Promise.all(
          Array.from({ length: 6 }, () => store.put(key, pieces(bytes, 7000))),
        )
        assert.equal(results.filter((r) => r.created).length, 1)
        assert.deepEqual(await collect(await store.get(key)), bytes)
      }))

    it('owns what a source yields once it asks for the next piece (memory reused by the source)', (t) =>
      withStore(t, async (store) => {
        const bytes = randomBytes(3 * 65_536 + 17)
        const key = keyOf(bytes)
        // One buffer, refilled for every piece: a store that kept a reference would store junk.
        async function* reusing(): AsyncIterable<Uint8Array> {
          const buffer = new Uint8Array(65_536)
          for (let at = 0; at < bytes.length; at += buffer.length) {
            const piece = bytes.subarray(at, at + buffer.length)
            buffer.set(piece)
            yield buffer.subarray(0, piece.length)
            buffer.fill(0xee)
          }
        }
        await store.put(key, reusing())
        assert.deepEqual(await collect(await store.get(key)), bytes)
      }))

    it('a source that fails stores nothing under the key', (t) =>
      withStore(t, async (store) => {
        const key = keyOf(randomBytes(8))
        async function* failing(): AsyncIterable<Uint8Array> {
          yield randomBytes(5000)
          throw new Error('client went away')
        }
        await assert.rejects(store.put(key, failing()), /client went away/)
        assert.equal(await store.stat(key), undefined)
        await assert.rejects(store.get(key), { code: 'E_BLOB_NOT_FOUND' })
        await assert.rejects(store.read(key), { code: 'E_BLOB_NOT_FOUND' })
      }))

    it('a source of the wrong size fails with E_BLOB_SIZE and stores nothing', (t) =>
      withStore(t, async (store) => {
        const bytes = randomBytes(1000)
        const key = keyOf(bytes)
        await assert.rejects(store.put(key, bytes, { expectedSize: 999 }), {
          code: 'E_BLOB_SIZE',
        })
        assert.equal(await store.stat(key), undefined)
      }))

    it('missing keys, bad ranges and hostile keys are typed errors', (t) =>
      withStore(t, async (store) => {
        const bytes = randomBytes(100)
        const key = keyOf(bytes)
        await assert.rejects(store.get(keyOf(randomBytes(4))), (e) => {
          assert.ok(e instanceof BlobError)
          assert.equal(e.code, 'E_BLOB_NOT_FOUND')
          return true
        })
        await store.put(key, bytes)
        await assert.rejects(store.get(key, { start: 50, end: 100 }), { code: 'E_BLOB_RANGE' })
        await assert.rejects(store.get(key, { start: 10, end: 5 }), { code: 'E_BLOB_RANGE' })
        for (const bad of ['../../etc/passwd', 'ab/cd', '', '.hidden', 'a', 'x'.repeat(201)]) {
          await assert.rejects(store.put(bad, bytes), { code: 'E_BLOB_KEY' }, bad)
          await assert.rejects(store.get(bad), { code: 'E_BLOB_KEY' }, bad)
        }
      }))

    it('deletes, lists what is stored, and reports absent keys', (t) =>
      withStore(t, async (store) => {
        const blobs = Array.from({ length: 5 }, (_, i) => randomBytes(10 + i))
        for (const b of blobs) await store.put(keyOf(b), b)
        const listed = new Map<string, number>()
        for await (const entry of store.list()) listed.set(entry.key, entry.size)
        assert.deepEqual(listed, new Map(blobs.map((b) => [keyOf(b), b.length])))
        // By prefix: one, two, three or more characters of the key.
        const key = keyOf(blobs[2]!)
        for (const n of [1, 2, 3, 5, key.length]) {
          const under = []
          for await (const entry of store.list(key.slice(0, n))) under.push(entry.key)
          const expected = blobs.map(keyOf).filter((k) => k.startsWith(key.slice(0, n)))
          assert.deepEqual(under.sort(), expected.sort(), `prefix of ${n}`)
        }
        assert.equal(await store.delete(keyOf(blobs[0]!)), true)
        assert.equal(await store.delete(keyOf(blobs[0]!)), false)
        assert.equal(await store.stat(keyOf(blobs[0]!)), undefined)
        assert.ok(await store.stat(keyOf(blobs[1]!)))
      }))
  })
}
