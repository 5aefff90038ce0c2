import assert from 'node:assert/strict'
import { after, it } from 'node:test'
import pg from 'pg'
import { PostgresDriver, SqlMetaStore } from '../../src/meta/index.ts'
import { dropTestSchemas, freshPostgresUrl, POSTGRES_URL } from '../helpers/postgres.ts'
import { POSTGRES, requireServer } from '../helpers/services.ts'
import { runHistoryStoreContract } from './history-store-contract.ts'
import { runMetaDumpsContract } from './meta-dumps-contract.ts'
import { runMetaStoreContract } from './meta-store-contract.ts'
import { runRateBucketsContract } from './rate-buckets-contract.ts'
import { runRunStoreContract } from './run-store-contract.ts'

after(dropTestSchemas)

runMetaStoreContract('postgres', {
  create: async (t) => {
    if (!(await requireServer(t, POSTGRES))) return undefined
    const meta = new SqlMetaStore(new PostgresDriver(freshPostgresUrl()))
    await meta.start()
    return meta
  },
})

runMetaDumpsContract('postgres', {
  create: async (t) => {
    if (!(await requireServer(t, POSTGRES))) return undefined
    const meta = new SqlMetaStore(new PostgresDriver(freshPostgresUrl()))
    await meta.start()
    return meta
  },
})

runRunStoreContract('postgres', async (t) => {
  if (!(await requireServer(t, POSTGRES))) return undefined
  const meta = new SqlMetaStore(new PostgresDriver(freshPostgresUrl()))
  await meta.start()
  return meta
})

runHistoryStoreContract('postgres', async (t) => {
  if (!(await requireServer(t, POSTGRES))) return undefined
  const meta = new SqlMetaStore(new PostgresDriver(freshPostgresUrl()))
  await meta.start()
  return meta
})

runRateBucketsContract('postgres', async (t) => {
  if (!(await requireServer(t, POSTGRES))) return undefined
  const meta = new SqlMetaStore(new PostgresDriver(freshPostgresUrl()))
  await meta.start()
  return meta
})

it('postgres: concurrent starts migrate once', async (t) => {
  if (!(await requireServer(t, POSTGRES))) return
  const url = freshPostgresUrl()
  const stores = Array.from({ length: 4 }, () => new SqlMetaStore(new PostgresDriver(url)))
  await Promise.all(stores.map((s) => s.start()))
  await Promise.all(stores.map((s) => s.close()))
})

it('postgres: an unreachable server is E_META_UNAVAILABLE naming where', async () => {
  const meta = new SqlMetaStore(new PostgresDriver('postgres://127.0.0.1:1/nowhere'))
  await assert.rejects(meta.start(), {
    code: 'E_META_UNAVAILABLE',
    message: /127\.0\.0\.1:1\/nowhere/,
  })
})

it('postgres: a commit that need not reach the disk is asynchronous for itself only', async (t) => {
  if (!(await requireServer(t, POSTGRES))) return
  const driver = new PostgresDriver(freshPostgresUrl())
  await driver.open()
  try {
    const setting = async (tx: { all: typeof driver.all }) =>
      String((await tx.all('SHOW synchronous_commit'))[0]?.synchronous_commit)
    assert.equal(await driver.transaction(setting, { durable: false }), 'off')
    assert.equal(await driver.transaction(setting), 'on')
    assert.equal(await setting(driver), 'on')
  } finally {
    await driver.close()
  }
})

it('postgres: statements run again are prepared once per connection, and still run after another process changes their table', async (t) => {
  if (!(await requireServer(t, POSTGRES))) return
  const url = freshPostgresUrl()
  const driver = new PostgresDriver(url)
  const other = new PostgresDriver(url)
  await driver.open()
  await other.open()
  try {
    await driver.run('CREATE TABLE shaped (id INTEGER PRIMARY KEY)')
    await driver.run('INSERT INTO shaped VALUES ($1)', [1])
    const select = 'SELECT * FROM shaped WHERE id = $1'
    const inTx = 'SELECT * FROM shaped WHERE id >= $1'
    const once = 'SELECT * FROM shaped WHERE id <= $1'
    const preparedCount = async (text: string) =>
      (
        await driver.all(
          'SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1',
          [text],
        )
      )[0]?.n
    assert.deepEqual(await driver.all(once, [1]), [{ id: 1 }])
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(await driver.all(select, [1]), [{ id: 1 }])
      assert.deepEqual(await driver.transaction((tx) => tx.all(inTx, [1])), [{ id: 1 }])
    }
    assert.equal(await preparedCount(select), 1, 'a text run again is prepared on its connection')
    assert.equal(await preparedCount(once), 0, 'a text run once is not prepared')
    // Another process (a newer Piper's migration) changes the table's shape.
    await other.run('ALTER TABLE shaped ADD COLUMN note TEXT')
    assert.deepEqual(await driver.all(select, [1]), [{ id: 1, note: null }])
    assert.deepEqual(await driver.transaction((tx) => tx.all(inTx, [1])), [{ id: 1, note: null }])
  } finally {
    await other.close()
    await driver.close()
  }
})

