import type { Row, SqlDriver } from './sql-driver.ts'
import { writeEventCursor } from './sql-event-cursors.ts'
import {
  bucketStart,
  type CounterAdd,
  type CounterRow,
  GRANULARITIES,
  type Granularity,
  type SketchAdd,
  type SketchRow,
  type UsageQuery,
} from './usage-store.ts'

export function addUsage(
  driver: SqlDriver,
  counters: CounterAdd[],
  sketches: SketchAdd[],
  cursorName: string,
  cursor: number,
): Promise<void> {
  // Additions to one row are summed first: a batch of 500 events touches few rows.
  const sums = new Map<string, { add: CounterAdd; granularity: Granularity; start: number }>()
  for (const add of counters) {
    for (const granularity of GRANULARITIES) {
      const start = bucketStart(granularity, add.at)
      const key = `${add.clientId}\0${granularity}\0${start}\0${add.metric}`
      const sum = sums.get(key)
      if (sum) sum.add = { ...sum.add, delta: sum.add.delta + add.delta }
      else sums.set(key, { add, granularity, start })
    }
  }
  return driver.transaction(async (tx) => {
    for (const { add, granularity, start } of sums.values()) {
      await tx.run(
        `INSERT INTO usage_counters (client_id, granularity, start, metric, value)
           VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (client_id, granularity, start, metric)
           DO UPDATE SET value = usage_counters.value + $5`,
        [add.clientId, granularity, start, add.metric, add.delta],
      )
    }
    for (const add of sketches) {
      for (const granularity of GRANULARITIES) {
        const start = bucketStart(granularity, add.at)
        const key = [add.clientId, granularity, start, add.kind]
        const rows = await tx.all(
          `SELECT sketch FROM usage_sketches
            WHERE client_id = $1 AND granularity = $2 AND start = $3 AND kind = $4`,
          key,
        )
        const stored = rows[0] ? new Uint8Array(rows[0].sketch as Uint8Array) : undefined
        await tx.run(
          `INSERT INTO usage_sketches (client_id, granularity, start, kind, sketch)
             VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (client_id, granularity, start, kind) DO UPDATE SET sketch = $5`,
          [...key, add.merge(stored)],
        )
      }
    }
    await writeEventCursor(tx, cursorName, cursor)
  })
}

function where(query: UsageQuery): { sql: string; params: (string | number)[] } {
  const params: (string | number)[] = [query.granularity, query.from, query.to]
  let sql = 'granularity = $1 AND start >= $2 AND start < $3'
  if (query.clientId !== undefined) {
    params.push(query.clientId)
    sql += ' AND client_id = $4'
  }
  return { sql, params }
}

export async function usageCounters(driver: SqlDriver, query: UsageQuery): Promise<CounterRow[]> {
  const { sql, params } = where(query)
  const rows = await driver.all(
    `SELECT client_id, start, metric, value FROM usage_counters WHERE ${sql} ORDER BY start`,
    params,
  )
  return rows.map((r: Row) => ({
    clientId: String(r.client_id),
    start: Number(r.start),
    metric: String(r.metric),
    value: Number(r.value),
  }))
}

/** Each of `metrics` summed over every day bucket (days are kept for ever): all-time totals. */
export async function usageTotals(
  driver: SqlDriver,
  clientId: string | undefined,
  metrics: readonly string[],
): Promise<Record<string, number>> {
  const params: string[] = [...metrics]
  const list = metrics.map((_, i) => `$${i + 1}`).join(', ')
  let sql = `SELECT metric, SUM(value) AS total FROM usage_counters
    WHERE granularity = 'day' AND metric IN (${list})`
  if (clientId !== undefined) {
    params.push(clientId)
    sql += ` AND client_id = $${params.length}`
  }
  const rows = await driver.all(`${sql} GROUP BY metric`, params)
  const totals = Object.fromEntries(metrics.map((m) => [m, 0]))
  for (const row of rows) totals[String(row.metric)] = Number(row.total)
  return totals
}

export async function usageSketches(driver: SqlDriver, query: UsageQuery): Promise<SketchRow[]> {
  const { sql, params } = where(query)
  const rows = await driver.all(
    `SELECT client_id, start, kind, sketch FROM usage_sketches WHERE ${sql} ORDER BY start`,
    params,
  )
  return rows.map((r: Row) => ({
    clientId: String(r.client_id),
    start: Number(r.start),
    kind: String(r.kind),
    sketch: new Uint8Array(r.sketch as Uint8Array),
  }))
}

export function resetUsage(driver: SqlDriver, cursorName: string, cursor: number): Promise<void> {
  return driver.transaction(async (tx) => {
    await tx.run('DELETE FROM usage_counters')
    await tx.run('DELETE FROM usage_sketches')
    await writeEventCursor(tx, cursorName, cursor)
  })
}

export async function pruneUsage(
  driver: SqlDriver,
  granularity: Granularity,
  before: number,
): Promise<number> {
  return driver.transaction(async (tx) => {
    const counters = await tx.run(
      'DELETE FROM usage_counters WHERE granularity = $1 AND start < $2',
      [granularity, before],
    )
    await tx.run('DELETE FROM usage_sketches WHERE granularity = $1 AND start < $2', [
      granularity,
      before,
    ])
    return counters
  })
}
