import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { FsBlobStore } from '../../src/blobs/index.ts'
import { FileService, GarbageCollector } from '../../src/files/index.ts'
import { SqliteDriver, SqlMetaStore } from '../../src/meta/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'
import { collect } from '../helpers/collect.ts'

const dirs: string[] = []
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

async function setup(chunkSize = 1000) {
  const dir = await mkdtemp(join(tmpdir(), 'piper-files-'))
  dirs.push(dir)
  const blobs = new FsBlobStore(join(dir, 'blobs'))
  const meta = new SqlMetaStore(new SqliteDriver(join(dir, 'meta.db')))
  await blobs.start()
  await meta.start()
  const files = new FileService({
    blobs,
    meta,
    chunkSize,
    logger: createLogger({ level: 'silent' }),
  })
  return { files, blobs, meta }
}

async function* from(bytes: Uint8Array, piece = 333): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += piece) yield bytes.subarray(i, i + piece)
}

async function blobCount(blobs: FsBlobStore): Promise<number> {
  let n = 0
  for await (const _ of blobs.list()) n++
  return n
}

it('stores, reads whole and by range, across chunk boundaries', async () => {
  const { files } = await setup()
  const bytes = randomBytes(4500)
  const file = await files.put('c', 'data.bin', from(bytes))
  assert.equal(file.size, 4500)
  assert.equal(file.chunkCount, 5)
  assert.equal(file.sha256, createHash('sha256').update(bytes).digest('hex'))
  assert.deepEqual(await collect(files.read(file)), bytes)
  for (const [start, end] of [
    [0, 0],
    [999, 1000],
    [1, 4498],
    [4000, 4499],
    [2500, 2500],
  ] as const) {
    assert.deepEqual(
      await collect(files.read(file, { start, end })),
      bytes.subarray(start, end + 1),
    )
  }
  await assert.rejects(collect(files.read(file, { start: 0, end: 4500 })), { code: 'E_RANGE' })
})

it('stores the same content once under two names, and frees it after both are deleted', async () => {
  const { files, blobs } = await setup()
  const bytes = randomBytes(2500)
  await files.put('c', 'one', from(bytes))
  await files.put('c', 'two', from(bytes))
  assert.equal(await blobCount(blobs), 3)
  await files.delete('c', 'one')
  assert.equal(await blobCount(blobs), 3)
  await files.delete('c', 'two')
  assert.equal(await blobCount(blobs), 0)
  await assert.rejects(files.delete('c', 'two'), { code: 'E_FILE_NOT_FOUND' })
})

it('a body of one chunk or less is a file without an upload; a longer one is read on from its start', async () => {
  const { files, meta } = await setup()
  let uploads = 0
  const begin = meta.beginUpload.bind(meta)
  meta.beginUpload = (client, name) => {
    uploads++
    return begin(client, name)
  }
  // A producer that refills one buffer for every piece: each must be kept as it was.
  async function* reusing(bytes: Uint8Array, piece: number): AsyncIterable<Uint8Array> {
    const buffer = new Uint8Array(piece)
    for (let i = 0; i < bytes.length; i += piece) {
      const n = Math.min(piece, bytes.length - i)
      buffer.set(bytes.subarray(i, i + n))
      yield buffer.subarray(0, n)
    }
  }
  for (const size of [0, 1, 999, 1000]) {
    const bytes = randomBytes(size)
    const file = await files.put('c', `small-${size}`, reusing(bytes, 300))
    assert.equal(file.size, size)
    assert.equal(file.chunkCount, size === 0 ? 0 : 1)
    assert.equal(file.sha256, createHash('sha256').update(bytes).digest('hex'))
    assert.deepEqual(await collect(files.read(await files.stat('c', `small-${size}`))), bytes)
  }
  assert.equal(uploads, 0)
  for (const size of [1001, 2999]) {
    const bytes = randomBytes(size)
    const file = await files.put('c', `large-${size}`, reusing(bytes, 300))
    assert.equal(file.chunkCount, Math.ceil(size / 1000))
    assert.equal(file.sha256, createHash('sha256').update(bytes).digest('hex'))
    assert.deepEqual(await collect(files.read(file)), bytes)
  }
  assert.equal(uploads, 2)
  // Replacing a small file frees the chunk only it held.
  const before = await files.stat('c', 'small-999')
  const key = (await meta.manifest(before.id))[0]!.key
  await files.put('c', 'small-999', [Buffer.from('new')])
  assert.equal(await meta.hasChunk(key), false)
})

it('a small body over the limit is E_UPLOAD_TOO_LARGE and leaves nothing', async () => {
  const { files, blobs } = await setup()
  await assert.rejects(files.put('c', 'big', [randomBytes(900)], { maxBytes: 899 }), {
    code: 'E_UPLOAD_TOO_LARGE',
  })
  await assert.rejects(files.stat('c', 'big'), { code: 'E_FILE_NOT_FOUND' })
  assert.equal(await blobCount(blobs), 0)
})

it('a body that fails midway leaves no file and no chunks', async () => {
  const { files, blobs } = await setup()
  async function* cut(): AsyncIterable<Uint8Array> {
    yield randomBytes(2500)
    throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' })
  }
  await assert.rejects(files.put('c', 'partial', cut()), /aborted/)
  await assert.rejects(files.stat('c', 'partial'), { code: 'E_FILE_NOT_FOUND' })
  assert.equal(await blobCount(blobs), 0)
})

