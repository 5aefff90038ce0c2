import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it, type TestContext } from 'node:test'
import fc from 'fast-check'
import { FsBlobStore } from '../../src/blobs/index.ts'
import { FileService } from '../../src/files/index.ts'
import {
  type FileRecord,
  PostgresDriver,
  SqliteDriver,
  SqlMetaStore,
} from '../../src/meta/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'
import {
  checksumCheck,
  formatUploadMetadata,
  parseUploadMetadata,
  TusUploads,
} from '../../src/tus/index.ts'
import { collect } from '../helpers/collect.ts'
import { dropTestSchemas, freshPostgresUrl } from '../helpers/postgres.ts'
import { POSTGRES, requireServer } from '../helpers/services.ts'

const dirs: string[] = []
const stores: SqlMetaStore[] = []
after(async () => {
  await Promise.all(stores.map((s) => s.close()))
  await dropTestSchemas()
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

type Engine = 'sqlite' | 'postgres'

async function setup(t: TestContext, engine: Engine) {
  if (engine === 'postgres' && !(await requireServer(t, POSTGRES))) return undefined
  const dir = await mkdtemp(join(tmpdir(), 'piper-tus-'))
  dirs.push(dir)
  const blobs = new FsBlobStore(join(dir, 'blobs'))
  const meta = new SqlMetaStore(
    engine === 'postgres'
      ? new PostgresDriver(freshPostgresUrl())
      : new SqliteDriver(join(dir, 'meta.db')),
  )
  stores.push(meta)
  await blobs.start()
  await meta.start()
  const logger = createLogger({ level: 'silent' })
  const files = new FileService({ blobs, meta, chunkSize: 1000, logger })
  const clock = { now: 1_000_000 }
  const tus = new TusUploads({
    files,
    meta,
    logger,
    expireAfterMs: 60_000,
    maxSize: 0,
    now: () => clock.now,
  })
  const blobCount = async () => {
    let n = 0
    for await (const _ of blobs.list()) n++
    return n
  }
  return { tus, files, meta, clock, blobCount }
}

async function* body(bytes: Uint8Array, piece = 333): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += piece) yield bytes.subarray(i, i + piece)
}

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(engine, () => {
    it('expiration: an upload not completed in time is gone (410) and its chunks are freed', async (t) => {
      const s = await setup(t, engine)
      if (!s) return
      const { tus, clock, blobCount, files } = s
      const upload = await tus.create('c', {
        length: 5000,
        metadata: { name: 'late.bin' },
        partial: false,
      })
      await tus.patch('c', upload.id, { offset: 0, body: body(randomBytes(2500)) })
      assert.equal(await blobCount(), 3, 'two whole chunks and the 500 bytes that arrived')
      // Each PATCH pushes the expiry on: 59 s later it is still there.
      clock.now += 59_000
      assert.equal(await tus.sweepExpired(), 0)
      assert.equal((await tus.get('c', upload.id)).received, 2500)
      clock.now += 2_000
      await assert.rejects(tus.get('c', upload.id), { code: 'E_TUS_EXPIRED' })
      assert.equal(await tus.sweepExpired(), 1)
      await assert.rejects(tus.get('c', upload.id), { code: 'E_TUS_NOT_FOUND' })
      assert.equal(await blobCount(), 0, 'the chunks only it held are freed')
      // Garbage collection of stale uploads leaves a live tus upload alone, however old.
      const live = await tus.create('c', {
        length: 10,
        metadata: { name: 'slow.bin' },
        partial: false,
      })
      await tus.patch('c', live.id, { offset: 0, body: body(Buffer.from('12345')) })
      const collected = await files.collectGarbage({ staleUploadMs: -1, orphanBlobMs: 3_600_000 })
      assert.equal(collected.uploads, 0)
      assert.equal((await tus.get('c', live.id)).received, 5)
    })

    it('a PATCH whose checksum does not match keeps nothing, and the next one goes on from there', async (t) => {
      const s = await setup(t, engine)
      if (!s) return
      const { tus, files, blobCount } = s
      const bytes = randomBytes(3000)
      const upload = await tus.create('c', {
        length: 3000,
        metadata: { name: 'sum.bin' },
        partial: false,
      })
      const first = bytes.subarray(0, 1500)
      const sum = (b: Uint8Array) => `sha256 ${createHash('sha256').update(b).digest('base64')}`
      await tus.patch('c', upload.id, { offset: 0, body: body(first), checksum: sum(first) })
      const before = await blobCount()
      await assert.rejects(
        tus.patch('c', upload.id, {
          offset: 1500,
          body: body(bytes.subarray(1500)),
          checksum: sum(Buffer.from('not these bytes')),
        }),
        { code: 'E_TUS_CHECKSUM' },
      )
      assert.equal((await tus.get('c', upload.id)).received, 1500)
      assert.equal(await blobCount(), before, 'the refused bytes were freed')
      const done = await tus.patch('c', upload.id, {
        offset: 1500,
        body: body(bytes.subarray(1500)),
      })
      assert.ok(done.completed)
      assert.equal(done.completed.sha256, createHash('sha256').update(bytes).digest('hex'))
      assert.deepEqual(await collect(files.read(done.completed)), bytes)
    })

    it('property: any split of a file into PATCHes (and into parts) stores the same file', async (t) => {
      const s = await setup(t, engine)
      if (!s) return
      const { tus, files } = s
      let n = 0
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ maxLength: 4000 }),
          fc.array(fc.nat({ max: 4000 }), { maxLength: 4 }),
          fc.boolean(),
          async (bytes, cuts, asParts) => {
            const name = `p/${n++}.bin`
            const bounds = [
              ...new Set([0, ...cuts.map((c) => Math.min(c, bytes.length)), bytes.length]),
            ].sort((a, b) => a - b)
            const pieces =
              bytes.length === 0
                ? [bytes]
                : bounds.slice(1).map((end, i) => bytes.subarray(bounds[i], end))
            let file: FileRecord | undefined
            if (asParts) {
              const ids: string[] = []
              for (const piece of pieces) {
                const part = await tus.create('c', {
                  length: piece.length,
                  metadata: {},
                  partial: true,
                })
                await tus.patch('c', part.id, { offset: 0, body: body(piece, 77) })
                ids.push(part.id)
              }
              file = (await tus.concatenate('c', ids, { name }, 'final;…')).completed
            } else {
              const upload = await tus.create('c', {
                length: undefined,
                metadata: { name },
                partial: false,
              })
              let offset = 0
              for (const [i, piece] of pieces.entries()) {
                const last = i === pieces.length - 1
                const answer = await tus.patch('c', upload.id, {
                  offset,
                  body: body(piece, 77),
                  ...(last ? { length: bytes.length } : {}),
                })
                offset += piece.length
                file = answer.completed
              }
            }
            assert.ok(file, 'the upload became a file')
            assert.equal(file.size, bytes.length)
            assert.equal(file.sha256, createHash('sha256').update(bytes).digest('hex'))
            assert.deepEqual(new Uint8Array(await collect(files.read(file))), bytes)
          },
        ),
        { numRuns: 60 },
      )
    })
  })
}

