import type { FlagValues } from '../../config/index.ts'
import type { ApiSchedule } from '../api-types.ts'
import { clientFor } from '../gateway-client.ts'
import { readDefinitionFile } from './definition-file.ts'
import { json } from './pipelines.ts'

const path = (name: string, action = '') =>
  `/v1/schedules/${encodeURIComponent(name)}${action ? `/${action}` : ''}`

/** `piper schedules`: one line per schedule: name, cron (zone), pipeline, next tick or paused. */
export async function schedulesListCommand(flags: FlagValues, out: (text: string) => void) {
  const { schedules } = await clientFor(flags).json<{ schedules: ApiSchedule[] }>({
    method: 'GET',
    path: '/v1/schedules',
  })
  for (const s of schedules) {
    out(
      `${s.name}  ${s.cron} (${s.timezone})  ${s.pipeline}  ${s.paused ? 'paused' : `next ${s.next_tick ?? 'never'}`}\n`,
    )
  }
}

/** `piper schedules apply FILE`: creates or replaces the schedule a JSON or YAML file describes. */
export async function schedulesApplyCommand(
  file: string,
  flags: FlagValues,
  out: (text: string) => void,
) {
  const body = await readDefinitionFile(file)
  const saved = await clientFor(flags).json<ApiSchedule>({
    method: 'POST',
    path: '/v1/schedules',
    ...json(body),
  })
  out(`${JSON.stringify(saved)}\n`)
}

/** `piper schedules show NAME`: the schedule and its recent ticks, as JSON. */
export async function schedulesShowCommand(
  name: string,
  flags: FlagValues,
  out: (text: string) => void,
) {
  const found = await clientFor(flags).json<ApiSchedule>({ method: 'GET', path: path(name) })
  out(`${JSON.stringify(found, null, 2)}\n`)
}

/** `piper schedules pause NAME` / `resume NAME` (from the next tick to come). */
export async function schedulesPauseCommand(
  name: string,
  action: 'pause' | 'resume',
  flags: FlagValues,
  out: (text: string) => void,
) {
  const saved = await clientFor(flags).json<ApiSchedule>({
    method: 'POST',
    path: path(name, action),
  })
  out(`${JSON.stringify(saved)}\n`)
}

/** `piper schedules rm NAME`: deletes the schedule and its ticks (the runs it started stay). */
export async function schedulesRmCommand(name: string, flags: FlagValues): Promise<void> {
  const res = await clientFor(flags).send({ method: 'DELETE', path: path(name) })
  res.resume()
}
