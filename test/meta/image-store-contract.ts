import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it, type TestContext } from 'node:test'
import fc from 'fast-check'
import { hammingDistance } from '../../src/images/index.ts'
import type { ImageStore, MetaStore } from '../../src/meta/index.ts'

type Store = MetaStore & ImageStore

export interface ImageStoreContractOptions {
  /** A fresh, started store, or undefined when its database is absent (the test skips). */
  create: (t: TestContext) => Promise<Store | undefined>
}

/** An empty file of the given content hash (file rows are what image entries hang on). */
async function file(meta: Store, client: string, name: string, content = name, size = 0) {
  const id = await meta.beginUpload(client, name)
  const sha256 = createHash('sha256').update(content).digest('hex')
  if (size > 0) {
    await meta.addUploadChunk(id, 0, { key: sha256, size, frequencies: new Uint32Array(256) })
  }
  const { file } = await meta.commitUpload(id, {
    size,
    sha256,
    contentType: 'image/jpeg',
  })
  return file
}

const entry = (fileId: string, clientId: string, more: object = {}) => ({
  fileId,
  clientId,
  format: 'jpeg',
  width: 40,
  height: 30,
  bytes: 1000,
  ...more,
})

/** A 64-bit hash in hex from two 32-bit halves. */
const hex = (hi: number, lo: number) =>
  (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0')

/** The behaviour every `ImageStore` adapter must have. */
export function runImageStoreContract(name: string, options: ImageStoreContractOptions): void {
  describe(`ImageStore contract: ${name}`, () => {
    async function withStore(t: TestContext, fn: (meta: Store) => Promise<void>) {
      const meta = await options.create(t)
      if (!meta) return
      try {
        await fn(meta)
      } finally {
        await meta.close()
      }
    }

    it('keeps hashes and stats of a file together, and drops them with the file', (t) =>
      withStore(t, async (meta) => {
        const f = await file(meta, 'ann', 'a.jpg')
        await meta.saveImage(
          entry(f.id, 'ann', { phash: 'ffff0000ffff0000', dhash: '0123456789abcdef' }),
        )
        await meta.saveImage(entry(f.id, 'ann', { stats: { sharpness: 3 } }))
        const saved = await meta.image(f.id)
        assert.equal(saved?.phash, 'ffff0000ffff0000')
        assert.equal(saved?.dhash, '0123456789abcdef')
        assert.deepEqual(saved?.stats, { sharpness: 3 })
        await file(meta, 'ann', 'a.jpg', 'new content') // replaced: a new file, no entry
        assert.equal(await meta.image(f.id), undefined)
        assert.deepEqual(await meta.nearImages('ann', 'ffff0000ffff0000', 12), [])
        // An entry for a file already gone is not made (and is no error).
        await meta.saveImage(entry(f.id, 'ann', { phash: 'ffff0000ffff0000' }))
        assert.equal(await meta.image(f.id), undefined)
      }))

    it('finds exactly the hashes within the distance, as a linear scan does (property)', (t) =>
      withStore(t, async (meta) => {
        // Hashes in clusters around a few centres, so every distance has matches to find.
        const centres = [hex(0x12345678, 0x9abcdef0), hex(0, 0), hex(0xffffffff, 0x0f0f0f0f)]
        const rng = fc.sample(fc.tuple(fc.nat(2), fc.array(fc.nat(63), { maxLength: 14 })), {
          numRuns: 240,
          seed: 7,
        })
        const stored: { name: string; phash: string }[] = []
        for (const [i, [c, flips]] of rng.entries()) {
          let hi = parseInt(centres[c]!.slice(0, 8), 16)
          let lo = parseInt(centres[c]!.slice(8), 16)
          for (const bit of flips) {
            if (bit < 32) hi ^= 1 << bit
            else lo ^= 1 << (bit - 32)
          }
          const f = await file(meta, 'bea', `img-${i}.jpg`)
          stored.push({ name: f.name, phash: hex(hi, lo) })
          await meta.saveImage(entry(f.id, 'bea', { phash: hex(hi, lo), dhash: hex(0, 0) }))
        }
        // Another client's identical hashes are never found.
        const other = await file(meta, 'cat', 'img-0.jpg')
        await meta.saveImage(entry(other.id, 'cat', { phash: stored[0]!.phash }))
        await fc.assert(
          fc.asyncProperty(
            fc.nat(stored.length - 1),
            fc.array(fc.nat(63), { maxLength: 8 }),
            fc.integer({ min: 0, max: 12 }),
            async (pick, flips, distance) => {
              let hi = parseInt(stored[pick]!.phash.slice(0, 8), 16)
              let lo = parseInt(stored[pick]!.phash.slice(8), 16)
              for (const bit of flips) {
                if (bit < 32) hi ^= 1 << bit
                else lo ^= 1 << (bit - 32)
              }
              const query = hex(hi, lo)
              const found = await meta.nearImages('bea', query, distance)
              const expected = stored
                .map((s) => ({ name: s.name, distance: hammingDistance(query, s.phash) }))
                .filter((s) => s.distance <= distance)
              assert.deepEqual(
                found.map((m) => `${m.name}:${m.distance}`).sort(),
                expected.map((m) => `${m.name}:${m.distance}`).sort(),
              )
            },
          ),
          { numRuns: 120, seed: 11 },
        )
      }))

    it('pages hashed images by name, and counts outputs once per job', (t) =>
      withStore(t, async (meta) => {
        for (const n of ['c.jpg', 'a.jpg', 'b.jpg', 'd.jpg']) {
          const f = await file(meta, 'dan', n, n === 'd.jpg' ? 'a.jpg' : n, 500)
          await meta.saveImage(entry(f.id, 'dan', n === 'b.jpg' ? {} : { phash: hex(1, 2) }))
        }
        const first = await meta.hashedImages('dan', { limit: 2 })
        assert.deepEqual(
          first.map((i) => i.name),
          ['a.jpg', 'c.jpg'],
        )
        const rest = await meta.hashedImages('dan', { after: 'c.jpg', limit: 2 })
        assert.deepEqual(
          rest.map((i) => i.name),
          ['d.jpg'],
        )
        const job = {
          jobId: 'j1',
          clientId: 'dan',
          kind: 'image.convert',
          outputs: 1,
          bytesIn: 900,
          bytesOut: 300,
        }
        await meta.saveImageOutputs(job)
        await meta.saveImageOutputs(job) // a task run again
        await meta.saveImageOutputs({ ...job, jobId: 'j2', kind: 'image.variants', outputs: 3 })
        const now = Date.now()
        const figures = await meta.imageBuckets('dan', {
          from: now - 60_000,
          to: now + 60_000,
          bucketMs: 3_600_000,
        })
        assert.equal(
          figures.images.reduce((n, b) => n + b.images, 0),
          4,
        )
        assert.equal(
          figures.images.reduce((n, b) => n + (b.formats.jpeg ?? 0), 0),
          4,
        )
        const convert = figures.outputs.filter((o) => o.kind === 'image.convert')
        assert.equal(
          convert.reduce((n, o) => n + o.jobs, 0),
          1,
        )
        assert.equal(
          convert.reduce((n, o) => n + o.bytesIn - o.bytesOut, 0),
          600,
        )
        assert.equal(figures.dedupBytes, 500) // d.jpg repeats a.jpg's content
        const none = await meta.imageBuckets('eve', {
          from: now - 60_000,
          to: now + 60_000,
          bucketMs: 60_000,
        })
        assert.deepEqual(none, { images: [], outputs: [], dedupBytes: 0 })
      }))
  })
}
