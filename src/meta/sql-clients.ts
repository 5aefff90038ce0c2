import type { SqlExecutor } from './sql-driver.ts'

/** Creates the client row if it is new: files and jobs reference it. */
export async function ensureClient(sql: SqlExecutor, clientId: string): Promise<void> {
  await sql.run('INSERT INTO clients (id, created) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [
    clientId,
    Date.now(),
  ])
}
