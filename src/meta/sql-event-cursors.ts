import type { SqlExecutor } from './sql-driver.ts'

/** How far a tailer of the event history has read (webhooks, statistics). */
export async function readEventCursor(
  executor: SqlExecutor,
  name: string,
): Promise<number | undefined> {
  const rows = await executor.all('SELECT position FROM event_cursors WHERE name = $1', [name])
  return rows[0]?.position == null ? undefined : Number(rows[0].position)
}

/** Sets a tailer's position; in a transaction, with what it read (statistics). */
export async function writeEventCursor(
  executor: SqlExecutor,
  name: string,
  position: number,
): Promise<void> {
  await executor.run(
    `INSERT INTO event_cursors (name, position) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET position = $2`,
    [name, position],
  )
}
