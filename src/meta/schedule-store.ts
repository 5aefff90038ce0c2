/** A schedule as stored: its definition is the validated JSON the API took. */
export interface ScheduleRecord {
  clientId: string
  name: string
  definition: Record<string, unknown>
  paused: boolean
  /** The first tick (ms since the epoch) not handled yet. */
  nextTick: number
  created: number
  updated: number
}

export type TickState = 'claimed' | 'started' | 'waiting' | 'skipped' | 'failed'

export interface TickRecord {
  clientId: string
  name: string
  tick: number
  state: TickState
  runId: string | null
  error: string | null
  created: number
}

/**
 * The schedules port: named cron schedules per client. Split from `MetaStore`; the SQL adapters
 * keep them beside the runs they start (`sql-schedules.ts`).
 */
export interface ScheduleStore {
  /** Creates or replaces `record` (its next tick restarts from `nextTick`). */
  putSchedule(
    record: Omit<ScheduleRecord, 'created' | 'updated'>,
    now: number,
  ): Promise<ScheduleRecord>
  getSchedule(clientId: string, name: string): Promise<ScheduleRecord | undefined>
  listSchedules(clientId: string): Promise<ScheduleRecord[]>
  /** Pauses or resumes; a resumed schedule's next tick is `nextTick`. False: no such schedule. */
  pauseSchedule(
    clientId: string,
    name: string,
    paused: boolean,
    nextTick: number,
    now: number,
  ): Promise<boolean>
  /** Deletes the schedule and its ticks; false when there was none. */
  deleteSchedule(clientId: string, name: string): Promise<boolean>
}

/**
 * The ticks port: which tick of which schedule was handled, and how. A tick is claimed by
 * inserting its row, so exactly one process handles it.
 */
export interface ScheduleTicks {
  /** Unpaused schedules whose next tick is at or before `now`. */
  dueSchedules(now: number, limit: number): Promise<ScheduleRecord[]>
  /** Moves a schedule's next tick from `from` to `to`; false when another process did first. */
  advanceSchedule(clientId: string, name: string, from: number, to: number): Promise<boolean>
  /** Claims a tick; false when it was claimed already (by this or another process). */
  claimTick(clientId: string, name: string, tick: number, now: number): Promise<boolean>
  /** Records what became of a claimed tick. */
  settleTick(
    clientId: string,
    name: string,
    tick: number,
    outcome: { state: TickState; runId?: string; error?: string },
  ): Promise<void>
  /**
   * Ticks to look at again: `waiting` ones (overlap: queue) and `claimed` ones older than
   * `claimedBefore` (their process died before starting the run). Oldest first.
   */
  openTicks(claimedBefore: number, limit: number): Promise<TickRecord[]>
  /** A schedule's ticks, newest first. */
  recentTicks(clientId: string, name: string, limit: number): Promise<TickRecord[]>
}
