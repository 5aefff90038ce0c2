import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
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
  // Temporary files as a crash mid-put leaves them (in the old shared folder, and in the folder
  // of a process that is gone): never visible under a key, gone at start.
  await writeFile(join(root, 'tmp', `${key}.deadbeef`), 'half a chunk')
  await mkdir(join(root, 'tmp', '999999999.dead'))
  await writeFile(join(root, 'tmp', '999999999.dead', `${key}.cafe`), 'half a chunk')
  await store.close()
  const reopened = new FsBlobStore(root)
  await reopened.start()
  const left = await readdir(join(root, 'tmp'))
  assert.equal(left.length, 2, `the old and the new store's folders remain: ${left}`)
  assert.ok(left.every((name) => name.startsWith(`${process.pid}.`)))
  const keys = []
  for await (const entry of reopened.list()) keys.push(entry.key)
  assert.deepEqual(keys, [key])
})

it('fs: a second store on the same folder never deletes a write in progress', async () => {
  const root = await freshDir()
  const first = new FsBlobStore(root)
  await first.start()
  const key = `0123${randomBytes(16).toString('hex')}`
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  async function* slow() {
    yield Buffer.from('first half, ')
    await gate
    yield Buffer.from('second half')
  }
  const writing = first.put(key, slow())
  // Another process (here: another store) starts on the same folder mid-write.
  const second = new FsBlobStore(root)
  await second.start()
  release()
  assert.deepEqual(await writing, { created: true, size: 23 })
  const pieces = []
  for await (const piece of await second.get(key)) pieces.push(piece)
  assert.equal(Buffer.concat(pieces).toString(), 'first half, second half')
  await first.close()
  await second.close()
})
