import { Cron } from 'croner'
import { MAX_JOB_INPUTS } from '../jobs/index.ts'
import { ScheduleError } from './errors.ts'

/**
 * A schedule: at each tick of `cron` (in `timezone`), one run of `pipeline` on `input`, `inputs`,
 * or every file under `prefix` at that moment. `missed` says what becomes of ticks that passed
 * while no Piper process was up; `overlap`, of a tick that comes while the schedule's previous
 * run is still going.
 */
export interface ScheduleDefinition {
  name: string
  cron: string
  timezone: string
  pipeline: string
  version?: number
  inputs?: string[]
  prefix?: string
  /** `skip`: missed ticks start nothing; `catchUp: N`: the newest N of them each start a run. */
  missed: 'skip' | { catchUp: number }
  /** `skip` the tick, `queue` it until the previous run ends, or `allow` runs side by side. */
  overlap: 'skip' | 'queue' | 'allow'
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
const KEYS = new Set([
  'name',
  'cron',
  'timezone',
  'pipeline',
  'version',
  'input',
  'inputs',
  'prefix',
  'missed',
  'overlap',
  'paused',
])

const bad = (message: string) => new ScheduleError('E_SCHEDULE_INVALID', message)

/** Checks a `POST /v1/schedules` body; `E_SCHEDULE_INVALID` names the field that is wrong. */
export function parseSchedule(body: unknown): { definition: ScheduleDefinition; paused: boolean } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw bad('the body must be a JSON object')
  }
  const b = body as Record<string, unknown>
  for (const key of Object.keys(b)) if (!KEYS.has(key)) throw bad(`unknown field "${key}"`)
  if (typeof b.name !== 'string' || !NAME.test(b.name)) {
    throw bad('"name": 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit')
  }
  if (typeof b.pipeline !== 'string' || !NAME.test(b.pipeline))
    throw bad('"pipeline": a pipeline name')
  if (b.version !== undefined && (!Number.isInteger(b.version) || (b.version as number) < 1)) {
    throw bad('"version": a pipeline version (1, 2, …)')
  }
  const definition: ScheduleDefinition = {
    name: b.name,
    cron: cronField(b.cron),
    timezone: b.timezone === undefined ? 'UTC' : timezoneField(b.timezone),
    pipeline: b.pipeline,
    ...(b.version === undefined ? {} : { version: b.version as number }),
    ...inputsField(b),
    missed: missedField(b.missed),
    overlap: overlapField(b.overlap),
  }
  // The expression and the zone together must give a next tick (e.g. not `0 0 30 2 *`).
  if (!nextTickAfter(definition, Date.now())) throw bad('"cron": the expression never ticks')
  if (b.paused !== undefined && typeof b.paused !== 'boolean') throw bad('"paused": true or false')
  return { definition, paused: b.paused === true }
}

/** The first tick strictly after `ms`, or undefined when there is none. */
export function nextTickAfter(
  d: Pick<ScheduleDefinition, 'cron' | 'timezone'>,
  ms: number,
): number | undefined {
  const next = new Cron(d.cron, { timezone: d.timezone, paused: true }).nextRun(new Date(ms))
  return next ? next.getTime() : undefined
}

function cronField(value: unknown): string {
  if (typeof value !== 'string' || value.length > 200)
    throw bad('"cron": a cron expression like "0 3 * * *"')
  try {
    new Cron(value, { paused: true })
  } catch (error) {
    throw bad(`"cron": ${(error as Error).message}`)
  }
  return value.trim()
}

function timezoneField(value: unknown): string {
  try {
    if (typeof value !== 'string') throw new Error('not a string')
    new Intl.DateTimeFormat('en', { timeZone: value })
  } catch {
    throw bad('"timezone": an IANA time zone such as "Europe/Paris" or "UTC"')
  }
  return value
}

function inputsField(b: Record<string, unknown>): { inputs: string[] } | { prefix: string } {
  const given = ['input', 'inputs', 'prefix'].filter((k) => b[k] !== undefined)
  if (given.length !== 1) throw bad('give one of "input", "inputs" and "prefix"')
  if (b.prefix !== undefined) {
    if (typeof b.prefix !== 'string' || b.prefix.length > 1024)
      throw bad('"prefix": a file name prefix')
    return { prefix: b.prefix }
  }
  const names = b.inputs === undefined ? [b.input] : b.inputs
  if (
    !Array.isArray(names) ||
    names.length < 1 ||
    names.length > MAX_JOB_INPUTS ||
    !names.every((n) => typeof n === 'string' && n !== '')
  ) {
    throw bad(`"input" is a file name; "inputs" a list of 1 to ${MAX_JOB_INPUTS} of them`)
  }
  return { inputs: names as string[] }
}

function missedField(value: unknown): ScheduleDefinition['missed'] {
  if (value === undefined || value === 'skip') return 'skip'
  const n = (value as { catch_up?: unknown } | null)?.catch_up
  if (
    typeof value === 'object' &&
    Number.isInteger(n) &&
    (n as number) >= 1 &&
    (n as number) <= 100
  ) {
    return { catchUp: n as number }
  }
  throw bad('"missed": "skip" or {"catch_up": N} with N from 1 to 100')
}

function overlapField(value: unknown): ScheduleDefinition['overlap'] {
  if (value === undefined) return 'skip'
  if (value === 'skip' || value === 'queue' || value === 'allow') return value
  throw bad('"overlap": "skip", "queue" or "allow"')
}

/** The definition as the API shows it (the same shape it takes). */
export function scheduleJson(d: ScheduleDefinition): Record<string, unknown> {
  const { missed, inputs, ...rest } = d
  return {
    ...rest,
    ...(inputs ? { inputs } : {}),
    missed: missed === 'skip' ? 'skip' : { catch_up: missed.catchUp },
  }
}
