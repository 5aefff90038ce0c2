import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, it } from 'node:test'
import pg from 'pg'
import { PostgresDriver, SqlMetaStore } from '../../src/meta/index.ts'
import { POSTGRES, requireServer } from '../helpers/services.ts'
import { runMetaStoreContract } from './meta-store-contract.ts'

const BASE = 'postgres://postgres@127.0.0.1:5432/test'
const schemas: string[] = []

after(async () => {
  if (schemas.length === 0) return
  const client = new pg.Client(BASE)
  await client.connect()
  for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`)
  await client.end()
})

/** A URL whose tables live in a schema of their own, dropped after the file's tests. */
export function freshPostgresUrl(): string {
  const schema = `piper_t_${randomBytes(6).toString('hex')}`
  schemas.push(schema)
  return `${BASE}?schema=${schema}`
}

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
