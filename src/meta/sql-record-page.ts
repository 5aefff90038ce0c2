import type { RecordPage } from './records.ts'
import type { Row, SqlDriver } from './sql-driver.ts'

/**
 * A page of a client's jobs or runs (`RecordPage`), walking `(client_id, id)` (the tables'
 * `*_by_client` index) up from the cursor, or down from it newest first. Ids sort by creation
 * time, so either way is the order they were made in.
 */
export function readRecordPage(
  driver: SqlDriver,
  table: 'jobs' | 'runs',
  clientId: string,
  page: RecordPage,
): Promise<Row[]> {
  const newest = page.newest === true
  // Newest first from the start has no bound ('' is below every id, and no string is above
  // every id in every collation); `$2 = ''` keeps the parameter, which PostgreSQL must type.
  const bound = newest ? (page.after === undefined ? "AND $2 = ''" : 'AND id < $2') : 'AND id > $2'
  return driver.all(
    `SELECT * FROM ${table} WHERE client_id = $1 ${bound} AND ($3 = '' OR state = $3)
      ORDER BY id ${newest ? 'DESC' : ''} LIMIT $4`,
    [clientId, page.after ?? '', page.state ?? '', page.limit],
  )
}
