import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { Upload } from 'tus-js-client'
import { type RunningPiper, startPiper } from '../helpers/piper-server.ts'
import { freePort } from '../helpers/ports.ts'
import { TcpProxy } from '../helpers/tcp-proxy.ts'

// Small chunks, so every upload here spans many of them and PATCHes end mid-chunk.
const CHUNK = 64 * 1024

/** Uploads `bytes` with tus-js-client to `endpoint`; resolves with the upload URL. */
function tusUpload(
  endpoint: string,
  bytes: Buffer,
  options: Partial<ConstructorParameters<typeof Upload>[1]> = {},
): { done: Promise<string>; upload: Upload } {
  const { promise, resolve, reject } = Promise.withResolvers<string>()
  const upload = new Upload(bytes, {
    endpoint,
    retryDelays: [0, 50, 100, 200, 400, 800],
    onError: reject,
    onSuccess: () => resolve(upload.url!),
    ...options,
  })
  upload.start()
  return { done: promise, upload }
}

async function download(url: string, name: string): Promise<Buffer> {
  const res = await fetch(`${url}/v1/files/${name}`)
  assert.equal(res.status, 200, await res.clone().text())
  return Buffer.from(await res.arrayBuffer())
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const tusHeaders = { 'tus-resumable': '1.0.0' }

describe('tus 1.0 with tus-js-client', () => {
  let piper: RunningPiper
  before(async () => {
    piper = await startPiper(['--chunk-size', String(CHUNK)])
  })
  after(async () => {
    assert.equal(await piper.stop(), 0, piper.output())
  })

  it('uploads a file in PATCHes of any size; it becomes an ordinary file with its sha256', async () => {
    const bytes = randomBytes(5 * CHUNK + 12_345)
    const { done } = tusUpload(`${piper.url}/v1/tus/`, bytes, {
      chunkSize: 100_000,
      metadata: { filename: 'tus/one.bin', filetype: 'application/x-test' },
    })
    await done
    assert.deepEqual(await download(piper.url, 'tus/one.bin'), bytes)
    const listed = (await (await fetch(`${piper.url}/v1/files?prefix=tus/`)).json()) as {
      files: { name: string; sha256: string; content_type: string; size: number }[]
    }
    const file = listed.files.find((f) => f.name === 'tus/one.bin')
    assert.equal(file?.sha256, sha256(bytes))
    assert.equal(file?.content_type, 'application/x-test')
  })

  it('pauses and resumes from the offset the server has', async () => {
    const bytes = randomBytes(8 * CHUNK)
    const paused = Promise.withResolvers<void>()
    const first = tusUpload(`${piper.url}/v1/tus/`, bytes, {
      chunkSize: 2 * CHUNK,
      metadata: { filename: 'tus/paused.bin' },
      onChunkComplete: (_size, sent) => {
        if (sent >= 4 * CHUNK) paused.resolve()
      },
    })
    await paused.promise
    await first.upload.abort()
    const url = first.upload.url!
    const head = await fetch(url, { method: 'HEAD', headers: tusHeaders })
    const offset = Number(head.headers.get('upload-offset'))
    assert.ok(offset >= 4 * CHUNK && offset < bytes.length, `offset ${offset}`)
    assert.ok(head.headers.get('upload-expires'), 'Upload-Expires is sent')
    assert.equal(
      (await fetch(`${piper.url}/v1/files/tus/paused.bin`)).status,
      404,
      'not a file yet',
    )
    const resumed = tusUpload(`${piper.url}/v1/tus/`, bytes, {
      uploadUrl: url,
      chunkSize: 2 * CHUNK,
    })
    assert.equal(await resumed.done, url)
    assert.deepEqual(await download(piper.url, 'tus/paused.bin'), bytes)
  })

  it('resumes after the connection is cut mid-PATCH, keeping the bytes that arrived', async () => {
    const proxy = await TcpProxy.start(Number(new URL(piper.url).port))
    try {
      const bytes = randomBytes(40 * CHUNK)
      // The PATCH (the whole file) is cut a third of the way in, mid-chunk.
      proxy.cutAfter(bytes.length / 3)
      const { done } = tusUpload(`http://127.0.0.1:${proxy.port}/v1/tus/`, bytes, {
        metadata: { filename: 'tus/cut.bin' },
      })
      await done
      assert.deepEqual(await download(piper.url, 'tus/cut.bin'), bytes)
      const kept = piper
        .output()
        .split('\n')
        .filter((line) => line.includes('tus patch cut off'))
        .map((line) => JSON.parse(line) as { offset: number })
      assert.equal(kept.length, 1, 'the cut PATCH was seen as cut')
      assert.ok(kept[0]!.offset > 0, 'the bytes that arrived before the cut were kept')
    } finally {
      await proxy.close()
    }
  })

  it('parallel uploads are joined by concatenation without copying chunks', async () => {
    const bytes = randomBytes(7 * CHUNK + 999)
    const { done } = tusUpload(`${piper.url}/v1/tus/`, bytes, {
      parallelUploads: 3,
      metadata: { filename: 'tus/parallel.bin' },
    })
    const url = await done
    assert.deepEqual(await download(piper.url, 'tus/parallel.bin'), bytes)
    const head = await fetch(url, { method: 'HEAD', headers: tusHeaders })
    assert.match(head.headers.get('upload-concat') ?? '', /^final;/)
    assert.equal(head.headers.get('upload-offset'), String(bytes.length))
    // The parts are freed once joined.
    const parts = (head.headers.get('upload-concat') ?? '').slice('final;'.length).split(' ')
    assert.equal(parts.length, 3)
    for (const part of parts) {
      const res = await fetch(new URL(part, piper.url), { method: 'HEAD', headers: tusHeaders })
      assert.equal(res.status, 404)
    }
  })

  it('metadata pipeline/then starts a job on the completed file', async () => {
    const text = Buffer.from('hello tus\n'.repeat(20_000))
    const { done } = tusUpload(`${piper.url}/v1/tus/`, text, {
      // A metadata key named `then` (as the query of PUT /v1/files/{name}?then=).
      metadata: Object.fromEntries([
        ['filename', 'tus/then.txt'],
        ['then', 'compress'],
      ]),
    })
    await done
    const jobs = (await (await fetch(`${piper.url}/v1/jobs`)).json()) as {
      jobs: { type: string; input: string }[]
    }
    assert.ok(jobs.jobs.some((j) => j.type === 'compress' && j.input === 'tus/then.txt'))
  })

  it('speaks the protocol: OPTIONS, versions, offsets, checksums, deferred length, termination', async () => {
    const base = `${piper.url}/v1/tus/`
    const options = await fetch(base, { method: 'OPTIONS' })
    assert.equal(options.status, 204)
    assert.equal(options.headers.get('tus-version'), '1.0.0')
    assert.match(options.headers.get('tus-extension') ?? '', /creation-defer-length/)
    assert.match(options.headers.get('tus-checksum-algorithm') ?? '', /sha256/)

    const noVersion = await fetch(base, { method: 'POST', headers: { 'upload-length': '3' } })
    assert.equal(noVersion.status, 412)
    assert.equal(noVersion.headers.get('tus-version'), '1.0.0')

    const meta = `filename ${Buffer.from('tus/raw.txt').toString('base64')}`
    const created = await fetch(base, {
      method: 'POST',
      headers: { ...tusHeaders, 'upload-defer-length': '1', 'upload-metadata': meta },
    })
    assert.equal(created.status, 201, await created.clone().text())
    const url = new URL(created.headers.get('location')!, piper.url).href
    const patch = (offset: number, body: string, extra: Record<string, string> = {}) =>
      fetch(url, {
        method: 'PATCH',
        headers: {
          ...tusHeaders,
          'content-type': 'application/offset+octet-stream',
          'upload-offset': String(offset),
          ...extra,
        },
        body,
      })
    const digest = (s: string, algorithm = 'sha256') =>
      `${algorithm} ${createHash(algorithm).update(s).digest('base64')}`

    const bad = await patch(0, 'hello ', { 'upload-checksum': digest('HELLO ') })
    assert.equal(bad.status, 460)
    const head = await fetch(url, { method: 'HEAD', headers: tusHeaders })
    assert.equal(head.headers.get('upload-offset'), '0', 'nothing of a mismatching PATCH is kept')
    assert.equal(head.headers.get('upload-defer-length'), '1')
    assert.equal(head.headers.get('cache-control'), 'no-store')

    const unknown = await patch(0, 'hello ', { 'upload-checksum': 'whirlpool AAAA' })
    assert.equal(unknown.status, 400)
    const first = await patch(0, 'hello ', { 'upload-checksum': digest('hello ', 'sha1') })
    assert.equal(first.status, 204)
    assert.equal(first.headers.get('upload-offset'), '6')
    assert.equal((await patch(3, 'lo ')).status, 409, 'a stale offset is a conflict')
    const wrongType = await fetch(url, {
      method: 'PATCH',
      headers: { ...tusHeaders, 'upload-offset': '6', 'content-type': 'text/plain' },
      body: 'x',
    })
    assert.equal(wrongType.status, 415)
    const last = await patch(6, 'world', { 'upload-length': '11' })
    assert.equal(last.status, 204)
    assert.equal(last.headers.get('upload-offset'), '11')
    assert.equal((await download(piper.url, 'tus/raw.txt')).toString(), 'hello world')
    assert.equal((await patch(11, 'more')).status, 413, 'no byte past the length')

    const doomed = await fetch(base, {
      method: 'POST',
      headers: { ...tusHeaders, 'upload-length': '10', 'upload-metadata': meta },
    })
    const doomedUrl = new URL(doomed.headers.get('location')!, piper.url).href
    const del = await fetch(doomedUrl, { method: 'DELETE', headers: tusHeaders })
    assert.equal(del.status, 204)
    const gone = await fetch(doomedUrl, { method: 'HEAD', headers: tusHeaders })
    assert.equal(gone.status, 404)
    assert.equal(
      (await fetch(base, { method: 'POST', headers: { ...tusHeaders, 'upload-length': '1' } }))
        .status,
      400,
      'a file name is required',
    )
  })
})

it('tus: an upload resumes after piper up is killed (kill -9) and started again', async () => {
  const port = await freePort()
  const args = ['--chunk-size', String(CHUNK), '--port', String(port)]
  let piper = await startPiper(args)
  const endpoint = `http://127.0.0.1:${port}/v1/tus/`
  const bytes = randomBytes(12 * CHUNK + 7)
  try {
    const halfway = Promise.withResolvers<void>()
    const first = tusUpload(endpoint, bytes, {
      chunkSize: 3 * CHUNK,
      metadata: { filename: 'killed.bin' },
      onChunkComplete: (_size, sent) => {
        if (sent >= 6 * CHUNK) halfway.resolve()
      },
      onError: () => {}, // the process dies under it
    })
    await halfway.promise
    const url = first.upload.url!
    await first.upload.abort()
    piper.child.kill('SIGKILL')
    await piper.exited
    piper = await startPiper(args, {}, piper.data)
    const resumed = tusUpload(endpoint, bytes, { uploadUrl: url, chunkSize: 3 * CHUNK })
    assert.equal(await resumed.done, url)
    assert.deepEqual(await download(piper.url, 'killed.bin'), bytes)
  } finally {
    await piper.stop()
  }
})
