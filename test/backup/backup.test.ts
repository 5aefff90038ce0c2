import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import {
  backupKeys,
  checkBackupTarget,
  createBackup,
  listBackups,
  pruneBackups,
  restoreBackup,
  verifyBackup,
} from '../../src/backup/index.ts'
import { FsBlobStore } from '../../src/blobs/index.ts'
import { FileService } from '../../src/files/index.ts'
import { SqliteDriver, SqlMetaStore } from '../../src/meta/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'
import { collect } from '../helpers/collect.ts'

const dirs: string[] = []
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

async function deployment() {
  const dir = await mkdtemp(join(tmpdir(), 'piper-backup-unit-'))
  dirs.push(dir)
  const blobs = new FsBlobStore(join(dir, 'blobs'))
  const meta = new SqlMetaStore(new SqliteDriver(join(dir, 'meta.db')))
  await blobs.start()
  await meta.start()
  const files = new FileService({
    blobs,
    meta,
    chunkSize: 1000,
    logger: createLogger({ level: 'silent' }),
  })
  const backups = new FsBlobStore(join(dir, 'backups'))
  await backups.start()
  return { dir, blobs, meta, files, backups }
}

async function* of(bytes: Uint8Array) {
  yield bytes
}

const at = (day: number) => () => new Date(Date.UTC(2026, 10, day, 3))

it('verify finds a chunk missing and a chunk damaged in the backup store; a damaged metadata dump is refused and restores nothing', async () => {
  const d = await deployment()
  await d.files.put('c', 'a.bin', of(randomBytes(5000)))
  const m = await createBackup({ meta: d.meta, source: d.blobs, target: d.backups })
  assert.deepEqual(
    await verifyBackup({ store: d.backups, id: m.id }).then((r) => [
      r.missingCount,
      r.corruptCount,
    ]),
    [0, 0],
  )
  const keys: string[] = []
  for await (const blob of d.backups.list())
    if (/^[0-9a-f]{64}$/.test(blob.key)) keys.push(blob.key)
  assert.equal(keys.length, 5)
  await d.backups.delete(keys[0]!)
  const damaged = keys[1]!
  await writeFile(
    join(d.backups.root, damaged.slice(0, 2), damaged.slice(2, 4), damaged),
    randomBytes(1000),
  )
  const result = await verifyBackup({ store: d.backups, id: 'latest' })
  assert.deepEqual([result.missing, result.corrupt], [[keys[0]], [damaged]])

  const metaKey = backupKeys(m.id).metadata
  const dump = await d.backups.read(metaKey)
  dump[dump.length - 5]! ^= 0xff
  await d.backups.delete(metaKey)
  await d.backups.put(metaKey, dump)
  await assert.rejects(verifyBackup({ store: d.backups, id: m.id }), { code: 'E_BACKUP_CORRUPT' })
  const fresh = await deployment()
  await assert.rejects(
    restoreBackup({ from: d.backups, id: m.id, meta: fresh.meta, blobs: fresh.blobs }),
    { code: 'E_BACKUP_CORRUPT' },
  )
  assert.equal(await fresh.meta.empty(), true)
  await assert.rejects(verifyBackup({ store: d.backups, id: '20991231T000000000Z' }), {
    code: 'E_BACKUP_NOT_FOUND',
  })
  await assert.rejects(verifyBackup({ store: d.backups, id: '../etc' }), {
    code: 'E_BACKUP_NOT_FOUND',
  })
})

it('prune keeps what the policy keeps and deletes the chunks only pruned backups referenced; the kept backup still restores whole', async () => {
  const d = await deployment()
  const first = randomBytes(3000)
  await d.files.put('c', 'old.bin', of(first))
  await createBackup({ meta: d.meta, source: d.blobs, target: d.backups, now: at(1) })
  await d.files.delete('c', 'old.bin')
  const kept = randomBytes(2000)
  await d.files.put('c', 'new.bin', of(kept))
  const m2 = await createBackup({ meta: d.meta, source: d.blobs, target: d.backups, now: at(2) })
  const dry = await pruneBackups({ store: d.backups, policy: { last: 1 }, dryRun: true })
  assert.equal(dry.chunksDeleted, 3)
  assert.equal((await listBackups(d.backups)).length, 2, 'a dry run deletes nothing')
  const pruned = await pruneBackups({ store: d.backups, policy: { last: 1 } })
  assert.deepEqual([pruned.kept, pruned.deleted.length, pruned.chunksDeleted], [[m2.id], 1, 3])
  const fresh = await deployment()
  const restored = await restoreBackup({
    from: d.backups,
    id: m2.id,
    meta: fresh.meta,
    blobs: fresh.blobs,
  })
  assert.equal(restored.copied, 2)
  const file = await fresh.files.stat('c', 'new.bin')
  assert.deepEqual(await collect(fresh.files.read(file)), kept)
  await assert.rejects(fresh.files.stat('c', 'old.bin'), { code: 'E_FILE_NOT_FOUND' })
})

it('a backup target must not be the live store', async () => {
  const d = await deployment()
  await assert.rejects(createBackup({ meta: d.meta, source: d.blobs, target: d.blobs }), {
    code: 'E_BACKUP_TARGET',
  })
  assert.throws(() => checkBackupTarget('file:./data/blobs', 'file:data/blobs/'), {
    code: 'E_BACKUP_TARGET',
  })
  assert.throws(() => checkBackupTarget('file:/d/blobs', 'file:/d/blobs/backups'), {
    code: 'E_BACKUP_TARGET',
  })
  assert.throws(() => checkBackupTarget('s3://b/live', 's3://b/live/'), { code: 'E_BACKUP_TARGET' })
  checkBackupTarget('file:/d/blobs', 'file:/d/backups')
  checkBackupTarget('s3://b/live', 's3://b/backups')
})
