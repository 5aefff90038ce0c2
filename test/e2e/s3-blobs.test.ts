import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { it } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { S3BlobStore } from '../../src/blobs/index.ts'
import { createJob, download, finished, putFile } from '../helpers/jobs-api.ts'
import { startPiper } from '../helpers/piper-server.ts'
import { requireServer, S3, S3_ACCESS } from '../helpers/services.ts'

it('piper up on s3:// blobs: uploads, ranged downloads and a compress job, chunks in the bucket', async (t) => {
  if (!(await requireServer(t, S3))) return
  const prefix = `e2e-${randomUUID()}/`
  const url = `s3://piper-tests/${prefix}?endpoint=${encodeURIComponent(S3_ACCESS.endpoint)}&region=us-east-1`
  const piper = await startPiper(['--blobs', url, '--chunk-size', '1M'], {
    AWS_ACCESS_KEY_ID: S3_ACCESS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3_ACCESS.credentials.secretAccessKey,
  })
  try {
    const bytes = Buffer.concat([randomBytes(1_500_000), Buffer.from('text '.repeat(400_000))])
    const stored = await putFile(piper.url, 'big/mixed.bin', bytes)
    assert.equal(stored.chunks, 4)
    assert.deepEqual(await download(piper.url, 'big/mixed.bin'), bytes)
    const part = await fetch(`${piper.url}/v1/files/big/mixed.bin`, {
      headers: { range: 'bytes=1000000-2100000' },
    })
    assert.equal(part.status, 206)
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(1_000_000, 2_100_001))
    const job = await createJob(piper.url, { type: 'compress', input: 'big/mixed.bin' })
    assert.equal((await finished(piper.url, job.id)).state, 'succeeded')
    assert.deepEqual(gunzipSync(await download(piper.url, 'big/mixed.bin.gz')), bytes)

    const bucket = new S3BlobStore({ ...S3_ACCESS, bucket: 'piper-tests', prefix })
    let objects = 0
    for await (const _ of bucket.list()) objects++
    assert.ok(objects >= 8, `${objects} chunks in the bucket (4 of the file, 4 of its gzip)`)
    await bucket.close()
  } finally {
    assert.equal(await piper.stop(), 0, piper.output())
  }
})
