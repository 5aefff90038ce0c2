import type { SqlDriver, SqlParam } from './sql-driver.ts'

// Leader leases on SQL (`LeaderLeases`), for SQLite and PostgreSQL alike.

/**
 * Now in ms, as SQL and the parameters it needs after `params`: the database's clock on
 * PostgreSQL (shared by every process), else this process's, passed as a parameter so the
 * statement's text never changes (a text with the time in it was a new prepared statement at
 * every renewal, about one a second for each lease, kept for the life of the process).
 */
function now(driver: SqlDriver, params: readonly SqlParam[]): [string, SqlParam[]] {
  return driver.dialect === 'postgres'
    ? ['(extract(epoch from clock_timestamp()) * 1000)::bigint', [...params]]
    : [`$${params.length + 1}`, [...params, Date.now()]]
}

export async function lead(
  driver: SqlDriver,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  const [t, params] = now(driver, [name, holder, ttlMs])
  const changed = await driver.run(
    `INSERT INTO leader_leases (name, holder, expires) VALUES ($1, $2, ${t} + $3)
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
     WHERE leader_leases.holder = excluded.holder OR leader_leases.expires < ${t}`,
    params,
  )
  return changed > 0
}

export async function resign(driver: SqlDriver, name: string, holder: string): Promise<void> {
  await driver.run('DELETE FROM leader_leases WHERE name = $1 AND holder = $2', [name, holder])
}

export async function holderOf(driver: SqlDriver, name: string): Promise<string | undefined> {
  const [t, params] = now(driver, [name])
  const rows = await driver.all(
    `SELECT holder FROM leader_leases WHERE name = $1 AND expires >= ${t}`,
    params,
  )
  return rows[0] ? String(rows[0].holder) : undefined
}
