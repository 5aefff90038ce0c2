import type { ScheduleRecord, ScheduleStore, ScheduleTicks, TickRecord } from '../meta/index.ts'
import type { PipelineService } from '../pipelines/index.ts'
import { ScheduleError } from './errors.ts'
import {
  nextTickAfter,
  parseSchedule,
  type ScheduleDefinition,
  scheduleJson,
} from './schedule-definition.ts'

/** A schedule as the API shows it. */
export interface ScheduleView extends Record<string, unknown> {
  paused: boolean
  next_tick: string | null
  created: string
  updated: string
  ticks?: { tick: string; state: string; run: string | null; error: string | null }[]
}

/** Creating, reading, pausing and deleting schedules; the `Scheduler` starts their runs. */
export class ScheduleService {
  readonly #store: ScheduleStore & ScheduleTicks
  readonly #pipelines: Pick<PipelineService, 'get'>
  readonly #now: () => number

  constructor(o: {
    store: ScheduleStore & ScheduleTicks
    pipelines: Pick<PipelineService, 'get'>
    now?: () => number
  }) {
    this.#store = o.store
    this.#pipelines = o.pipelines
    this.#now = o.now ?? Date.now
  }

  /** Creates or replaces the schedule the body describes; its first tick is the next to come. */
  async put(clientId: string, body: unknown): Promise<ScheduleView> {
    const { definition, paused } = parseSchedule(body)
    // The pipeline must exist now (E_PIPELINE_NOT_FOUND); a tick after it was deleted fails alone.
    await this.#pipelines.get(clientId, definition.pipeline, definition.version)
    const now = this.#now()
    const saved = await this.#store.putSchedule(
      {
        clientId,
        name: definition.name,
        definition: definition as unknown as Record<string, unknown>,
        paused,
        nextTick: nextTickAfter(definition, now) ?? Number.MAX_SAFE_INTEGER,
      },
      now,
    )
    return view(saved)
  }

  async get(clientId: string, name: string): Promise<ScheduleView> {
    const s = await this.#store.getSchedule(clientId, name)
    if (!s) throw notFound(name)
    return view(s, await this.#store.recentTicks(clientId, name, 20))
  }

  async list(clientId: string): Promise<ScheduleView[]> {
    return (await this.#store.listSchedules(clientId)).map((s) => view(s))
  }

  /** Pauses, or resumes from the next tick to come (ticks passed while paused start nothing). */
  async pause(clientId: string, name: string, paused: boolean): Promise<ScheduleView> {
    const s = await this.#store.getSchedule(clientId, name)
    if (!s) throw notFound(name)
    const now = this.#now()
    const next = nextTickAfter(s.definition as unknown as ScheduleDefinition, now)
    await this.#store.pauseSchedule(clientId, name, paused, next ?? Number.MAX_SAFE_INTEGER, now)
    return this.get(clientId, name)
  }

  async delete(clientId: string, name: string): Promise<void> {
    if (!(await this.#store.deleteSchedule(clientId, name))) throw notFound(name)
  }
}

function notFound(name: string): ScheduleError {
  return new ScheduleError('E_SCHEDULE_NOT_FOUND', `no schedule ${JSON.stringify(name)}`)
}

function view(s: ScheduleRecord, ticks?: TickRecord[]): ScheduleView {
  const iso = (ms: number) => new Date(ms).toISOString()
  return {
    ...scheduleJson(s.definition as unknown as ScheduleDefinition),
    paused: s.paused,
    next_tick: s.paused || s.nextTick >= Number.MAX_SAFE_INTEGER ? null : iso(s.nextTick),
    created: iso(s.created),
    updated: iso(s.updated),
    ...(ticks
      ? {
          ticks: ticks.map((t) => ({
            tick: iso(t.tick),
            state: t.state,
            run: t.runId,
            error: t.error,
          })),
        }
      : {}),
  }
}
