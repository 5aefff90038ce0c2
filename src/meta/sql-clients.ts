import type { SqlDriver, SqlExecutor } from './sql-driver.ts'

/**
 * Clients seen to exist already, per database. A client row is never deleted, so one that was
 * there before a statement looked is there for good; a client this process inserted is not
 * remembered until a later look finds it (the inserting transaction might still roll back — so
 * a transaction calls `ensureClient` once, before the rows that reference the client).
 */
const known = new WeakMap<SqlDriver, Set<string>>()
/** Remembered clients per database at most; past that the set starts again. */
const MAX_KNOWN = 10_000

/**
 * Creates the client row if it is new: files and jobs reference it. A client known to exist
 * costs no statement (one per job, upload and run otherwise).
 */
export async function ensureClient(
  driver: SqlDriver,
  sql: SqlExecutor,
  clientId: string,
): Promise<void> {
  let clients = known.get(driver)
  if (clients?.has(clientId)) return
  const inserted = await sql.run(
    'INSERT INTO clients (id, created) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING',
    [clientId, Date.now()],
  )
  if (inserted > 0) return
  if (!clients || clients.size >= MAX_KNOWN) {
    clients = new Set()
    known.set(driver, clients)
  }
  clients.add(clientId)
}
