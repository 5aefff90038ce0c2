import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { it } from 'node:test'
import { startPiper } from '../helpers/piper-server.ts'

/** Every file under `dir` (recursively), as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
}

it('a full disk answers an upload with 507 E_STORAGE_FULL, leaves nothing half-visible, and keeps serving', async () => {
  // Files of at most 2 MiB: a 4 MiB chunk cannot be written, a small file can.
  const piper = await startPiper([], {}, undefined, { fileSizeLimitKiB: 2048 })
  try {
    const big = randomBytes(6 << 20)
    const res = await fetch(`${piper.url}/v1/files/big.bin`, { method: 'PUT', body: big })
    const body = (await res.json()) as { error: { code: string; message: string } }
    assert.equal(res.status, 507, JSON.stringify(body))
    assert.equal(body.error.code, 'E_STORAGE_FULL')
    assert.equal((await fetch(`${piper.url}/v1/files/big.bin`)).status, 404, 'no file appears')
    const blobs = join(piper.data, 'blobs')
    const left = (await filesUnder(blobs)).filter((f) => !f.startsWith('tmp/'))
    assert.deepEqual(left, [], 'no chunk of the failed upload stays')
    assert.deepEqual(await filesUnder(join(blobs, 'tmp')), [], 'no temporary file stays')

    const small = randomBytes(100_000)
    const ok = await fetch(`${piper.url}/v1/files/small.bin`, { method: 'PUT', body: small })
    assert.equal(ok.status, 201)
    const back = Buffer.from(await (await fetch(`${piper.url}/v1/files/small.bin`)).arrayBuffer())
    assert.ok(back.equals(small))
    assert.equal(piper.child.exitCode, null)
  } finally {
    await piper.stop()
  }
})
