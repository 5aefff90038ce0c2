import assert from 'node:assert/strict'
import { after, it } from 'node:test'
import { PostgresDriver, SqlMetaStore } from '../../src/meta/index.ts'
import { dropTestSchemas, freshPostgresUrl } from '../helpers/postgres.ts'
import { POSTGRES, requireServer } from '../helpers/services.ts'
import { runMetaStoreContract } from './meta-store-contract.ts'

after(dropTestSchemas)

runMetaStoreContract('postgres', {
  create: async (t) => {
    if (!(await requireServer(t, POSTGRES))) return undefined
    const meta = new SqlMetaStore(new PostgresDriver(freshPostgresUrl()))
    await meta.start()
    return meta
  },
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
