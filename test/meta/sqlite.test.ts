import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, it } from 'node:test'
import fc from 'fast-check'
import {
  DUMP_TABLES,
  MIGRATIONS,
  SqliteDriver,
  SqlMetaStore,
  UNDUMPED_TABLES,
} from '../../src/meta/index.ts'
import { runHistoryStoreContract } from './history-store-contract.ts'
import { runMetaDumpsContract } from './meta-dumps-contract.ts'
import { runMetaStoreContract } from './meta-store-contract.ts'
import { runRateBucketsContract } from './rate-buckets-contract.ts'
import { runRunStoreContract } from './run-store-contract.ts'

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

runRunStoreContract('sqlite', async () => {
  const meta = new SqlMetaStore(new SqliteDriver(await freshPath()))
  await meta.start()
  return meta
})

runHistoryStoreContract('sqlite', async () => {
  const meta = new SqlMetaStore(new SqliteDriver(await freshPath()))
  await meta.start()
  return meta
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

it('sqlite: durable commits share syncs of the log (group commit); one that need not reach the disk, and a rollback, wait for none', async () => {
  const driver = new SqliteDriver(await freshPath())
  await driver.open()
  try {
    await driver.transaction((tx) => tx.run('CREATE TABLE t (v INTEGER)'))
    assert.equal(Number((await driver.all('PRAGMA synchronous'))[0]?.synchronous), 1, 'NORMAL')
    const before = driver.logSyncs
    await driver.transaction((tx) => tx.run('INSERT INTO t VALUES (0)'))
    assert.equal(driver.logSyncs, before + 1, 'a durable commit returns after a sync of the log')
    // Fifty at once: each returns after a sync that began after its commit, and they share them.
    const at = driver.logSyncs
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        driver.transaction((tx) => tx.run('INSERT INTO t VALUES ($1)', [i + 1])),
      ),
    )
    const syncs = driver.logSyncs - at
    assert.ok(syncs >= 1 && syncs < 50, `${syncs} syncs for 50 commits`)
    const lazy = driver.logSyncs
    await driver.transaction((tx) => tx.run('INSERT INTO t VALUES (100)'), { durable: false })
    await assert.rejects(
      driver.transaction(async (tx) => {
        await tx.run('INSERT INTO t VALUES (200)')
        throw new Error('boom')
      }),
      /boom/,
    )
    assert.equal(driver.logSyncs, lazy, 'neither waited for a sync')
    const values = (await driver.all('SELECT v FROM t ORDER BY v')).map((r) => Number(r.v))
    assert.equal(values.length, 52)
    assert.ok(values.includes(100) && !values.includes(200))
  } finally {
    await driver.close()
  }
})

it('sqlite: a leader lease renewed as time passes is one prepared statement; one-off texts are not kept without bound', async (t) => {
  const driver = new SqliteDriver(await freshPath())
  const meta = new SqlMetaStore(driver)
  await meta.start()
  try {
    t.mock.timers.enable({ apis: ['Date'], now: 1_800_000_000_000 })
    assert.equal(await meta.lead('sweep', 'a', 5_000), true)
    assert.equal(await meta.holderOf('sweep'), 'a')
    const prepared = driver.preparedStatements
    for (let second = 1; second <= 30; second++) {
      t.mock.timers.tick(1_000)
      assert.equal(await meta.lead('sweep', 'a', 5_000), true, 'the holder renews')
      assert.equal(await meta.lead('sweep', 'b', 5_000), false, 'another waits')
      assert.equal(await meta.holderOf('sweep'), 'a')
    }
    assert.equal(driver.preparedStatements, prepared, 'no statement per renewal')
    t.mock.timers.tick(6_000)
    assert.equal(await meta.holderOf('sweep'), undefined, 'a lease not renewed runs out')
    assert.equal(await meta.lead('sweep', 'b', 5_000), true, 'and goes to the next to ask')
    for (let i = 0; i < 1_500; i++) await driver.all(`SELECT ${i} AS n`)
    assert.ok(driver.preparedStatements <= 1_024, `${driver.preparedStatements} kept`)
    assert.equal(Number((await driver.all('SELECT 7 AS n'))[0]?.n), 7)
  } finally {
    t.mock.timers.reset()
    await meta.close()
  }
})

it('sqlite: work queued at once is kept exactly when it succeeded, whatever else beside it failed or filled the disk', async () => {
  const driver = new SqliteDriver(await freshPath())
  await driver.open()
  try {
    await driver.transaction((tx) => tx.run('CREATE TABLE t (v INTEGER PRIMARY KEY, pad BLOB)'))
    // A database that may grow only a little: a large row fails with SQLITE_FULL, after which
    // SQLite may abandon the whole transaction; what was queued beside it must not be lost.
    await driver.all('PRAGMA max_page_count = 64')
    let next = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('ok', 'throws', 'full', 'write', 'read'), {
          minLength: 1,
          maxLength: 40,
        }),
        async (kinds) => {
          const work = kinds.map((kind) => {
            const v = ++next
            if (kind === 'write')
              return { v, kind, done: driver.run('INSERT INTO t (v) VALUES ($1)', [v]) }
            if (kind === 'read') return { v, kind, done: driver.all('SELECT count(*) AS n FROM t') }
            const done = driver.transaction(async (tx) => {
              await tx.run('INSERT INTO t (v) VALUES ($1)', [v])
              if (kind === 'full')
                await tx.run('INSERT INTO t (v, pad) VALUES ($1, zeroblob(1000000))', [-v])
              if (kind === 'throws') throw new Error(`no ${v}`)
              return v
            })
            return { v, kind, done }
          })
          const settled = await Promise.allSettled(work.map((w) => w.done))
          const kept = new Set(
            (await driver.all('SELECT v FROM t WHERE v > 0')).map((r) => Number(r.v)),
          )
          work.forEach(({ v, kind }, i) => {
            const outcome = settled[i]!
            if (kind === 'read') return
            assert.equal(
              kept.has(v),
              outcome.status === 'fulfilled',
              `${kind} ${v}: ${outcome.status}`,
            )
            if (kind === 'throws' && outcome.status === 'rejected') {
              assert.match(String(outcome.reason), new RegExp(`no ${v}|full`))
            }
            if (kind === 'full') {
              assert.equal(outcome.status, 'rejected')
              assert.equal((outcome as PromiseRejectedResult).reason.code, 'E_STORAGE_FULL')
            }
          })
        },
      ),
      { numRuns: 60 },
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
