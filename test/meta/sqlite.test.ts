import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, it } from 'node:test'
import {
  DUMP_TABLES,
  MIGRATIONS,
  SqliteDriver,
  SqlMetaStore,
  UNDUMPED_TABLES,
} from '../../src/meta/index.ts'
import type { SqlExecutor } from '../../src/meta/sql-driver.ts'
import { runMetaDumpsContract } from './meta-dumps-contract.ts'
import { runMetaStoreContract } from './meta-store-contract.ts'
import { runRateBucketsContract } from './rate-buckets-contract.ts'

const dirs: string[] = []
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

async function freshPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'piper-meta-'))
  dirs.push(dir)
  return join(dir, 'meta.db')
}

runMetaStoreContract('sqlite', {
  create: async () => {
    const meta = new SqlMetaStore(new SqliteDriver(await freshPath()))
    await meta.start()
    return meta
  },
})

runMetaDumpsContract('sqlite', {
  create: async () => {
    const meta = new SqlMetaStore(new SqliteDriver(await freshPath()))
    await meta.start()
    return meta
  },
})

runRateBucketsContract('sqlite', async () => {
  const meta = new SqlMetaStore(new SqliteDriver(await freshPath()))
  await meta.start()
  return meta
})

it('sqlite: migrations apply once and survive a reopen', async () => {
  const path = await freshPath()
  for (let i = 0; i < 2; i++) {
    const meta = new SqlMetaStore(new SqliteDriver(path))
    await meta.start()
    await meta.close()
  }
  const db = new DatabaseSync(path)
  const rows = db.prepare('SELECT version FROM piper_migrations').all()
  db.close()
  assert.deepEqual(
    rows.map((r) => r.version),
    MIGRATIONS.map((m) => m.version),
  )
})

it('sqlite: a database from a newer Piper is refused', async () => {
  const path = await freshPath()
  const meta = new SqlMetaStore(new SqliteDriver(path))
  await meta.start()
  await meta.close()
  const db = new DatabaseSync(path)
  db.prepare('INSERT INTO piper_migrations (version, name, applied) VALUES (999, ?, 0)').run('x')
  db.close()
  await assert.rejects(new SqlMetaStore(new SqliteDriver(path)).start(), {
    code: 'E_META_MIGRATION',
    message: /schema version 999/,
  })
})

it('sqlite: an unusable path is E_META_UNAVAILABLE', async () => {
  const dir = await freshPath()
  await assert.rejects(new SqlMetaStore(new SqliteDriver(join(dir, '..'))).start(), {
    code: 'E_META_UNAVAILABLE',
  })
})

it('sqlite: a commit that need not reach the disk leaves the next ones durable, even after a rollback', async () => {
  const driver = new SqliteDriver(await freshPath())
  await driver.open()
  try {
    const level = async (on: SqlExecutor = driver) =>
      Number((await on.all('PRAGMA synchronous'))[0]?.synchronous)
    assert.equal(await level(), 2, 'FULL by default')
    await driver.run('CREATE TABLE t (v INTEGER)')
    const seen = await driver.transaction(
      async (tx) => {
        await tx.run('INSERT INTO t VALUES (1)')
        return level(tx)
      },
      { durable: false },
    )
    assert.equal(seen, 1, 'NORMAL inside the lazy transaction')
    assert.equal(await level(), 2)
    await assert.rejects(
      driver.transaction(
        async (tx) => {
          await tx.run('INSERT INTO t VALUES (2)')
          throw new Error('boom')
        },
        { durable: false },
      ),
      /boom/,
    )
    assert.equal(await level(), 2)
    assert.deepEqual(
      (await driver.all('SELECT v FROM t')).map((r) => r.v),
      [1],
    )
  } finally {
    await driver.close()
  }
})

it('every table of the schema is either in a metadata dump or left out of it on purpose', async () => {
  const path = await freshPath()
  const meta = new SqlMetaStore(new SqliteDriver(path))
  await meta.start()
  await meta.close()
  const db = new DatabaseSync(path)
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .all()
    .map((r) => String(r.name))
  db.close()
  assert.deepEqual(
    tables.sort(),
    [...DUMP_TABLES.map((t) => t.name), ...UNDUMPED_TABLES].sort(),
    'a new table must be added to DUMP_TABLES (backed up) or UNDUMPED_TABLES (sql-dump.ts)',
  )
})
