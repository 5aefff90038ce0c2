import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** The local PostgreSQL's test database (trust auth, as this machine runs it). */
export const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test'
const BASE = POSTGRES_URL
const schemas: string[] = []

/** A PostgreSQL URL whose tables live in a schema of their own (see `dropTestSchemas`). */
export function freshPostgresUrl(): string {
  const schema = `piper_t_${randomBytes(6).toString('hex')}`
  schemas.push(schema)
  return `${BASE}?schema=${schema}`
}

/** Drops every schema `freshPostgresUrl` handed out in this process. */
export async function dropTestSchemas(): Promise<void> {
  if (schemas.length === 0) return
  const client = new pg.Client(BASE)
  await client.connect()
  for (const s of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`)
  await client.end()
}