it('postgres: a chunk lock excludes other processes, and its holders hold no connection', async (t) => {
  if (!(await requireServer(t, POSTGRES))) return
  const url = freshPostgresUrl()
  // Two stores on one database: two processes, as far as locks go.
  const [a, b] = [
    new SqlMetaStore(new PostgresDriver(url)),
    new SqlMetaStore(new PostgresDriver(url)),
  ]
  await Promise.all([a.start(), b.start()])
  try {
    let inside = 0
    let most = 0
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? a : b).withChunkLock('shared', async () => {
          inside++
          most = Math.max(most, inside)
          await new Promise((r) => setTimeout(r, 5))
          inside--
        }),
      ),
    )
    assert.equal(most, 1, 'one holder at a time across both')

    // 30 locks held at once (more than the pool's 10 connections, and the old lock pool's 20):
    // the store still answers queries meanwhile, so none of them holds a connection.
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let held = 0
    const allHeld = Promise.withResolvers<void>()
    const holders = Array.from({ length: 30 }, (_, i) =>
      a.withChunkLock(`k${i}`, async () => {
        if (++held === 30) allHeld.resolve()
        await gate
      }),
    )
    await allHeld.promise
    assert.equal(await a.getFile('nobody', 'nothing'), undefined)
    release()
    await Promise.all(holders)
  } finally {
    await Promise.all([a.close(), b.close()])
  }
})

it('postgres: a commit that records a chunk releases its lease in its own transaction; one that fails leaves the release to the lock', async (t) => {
  if (!(await requireServer(t, POSTGRES))) return
  const url = freshPostgresUrl()
  const meta = new SqlMetaStore(new PostgresDriver(url))
  const peek = new pg.Client(POSTGRES_URL)
  await Promise.all([meta.start(), peek.connect()])
  const schema = new URL(url).searchParams.get('schema')!
  const leases = async () =>
    (await peek.query(`SELECT key, owner FROM "${schema}".chunk_leases`)).rows as {
      key: string
      owner: string
    }[]
  const chunk = { key: 'a'.repeat(64), size: 3, frequencies: new Uint32Array(256) }
  const summary = { size: 3, sha256: chunk.key, contentType: 'text/plain' }
  try {
    // Committed: the lease row goes with the commit, and the lock sends no release after it.
    await meta.withChunkLock(chunk.key, async (held) => {
      assert.ok(held.lease, 'a lease on PostgreSQL')
      assert.deepEqual(await leases(), [{ key: chunk.key, owner: held.lease.owner }])
      await meta.putFile('ann', 'one.txt', chunk, summary, held.lease)
      assert.equal(held.lease.released, true)
      assert.deepEqual(await leases(), [], 'released by the commit itself')
    })
    // Rolled back (the summary's size is not the chunk's, found after the chunk's statement):
    // the lease stays until the lock releases it.
    await meta.withChunkLock(chunk.key, async (held) => {
      const wrong = { ...summary, size: 4 }
      await assert.rejects(meta.putFile('ann', 'two.txt', chunk, wrong, held.lease), /chunks hold/)
      assert.equal(held.lease?.released, false)
      assert.equal((await leases()).length, 1)
    })
    assert.deepEqual(await leases(), [], 'released by the lock')
    // And the next holder takes the key at once.
    assert.equal(await meta.withChunkLock(chunk.key, (held) => held.stored()), true)
  } finally {
    await Promise.all([meta.close(), peek.end()])
  }
})
