import assert from 'node:assert/strict'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { it } from 'node:test'
import { S3BlobStore, s3OptionsFromUrl } from '../../src/blobs/index.ts'
import { collect } from '../helpers/collect.ts'
import { requireServer, S3, S3_ACCESS } from '../helpers/services.ts'
import { runBlobStoreContract } from './blob-store-contract.ts'

/** A store on a prefix of its own in the tests' bucket: nothing in it yet. */
function freshStore(): S3BlobStore {
  return new S3BlobStore({ ...S3_ACCESS, bucket: 'piper-tests', prefix: `t-${randomUUID()}/` })
}

runBlobStoreContract('s3 (Swift s3api)', {
  create: async (t) => {
    if (!(await requireServer(t, S3))) return undefined
    const store = freshStore()
    await store.start()
    return store
  },
})

it('s3: a URL names bucket, prefix, endpoint and region, never credentials', () => {
  assert.deepEqual(
    s3OptionsFromUrl('s3://photos/piper/blobs?endpoint=http://h:9000&region=eu-west-1'),
    {
      bucket: 'photos',
      prefix: 'piper/blobs/',
      endpoint: 'http://h:9000',
      region: 'eu-west-1',
    },
  )
  assert.equal(s3OptionsFromUrl('s3://photos').prefix, '')
  assert.throws(() => s3OptionsFromUrl('s3://key:secret@photos'), /no credentials/)
})

it('s3: a blob larger than one PUT goes up in parts, and a wrong size stores nothing', async (t) => {
  if (!(await requireServer(t, S3))) return
  const store = freshStore()
  await store.start()
  try {
    const bytes = randomBytes(20 * 1024 * 1024 + 123)
    const key = 'b'.repeat(64)
    async function* pieces() {
      for (let at = 0; at < bytes.length; at += 1 << 20) yield bytes.subarray(at, at + (1 << 20))
    }
    assert.deepEqual(await store.put(key, pieces()), { created: true, size: bytes.length })
    assert.deepEqual(
      await collect(await store.get(key, { start: 17_000_000, end: 19_000_000 })),
      bytes.subarray(17_000_000, 19_000_001),
    )
    const other = 'c'.repeat(64)
    await assert.rejects(store.put(other, pieces(), { expectedSize: bytes.length - 1 }), {
      code: 'E_BLOB_SIZE',
    })
    assert.equal(await store.stat(other), undefined)
  } finally {
    await store.close()
  }
})

it('s3: a known sha256 is sent for the server to check, and a wrong one stores nothing', async (t) => {
  if (!(await requireServer(t, S3))) return
  const store = freshStore()
  await store.start()
  try {
    const bytes = randomBytes(50_000)
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    assert.equal((await store.put(sha256, bytes, { sha256 })).created, true)
    assert.deepEqual(Buffer.from(await store.read(sha256)), bytes)
    const other = randomBytes(50_000)
    const key = createHash('sha256').update(other).digest('hex')
    await assert.rejects(store.put(key, other, { sha256 }))
    assert.equal(await store.stat(key), undefined)
  } finally {
    await store.close()
  }
})

it('s3: a server that is down is E_BLOB_UNAVAILABLE', async () => {
  const store = new S3BlobStore({ ...S3_ACCESS, endpoint: 'http://127.0.0.1:1', bucket: 'x' })
  await assert.rejects(store.start(), { code: 'E_BLOB_UNAVAILABLE' })
  await assert.rejects(store.stat('a'.repeat(64)), { code: 'E_BLOB_UNAVAILABLE' })
  await store.close()
})
