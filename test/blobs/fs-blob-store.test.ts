import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import fc from 'fast-check'
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

it('fs: large blobs go through direct I/O and come back byte for byte, whatever their size', async () => {
  const direct = new FsBlobStore(await freshDir())
  const buffered = new FsBlobStore(await freshDir(), { directIo: false })
  const file = (store: FsBlobStore, key: string) =>
    readFile(join(store.root, key.slice(0, 2), key.slice(2, 4), key))
  await direct.start()
  await buffered.start()
  // Sizes on both sides of the 4 KiB blocks and 1 MiB pieces direct I/O moves, from the
  // smallest blob it takes (256 KiB) up.
  const size = fc.oneof(
    fc.integer({ min: 256 * 1024, max: 3 * 1024 * 1024 }),
    fc.constantFrom(256 * 1024, 256 * 1024 + 1, 1 << 20, (1 << 20) - 1, (1 << 20) + 4097),
  )
  await fc.assert(
    fc.asyncProperty(size, fc.nat(), async (n, seed) => {
      const bytes = randomBytes(n)
      const key = createHash('sha256').update(bytes).digest('hex')
      assert.deepEqual(await direct.put(key, bytes), { created: true, size: n })
      await buffered.put(key, bytes)
      assert.deepEqual(await direct.stat(key), { size: n })
      assert.ok(Buffer.from(await direct.read(key)).equals(bytes))
      // Read back through the page cache too, by range.
      const start = seed % n
      const pieces = []
      for await (const piece of await direct.get(key, { start, end: n - 1 })) pieces.push(piece)
      assert.ok(Buffer.concat(pieces).equals(bytes.subarray(start)))
      assert.ok(Buffer.from(await buffered.read(key)).equals(bytes))
      assert.ok((await file(direct, key)).equals(await file(buffered, key)))
    }),
    { numRuns: 12 },
  )
})

it('fs: a file system that refuses direct I/O gets ordinary writes and reads', async (t) => {
  // ramfs refuses O_DIRECT (EINVAL); mounting it takes root, which CI runs as here.
  const mountPoint = await freshDir()
  const mounted = spawnSync('mount', ['-t', 'ramfs', 'none', mountPoint])
  if (mounted.status !== 0) {
    const why = `cannot mount a ramfs here (${mounted.stderr.toString().trim()}): needs root`
    // CI runs as root on this machine: there the fallback must be tested, not skipped.
    if (process.env.CI === 'true') assert.fail(why)
    t.skip(why)
    return
  }
  try {
    const store = new FsBlobStore(mountPoint)
    await store.start()
    const bytes = randomBytes(700_000)
    const key = createHash('sha256').update(bytes).digest('hex')
    assert.deepEqual(await store.put(key, bytes), { created: true, size: bytes.length })
    assert.ok(Buffer.from(await store.read(key)).equals(bytes))
    const path = join(mountPoint, key.slice(0, 2), key.slice(2, 4), key)
    assert.equal((await stat(path)).size, bytes.length)
  } finally {
    spawnSync('umount', [mountPoint])
  }
})

it('fs: a blob the disk has no room for, small or large, is E_STORAGE_FULL and leaves no file behind', async () => {
  const root = await freshDir()
  // A process whose files may not pass 16 KiB (`ulimit -f`): writes past it fail with EFBIG, as
  // on a full disk. A small blob is written with ordinary I/O, a large one with direct I/O.
  const script = `
    import { readdir } from 'node:fs/promises'
    import { createHash, randomBytes } from 'node:crypto'
    import { FsBlobStore } from ${JSON.stringify(new URL('../../src/blobs/index.ts', import.meta.url).href)}
    const store = new FsBlobStore(${JSON.stringify(root)})
    await store.start()
    const put = async (size) => {
      const bytes = randomBytes(size)
      const key = createHash('sha256').update(bytes).digest('hex')
      try {
        await store.put(key, bytes)
        return { size, stored: (await store.stat(key))?.size }
      } catch (error) {
        return { size, code: error.code, stored: (await store.stat(key))?.size }
      }
    }
    const results = [await put(4096), await put(40000), await put(300000), await put(8000)]
    const left = (await readdir(${JSON.stringify(join(root, 'tmp'))}, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile()).map((e) => e.name)
    console.log(JSON.stringify({ results, left }))
  `
  const run = spawnSync(
    'bash',
    ['-c', 'ulimit -f 16 && exec "$0" --input-type=module -e "$1"', process.execPath, script],
    { encoding: 'utf8' },
  )
  assert.equal(run.status, 0, run.stderr)
  const { results, left } = JSON.parse(run.stdout)
  assert.deepEqual(results, [
    { size: 4096, stored: 4096 },
    { size: 40000, code: 'E_STORAGE_FULL' },
    { size: 300000, code: 'E_STORAGE_FULL' },
    { size: 8000, stored: 8000 },
  ])
  assert.deepEqual(left, [], 'no temporary file stays')
})
