import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { open } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createJob } from '../helpers/jobs-api.ts'
import { startPiper } from '../helpers/piper-server.ts'

/** GET `path`: the status, the bytes that arrived, and whether the body ended whole. */
function download(url: string, path: string, headers: Record<string, string> = {}) {
  const { hostname, port } = new URL(url)
  return new Promise<{ status: number; length: number; received: number; whole: boolean }>(
    (resolve) => {
      const req = request({ host: hostname, port, path, headers }, (res) => {
        let received = 0
        res.on('data', (d: Buffer) => {
          received += d.length
        })
        const length = Number(res.headers['content-length'])
        res.once('end', () => resolve({ status: res.statusCode!, length, received, whole: true }))
        res.once('aborted', () =>
          resolve({ status: res.statusCode!, length, received, whole: false }),
        )
        res.once('error', () =>
          resolve({ status: res.statusCode!, length, received, whole: false }),
        )
      })
      // Cut before the headers reached us: no answer at all, which is as good a failure.
      req.once('error', () => resolve({ status: 0, length: Number.NaN, received: 0, whole: false }))
      req.end()
    },
  )
}

it('a chunk damaged on disk is never served as good: downloads end short, jobs fail, the scrub names it', async () => {
  // Chunks of 512 KiB: stored and read with direct I/O (see fs-blob-store.ts), as chunks are.
  const piper = await startPiper(['--chunk-size', '512K'], { PIPER_SCRUB_SCHEDULE: '* * * * * *' })
  try {
    const bytes = randomBytes(400_000) // one chunk
    const put = await fetch(`${piper.url}/v1/files/d/photo.bin`, { method: 'PUT', body: bytes })
    assert.equal(put.status, 201)
    // The chunk's file, by its key (the sha256 of its bytes): flip one byte in the middle.
    const key = createHash('sha256').update(bytes).digest('hex')
    const path = join(piper.data, 'blobs', key.slice(0, 2), key.slice(2, 4), key)
    const file = await open(path, 'r+')
    await file.write(Buffer.from([bytes[300_000]! ^ 0xff]), 0, 1, 300_000)
    await file.close()

    // Its only chunk is checked before the status line: an error answer, whole or ranged.
    for (const headers of [{}, { range: 'bytes=10-20' }]) {
      const res = await fetch(`${piper.url}/v1/files/d/photo.bin`, { headers })
      assert.equal(res.status, 500)
      assert.equal(
        ((await res.json()) as { error: { code: string } }).error.code,
        'E_CHUNK_CORRUPT',
      )
    }
    // The same chunk after a good one (stored once, so damaged there too): the body ends
    // short of its Content-Length.
    const good = randomBytes(512 * 1024)
    await fetch(`${piper.url}/v1/files/d/two.bin`, {
      method: 'PUT',
      body: Buffer.concat([good, bytes]),
    })
    const cut = await download(piper.url, '/v1/files/d/two.bin')
    assert.equal(cut.status, 200)
    assert.ok(!cut.whole && cut.received < cut.length, `cut short: ${JSON.stringify(cut)}`)

    const job = await createJob(piper.url, { type: 'compress', input: 'd/photo.bin' })
    let state = job
    while (state.state !== 'failed' && state.state !== 'succeeded') {
      await sleep(50)
      state = (await (await fetch(`${piper.url}/v1/jobs/${job.id}`)).json()) as typeof job
    }
    assert.equal(state.state, 'failed')
    assert.equal(state.error?.code, 'E_CHUNK_CORRUPT')

    while (!piper.output().includes('"damaged chunk found"')) await sleep(50)
    assert.ok(piper.output().includes(key), 'the scrub names the damaged chunk')
    assert.equal(piper.child.exitCode, null)
  } finally {
    await piper.stop()
  }
})

it('a download of a file replaced mid-stream ends with the old bytes whole, or with an error: never a wrong or hanging body', async () => {
  const piper = await startPiper(['--chunk-size', '64K'])
  try {
    const old = randomBytes(20 * 64 * 1024)
    await fetch(`${piper.url}/v1/files/moving.bin`, { method: 'PUT', body: old })
    const { hostname, port } = new URL(piper.url)
    const outcome = await new Promise<{ whole: boolean; bytes: Buffer }>((resolve) => {
      const req = request({ host: hostname, port, path: '/v1/files/moving.bin' }, (res) => {
        const pieces: Buffer[] = []
        let replaced = false
        res.on('data', async (d: Buffer) => {
          pieces.push(d)
          if (replaced) return
          replaced = true
          // Replace the file while this download has most of it still to come.
          res.pause()
          const put = await fetch(`${piper.url}/v1/files/moving.bin`, {
            method: 'PUT',
            body: randomBytes(old.length),
          })
          assert.equal(put.status, 201)
          res.resume()
        })
        res.once('end', () => resolve({ whole: true, bytes: Buffer.concat(pieces) }))
        res.once('aborted', () => resolve({ whole: false, bytes: Buffer.concat(pieces) }))
        res.once('error', () => resolve({ whole: false, bytes: Buffer.concat(pieces) }))
      })
      req.once('error', () => resolve({ whole: false, bytes: Buffer.alloc(0) }))
      req.end()
    })
    if (outcome.whole) assert.ok(outcome.bytes.equals(old), 'a whole body is the old version')
    else
      assert.ok(
        old.subarray(0, outcome.bytes.length).equals(outcome.bytes),
        'what came is the old version',
      )
    assert.equal(piper.child.exitCode, null)
  } finally {
    await piper.stop()
  }
})
