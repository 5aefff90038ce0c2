import type { SqlDriver } from './sql-driver.ts'

// Leader leases on SQL (`LeaderLeases`), for SQLite and PostgreSQL alike.

/** Now in ms: the database's clock on PostgreSQL (shared by every process), else this one's. */
function now(driver: SqlDriver): string {
  return driver.dialect === 'postgres'
    ? '(extract(epoch from clock_timestamp()) * 1000)::bigint'
    : String(Date.now())
}

export async function lead(
  driver: SqlDriver,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  const t = now(driver)
  const changed = await driver.run(
    `INSERT INTO leader_leases (name, holder, expires) VALUES ($1, $2, ${t} + $3)
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
     WHERE leader_leases.holder = excluded.holder OR leader_leases.expires < ${t}`,
    [name, holder, ttlMs],
  )
  return changed > 0
}

export async function resign(driver: SqlDriver, name: string, holder: string): Promise<void> {
  await driver.run('DELETE FROM leader_leases WHERE name = $1 AND holder = $2', [name, holder])
}

export async function holderOf(driver: SqlDriver, name: string): Promise<string | undefined> {
  const rows = await driver.all(
    `SELECT holder FROM leader_leases WHERE name = $1 AND expires >= ${now(driver)}`,
    [name],
  )
  return rows[0] ? String(rows[0].holder) : undefined
}
