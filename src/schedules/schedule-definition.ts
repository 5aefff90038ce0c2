import { Cron } from 'croner'
import { MAX_JOB_INPUTS } from '../jobs/index.ts'
import { schemaCheck } from '../schemas/index.ts'
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

const NAME = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$',
  'x-must': '1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit',
} as const

/**
 * `POST /v1/schedules`: checked with this schema first (the API's description is the same
 * object), then the cron expression, the zone and the inputs by `parseSchedule`.
 */
export const SCHEDULE_REQUEST = {
  type: 'object',
  'x-must': 'a JSON object',
  properties: {
    name: NAME,
    cron: {
      type: 'string',
      maxLength: 200,
      'x-must': 'a cron expression like "0 3 * * *"',
    },
    timezone: { type: 'string', description: 'An IANA time zone; UTC by default' },
    pipeline: NAME,
    version: { type: 'integer', minimum: 1, 'x-must': 'a pipeline version (1, 2, …)' },
    input: { type: 'string', minLength: 1, 'x-must': 'a file name' },
    inputs: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      minItems: 1,
      maxItems: MAX_JOB_INPUTS,
      'x-must': `a list of 1 to ${MAX_JOB_INPUTS} file names`,
    },
    prefix: { type: 'string', maxLength: 1024, 'x-must': 'a file name prefix' },
    missed: {
      oneOf: [
        { const: 'skip' },
        {
          type: 'object',
          properties: { catch_up: { type: 'integer', minimum: 1, maximum: 100 } },
          required: ['catch_up'],
          additionalProperties: false,
        },
      ],
      'x-must': '"skip" or {"catch_up": N} with N from 1 to 100',
    },
    overlap: { enum: ['skip', 'queue', 'allow'] },
    paused: { type: 'boolean' },
  },
  required: ['name', 'cron', 'pipeline'],
  additionalProperties: false,
} as const

const checkScheduleBody = schemaCheck(SCHEDULE_REQUEST)

const bad = (message: string) => new ScheduleError('E_SCHEDULE_INVALID', message)

interface ScheduleRequest {
  name: string
  cron: string
  timezone?: string
  pipeline: string
  version?: number
  input?: string
  inputs?: string[]
  prefix?: string
  missed?: 'skip' | { catch_up: number }
  overlap?: ScheduleDefinition['overlap']
  paused?: boolean
}

/** Checks a `POST /v1/schedules` body; `E_SCHEDULE_INVALID` names the field that is wrong. */
export function parseSchedule(body: unknown): { definition: ScheduleDefinition; paused: boolean } {
  const problem = checkScheduleBody(body, '')
  if (problem) throw bad(problem)
  const b = body as ScheduleRequest
  const definition: ScheduleDefinition = {
    name: b.name,
    cron: cronField(b.cron),
    timezone: b.timezone === undefined ? 'UTC' : timezoneField(b.timezone),
    pipeline: b.pipeline,
    ...(b.version === undefined ? {} : { version: b.version }),
    ...inputsField(b),
    missed: b.missed === undefined || b.missed === 'skip' ? 'skip' : { catchUp: b.missed.catch_up },
    overlap: b.overlap ?? 'skip',
  }
  // The expression and the zone together must give a next tick (e.g. not `0 0 30 2 *`).
  if (!nextTickAfter(definition, Date.now())) throw bad('cron: the expression never ticks')
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

function cronField(value: string): string {
  try {
    new Cron(value, { paused: true })
  } catch (error) {
    throw bad(`cron: ${(error as Error).message}`)
  }
  return value.trim()
}

function timezoneField(value: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value })
  } catch {
    throw bad('timezone must be an IANA time zone such as "Europe/Paris" or "UTC"')
  }
  return value
}

function inputsField(b: ScheduleRequest): { inputs: string[] } | { prefix: string } {
  const given = (['input', 'inputs', 'prefix'] as const).filter((k) => b[k] !== undefined)
  if (given.length !== 1) throw bad('give one of "input", "inputs" and "prefix"')
  if (b.prefix !== undefined) return { prefix: b.prefix }
  return { inputs: b.inputs ?? [b.input!] }
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
