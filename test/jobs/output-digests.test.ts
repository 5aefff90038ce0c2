import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import fc from 'fast-check'
import { type BlobStore, FsBlobStore } from '../../src/blobs/index.ts'
import { FileService } from '../../src/files/index.ts'
import { OutputDigests } from '../../src/jobs/output-digests.ts'
import { SqliteDriver, SqlMetaStore } from '../../src/meta/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'

const dir = await mkdtemp(join(tmpdir(), 'piper-digests-'))
const blobs = new FsBlobStore(join(dir, 'blobs'))
const meta = new SqlMetaStore(new SqliteDriver(join(dir, 'meta.db')))
await blobs.start()
await meta.start()
let reads = 0
// The store, counting what the join reads back.
const counted: BlobStore = new Proxy(blobs, {
  get(target, property) {
    if (property === 'read') {
      return (key: string) => {
        reads++
        return target.read(key)
      }
    }
    const value = Reflect.get(target, property, target)
    return typeof value === 'function' ? value.bind(target) : value
  },
})
const files = new FileService({
  blobs: counted,
  meta,
  chunkSize: 1 << 20,
  logger: createLogger({ level: 'silent' }),
})
after(async () => {
  await meta.close()
  await rm(dir, { recursive: true, force: true })
})

it('a job output hashed as its parts are stored, in any order and with repeats, has the digest of its bytes, and the join reads back only what was not hashed', async () => {
  let run = 0
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 16 }),
      fc.integer({ min: 0, max: 1200 }),
      async (parts, order, budget) => {
        // The order parts are stored in: a shuffle of all of them, then some stored again.
        const seqs = parts.map((_, i) => i)
        for (let i = seqs.length - 1; i > 0; i--) {
          const j = (order[i] ?? i) % (i + 1)
          ;[seqs[i], seqs[j]] = [seqs[j]!, seqs[i]!]
        }
        seqs.push(...order.slice(0, 3).map((n) => n % parts.length))
        const digests = new OutputDigests({ waitingBytes: budget })
        const job = `job${run++}`
        const uploadId = await files.beginUpload('c', `out${run}`)
        for (const seq of seqs) {
          const key = await files.storeChunk(uploadId, seq, parts[seq]!, { keyOnly: true })
          digests.add(job, seq, key, parts[seq]!.slice())
        }
        const hashed = digests.take(job)!
        assert.equal(digests.take(job), undefined, 'a digest is taken once')
        reads = 0
        const digest = await files.uploadDigest(uploadId, hashed)
        const whole = Buffer.concat(parts)
        assert.deepEqual(digest, {
          size: whole.length,
          sha256: createHash('sha256').update(whole).digest('hex'),
        })
        assert.equal(reads, parts.length - hashed.keys.length)
        if (seqs.slice(0, parts.length).every((seq, i) => seq === i)) {
          assert.equal(hashed.keys.length, parts.length, 'parts stored in order are all hashed')
        }
        await files.abortUpload(uploadId)
      },
    ),
    { numRuns: 60 },
  )
})

it('a digest that is not of the upload (another process’s parts, a replaced chunk) is not used', async () => {
  const uploadId = await files.beginUpload('c', 'other')
  const digests = new OutputDigests()
  const a = new TextEncoder().encode('first part')
  const b = new TextEncoder().encode('second part')
  await files.storeChunk(uploadId, 0, a, { keyOnly: true })
  await files.storeChunk(uploadId, 1, b, { keyOnly: true })
  // This process hashed other bytes under part 0 (say, of an input since replaced).
  digests.add('j', 0, createHash('sha256').update('else').digest('hex'), Buffer.from('else'))
  reads = 0
  const digest = await files.uploadDigest(uploadId, digests.take('j'))
  assert.equal(digest.sha256, createHash('sha256').update(a).update(b).digest('hex'))
  assert.equal(reads, 2, 'both chunks read back')
})