it('a body over the limit is E_UPLOAD_TOO_LARGE and leaves nothing', async () => {
  const { files, blobs } = await setup()
  await assert.rejects(files.put('c', 'big', from(randomBytes(3000)), { maxBytes: 2999 }), {
    code: 'E_UPLOAD_TOO_LARGE',
  })
  assert.equal(await blobCount(blobs), 0)
})

it('garbage collection frees what a crashed upload left behind', async () => {
  const { files, blobs, meta } = await setup()
  // What a process killed mid-upload leaves: an upload row, referenced chunks, their blobs.
  const id = await meta.beginUpload('c', 'crashed')
  for (const [seq, bytes] of [randomBytes(100), randomBytes(100)].entries()) {
    const key = createHash('sha256').update(bytes).digest('hex')
    await meta.addUploadChunk(id, seq, { key, size: 100, frequencies: new Uint32Array(256) })
    await blobs.put(key, bytes)
  }
  // And a blob whose row was deleted just before a crash.
  await blobs.put(`f${'0'.repeat(63)}`, randomBytes(10))
  await files.put('c', 'kept', from(randomBytes(1500)))
  const before = await blobCount(blobs)
  assert.deepEqual(await files.collectGarbage({ staleUploadMs: 60_000, orphanBlobMs: 60_000 }), {
    uploads: 0,
    chunks: 0,
    blobs: 0,
  })
  assert.equal(await blobCount(blobs), before)
  assert.deepEqual(await files.collectGarbage({ staleUploadMs: -1, orphanBlobMs: -1 }), {
    uploads: 1,
    chunks: 2,
    blobs: 1,
  })
  assert.equal(await blobCount(blobs), 2)
  assert.equal((await collect(files.read(await files.stat('c', 'kept')))).length, 1500)
})

it('garbage collection walks only the slice of keys it is given, and skips stray files', async () => {
  const { files, blobs } = await setup()
  const orphans = [`ab${'1'.repeat(62)}`, `cd${'2'.repeat(62)}`]
  for (const key of orphans) await blobs.put(key, randomBytes(10))
  // Files that are not blobs, where a careless walk would find them: never deleted, no failure.
  const root = (blobs as FsBlobStore).root
  await mkdir(join(root, 'ab', '11'), { recursive: true })
  await writeFile(join(root, 'ab', '11', 'notes.txt'), 'mine')
  await writeFile(join(root, 'README'), 'mine too')
  const gc = (prefixes: string[]) =>
    files.collectGarbage({ staleUploadMs: -1, orphanBlobMs: -1, prefixes, checksPerSecond: 1000 })
  assert.equal((await gc(['ab'])).blobs, 1, 'only the orphan under ab')
  assert.ok(await blobs.stat(orphans[1]!), 'the orphan under cd is for a later run')
  assert.equal((await gc(['cd', 'ef'])).blobs, 1)
  assert.equal(await readFile(join(root, 'ab', '11', 'notes.txt'), 'utf8'), 'mine')
  assert.equal(await readFile(join(root, 'README'), 'utf8'), 'mine too')
})

it('concurrent uploads and deletes of shared content never lose a stored file', async () => {
  const { files } = await setup(500)
  const shared = randomBytes(1000)
  const rounds = Array.from({ length: 12 }, async (_, i) => {
    await files.put('c', `f${i}`, from(shared, 97))
    if (i % 2 === 0) await files.delete('c', `f${i}`)
  })
  await Promise.all(rounds)
  for (let i = 1; i < 12; i += 2) {
    assert.deepEqual(await collect(files.read(await files.stat('c', `f${i}`))), shared)
  }
})

it('hands a chunk buffer back once the blob store has taken it, new or already stored', async () => {
  const { files, meta } = await setup()
  const bytes = randomBytes(700)
  for (const round of [1, 2]) {
    const uploadId = await meta.beginUpload('c', `taken-${round}`)
    let taken = 0
    await files.storeChunk(uploadId, 0, bytes, { onTaken: () => taken++ })
    assert.equal(taken, 1, `round ${round}`)
    await meta.commitUpload(uploadId, { size: 700, sha256: '', contentType: 'x' })
  }
})

it('an upload of many chunks reuses its buffers while earlier chunks still sync', async () => {
  const { files } = await setup(100)
  const bytes = randomBytes(100 * 64 + 17)
  const file = await files.put('c', 'many.bin', from(bytes, 77))
  assert.equal(file.chunkCount, 65)
  assert.deepEqual(await collect(files.read(file)), bytes)
})

it('a garbage collection run whose sweep fails still collects the files’ garbage, and the next sweeps run', async () => {
  const { files, blobs } = await setup()
  const orphan = `ab${'3'.repeat(62)}`
  await blobs.put(orphan, randomBytes(10))
  let later = 0
  const gc = new GarbageCollector({
    files,
    logger: createLogger({ level: 'silent' }),
    intervalMs: 0,
    orphanBlobMs: -1,
    shardsPerRun: 256,
    sweeps: [
      async () => {
        throw Object.assign(new Error('the disk is full'), { code: 'E_STORAGE_FULL' })
      },
      async () => {
        later++
      },
    ],
  })
  try {
    await gc.runOnce()
    assert.equal(later, 1, 'the sweep after the failed one ran')
    assert.equal(await blobs.stat(orphan), undefined, 'the orphan blob was collected')
  } finally {
    await gc.close()
  }
})
