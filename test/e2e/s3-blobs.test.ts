import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { it } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { S3BlobStore } from '../../src/blobs/index.ts'
import { createJob, download, finished, putFile } from '../helpers/jobs-api.ts'
import { startPiper } from '../helpers/piper-server.ts'
import { requireServer, S3, S3_ACCESS } from '../helpers/services.ts'
import { TcpProxy } from '../helpers/tcp-proxy.ts'

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

it('s3:// behind a circuit breaker: a bucket that stops answering gives fast 503s, /readyz and /metrics say so, and it closes once the bucket is back', async (t) => {
  if (!(await requireServer(t, S3))) return
  // The bucket's server behind a proxy the test can take down and bring back on the same port.
  const s3Port = Number(new URL(S3_ACCESS.endpoint).port)
  let proxy = await TcpProxy.start(s3Port)
  const port = proxy.port
  const endpoint = `http://127.0.0.1:${port}`
  const url = `s3://piper-tests/breaker-${randomUUID()}/?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1`
  const piper = await startPiper(['--blobs', url, '--circuit-reset-ms', '300'], {
    AWS_ACCESS_KEY_ID: S3_ACCESS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3_ACCESS.credentials.secretAccessKey,
  })
  const state = async () =>
    /piper_dependency_circuit_state\{dependency="blobs"\} (\d)/.exec(
      await (await fetch(`${piper.url}/metrics`)).text(),
    )?.[1]
  try {
    assert.equal((await putFile(piper.url, 'b/one.txt', Buffer.from('one'))).size, 3)
    assert.equal(await state(), '0')
    await proxy.close()
    // Each upload fails (503) until five failures in a row open the circuit.
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${piper.url}/v1/files/b/${i}.txt`, { method: 'PUT', body: `${i}` })
      assert.equal(res.status, 503)
    }
    assert.equal(await state(), '1', 'open')
    const open = await fetch(`${piper.url}/v1/files/b/x.txt`, { method: 'PUT', body: 'x' })
    assert.equal(open.status, 503)
    assert.equal(
      ((await open.json()) as { error: { code: string } }).error.code,
      'E_BLOB_UNAVAILABLE',
    )
    const unready = await fetch(`${piper.url}/readyz`)
    assert.equal(unready.status, 503)
    assert.deepEqual(((await unready.json()) as { failing: string[] }).failing, ['blobs'])
    // Back: /readyz's probe goes through once the circuit half-opens, and closes it.
    proxy = await TcpProxy.start(s3Port, port)
    while ((await fetch(`${piper.url}/readyz`)).status !== 200 || (await state()) !== '0') {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.equal((await putFile(piper.url, 'b/two.txt', Buffer.from('two'))).size, 3)
  } finally {
    await proxy.close()
    assert.equal(await piper.stop(), 0, piper.output())
  }
})