it('property: Upload-Metadata round-trips, and malformed headers are refused with E_TUS_REQUEST', () => {
  const key = fc.stringMatching(/^[!-+\--~]{1,10}$/)
  fc.assert(
    fc.property(fc.dictionary(key, fc.string({ maxLength: 40 }), { maxKeys: 6 }), (metadata) => {
      const parsed = parseUploadMetadata(formatUploadMetadata(metadata))
      assert.deepEqual(Object.entries(parsed), Object.entries(metadata))
    }),
  )
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), (header) => {
      try {
        parseUploadMetadata(header)
      } catch (error) {
        assert.equal((error as { code?: string }).code, 'E_TUS_REQUEST')
      }
    }),
  )
  const hostile = parseUploadMetadata(`__proto__ ${Buffer.from('x').toString('base64')}`)
  assert.equal(Object.getPrototypeOf(hostile), Object.prototype, 'a key is never the prototype')
  assert.equal(Object.getOwnPropertyDescriptor(hostile, '__proto__')?.value, 'x')
  for (const bad of ['a b c', 'a !!!', 'a,a', ' ,']) {
    assert.throws(() => parseUploadMetadata(bad), { code: 'E_TUS_REQUEST' }, bad)
  }
})

it('checksums: crc32 is RFC 1952 CRC-32, big-endian; unknown algorithms are refused', () => {
  const check = checksumCheck('crc32 NBF+nw==')!
  check.update(Buffer.from('hello world'))
  // crc32("hello world") = 0x0d4a1185
  assert.equal(check.matches(), false)
  const right = checksumCheck(`crc32 ${Buffer.from([0x0d, 0x4a, 0x11, 0x85]).toString('base64')}`)!
  right.update(Buffer.from('hello '))
  right.update(Buffer.from('world'))
  assert.equal(right.matches(), true)
  assert.throws(() => checksumCheck('whirlpool AAAA'), { code: 'E_TUS_CHECKSUM_ALGORITHM' })
  assert.throws(() => checksumCheck('sha256'), { code: 'E_TUS_REQUEST' })
})
