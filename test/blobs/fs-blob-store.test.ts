import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { FsBlobStore } from '../../src/blobs/index.ts'
import { runBlobStoreContract } from './blob-store-contract.ts'

const dirs: string[] = []
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'piper-blobs-'))
  dirs.push(dir)
  return dir
}

runBlobStoreContract('fs', {
  create: async () => {
    const store = new FsBlobStore(await freshDir())
    await store.start()
    return store
  },
})

it('fs: fans keys out into two folder levels and clears crash leftovers at start', async () => {
  const root = await freshDir()
  const store = new FsBlobStore(root)
  await store.start()
  const key = `abcdef${randomBytes(8).toString('hex')}`
  await store.put(key, randomBytes(10))
  assert.deepEqual(await readdir(join(root, 'ab', 'cd')), [key])
  // A temporary file as a crash mid-put leaves it: never visible under a key, gone at start.
  await writeFile(join(root, 'tmp', `${key}.deadbeef`), 'half a chunk')
  await store.close()
  const reopened = new FsBlobStore(root)
  await reopened.start()
  assert.deepEqual(await readdir(join(root, 'tmp')), [])
  const keys = []
  for await (const entry of reopened.list()) keys.push(entry.key)
  assert.deepEqual(keys, [key])
})
