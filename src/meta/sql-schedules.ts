import type { ScheduleRecord, TickRecord, TickState } from './schedule-store.ts'
import { ensureClient } from './sql-clients.ts'
import type { Row, SqlDriver } from './sql-driver.ts'

// Schedules and their ticks on SQL (`ScheduleStore`, `ScheduleTicks`), for both dialects.

function scheduleFromRow(row: Row): ScheduleRecord {
  return {
    clientId: String(row.client_id),
    name: String(row.name),
    definition: JSON.parse(String(row.definition)) as Record<string, unknown>,
    paused: Number(row.paused) === 1,
    nextTick: Number(row.next_tick),
    created: Number(row.created),
    updated: Number(row.updated),
  }
}

function tickFromRow(row: Row): TickRecord {
  return {
    clientId: String(row.client_id),
    name: String(row.name),
    tick: Number(row.tick),
    state: String(row.state) as TickState,
    runId: row.run_id === null ? null : String(row.run_id),
    error: row.error === null ? null : String(row.error),
    created: Number(row.created),
  }
}

export function putSchedule(
  driver: SqlDriver,
  r: Omit<ScheduleRecord, 'created' | 'updated'>,
  now: number,
): Promise<ScheduleRecord> {
  return driver.transaction(async (tx) => {
    await ensureClient(driver, tx, r.clientId)
    const rows = await tx.all(
      `INSERT INTO schedules (client_id, name, definition, paused, next_tick, created, updated)
       VALUES ($1, $2, $3, $4, $5, $6, $6)
       ON CONFLICT (client_id, name) DO UPDATE SET definition = excluded.definition,
         paused = excluded.paused, next_tick = excluded.next_tick, updated = excluded.updated
       RETURNING *`,
      [r.clientId, r.name, JSON.stringify(r.definition), r.paused ? 1 : 0, r.nextTick, now],
    )
    return scheduleFromRow(rows[0]!)
  })
}

export async function getSchedule(driver: SqlDriver, clientId: string, name: string) {
  const rows = await driver.all('SELECT * FROM schedules WHERE client_id = $1 AND name = $2', [
    clientId,
    name,
  ])
  return rows[0] ? scheduleFromRow(rows[0]) : undefined
}

export async function listSchedules(driver: SqlDriver, clientId: string) {
  const rows = await driver.all('SELECT * FROM schedules WHERE client_id = $1 ORDER BY name', [
    clientId,
  ])
  return rows.map(scheduleFromRow)
}

export async function pauseSchedule(
  driver: SqlDriver,
  clientId: string,
  name: string,
  paused: boolean,
  nextTick: number,
  now: number,
): Promise<boolean> {
  const changed = await driver.run(
    `UPDATE schedules SET paused = $3, next_tick = CASE WHEN $3 = 1 THEN next_tick ELSE $4 END,
            updated = $5 WHERE client_id = $1 AND name = $2`,
    [clientId, name, paused ? 1 : 0, nextTick, now],
  )
  return changed > 0
}

export function deleteSchedule(driver: SqlDriver, clientId: string, name: string) {
  return driver.transaction(async (tx) => {
    await tx.run('DELETE FROM schedule_ticks WHERE client_id = $1 AND name = $2', [clientId, name])
    return (
      (await tx.run('DELETE FROM schedules WHERE client_id = $1 AND name = $2', [clientId, name])) >
      0
    )
  })
}

export async function dueSchedules(driver: SqlDriver, now: number, limit: number) {
  const rows = await driver.all(
    'SELECT * FROM schedules WHERE paused = 0 AND next_tick <= $1 ORDER BY next_tick LIMIT $2',
    [now, limit],
  )
  return rows.map(scheduleFromRow)
}

export async function advanceSchedule(
  driver: SqlDriver,
  clientId: string,
  name: string,
  from: number,
  to: number,
): Promise<boolean> {
  const changed = await driver.run(
    'UPDATE schedules SET next_tick = $4 WHERE client_id = $1 AND name = $2 AND next_tick = $3',
    [clientId, name, from, to],
  )
  return changed > 0
}

export async function claimTick(
  driver: SqlDriver,
  clientId: string,
  name: string,
  tick: number,
  now: number,
): Promise<boolean> {
  const changed = await driver.run(
    `INSERT INTO schedule_ticks (client_id, name, tick, state, created)
     VALUES ($1, $2, $3, 'claimed', $4) ON CONFLICT (client_id, name, tick) DO NOTHING`,
    [clientId, name, tick, now],
  )
  return changed > 0
}

export async function settleTick(
  driver: SqlDriver,
  clientId: string,
  name: string,
  tick: number,
  outcome: { state: TickState; runId?: string; error?: string },
): Promise<void> {
  await driver.run(
    `UPDATE schedule_ticks SET state = $4, run_id = COALESCE($5, run_id), error = $6
      WHERE client_id = $1 AND name = $2 AND tick = $3`,
    [clientId, name, tick, outcome.state, outcome.runId ?? null, outcome.error ?? null],
  )
}

export async function openTicks(driver: SqlDriver, claimedBefore: number, limit: number) {
  const rows = await driver.all(
    `SELECT * FROM schedule_ticks
      WHERE state = 'waiting' OR (state = 'claimed' AND created < $1)
      ORDER BY tick LIMIT $2`,
    [claimedBefore, limit],
  )
  return rows.map(tickFromRow)
}

export async function recentTicks(
  driver: SqlDriver,
  clientId: string,
  name: string,
  limit: number,
) {
  const rows = await driver.all(
    `SELECT * FROM schedule_ticks WHERE client_id = $1 AND name = $2 ORDER BY tick DESC LIMIT $3`,
    [clientId, name, limit],
  )
  return rows.map(tickFromRow)
}
