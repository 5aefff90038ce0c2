import { JOB_STATES, type JobEvent } from '../meta/index.ts'
import { WebhookError } from './errors.ts'

/** Every event a webhook can ask for. */
export const WEBHOOK_EVENTS: readonly string[] = [
  'file.created',
  'file.deleted',
  ...JOB_STATES.map((state) => `job.${state}`),
  ...JOB_STATES.map((state) => `run.${state}`),
]

/** The webhook event an entry of the event history is, or undefined (progress and steps). */
export function webhookEventName(event: JobEvent): string | undefined {
  if (event.type === 'file') return `file.${event.data.action}`
  if (event.type !== 'state') return undefined
  return `${event.data.run === true ? 'run' : 'job'}.${event.data.state}`
}

/** Checks a webhook's `events`: names from `WEBHOOK_EVENTS`, `file.*`, `job.*`, `run.*` or `*`. */
export function checkEventPatterns(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 32) {
    throw new WebhookError('E_WEBHOOK_REQUEST', 'events must be a list of 1 to 32 event names')
  }
  for (const pattern of value) {
    const known =
      typeof pattern === 'string' &&
      (pattern === '*' ||
        WEBHOOK_EVENTS.includes(pattern) ||
        (pattern.endsWith('.*') && WEBHOOK_EVENTS.some((e) => e.startsWith(pattern.slice(0, -1)))))
    if (!known) {
      throw new WebhookError(
        'E_WEBHOOK_REQUEST',
        `unknown event ${JSON.stringify(pattern)} (known: ${WEBHOOK_EVENTS.join(', ')}, file.*, job.*, run.*, *)`,
      )
    }
  }
  return [...new Set(value as string[])]
}

/** Whether a webhook with these patterns wants the event `name`. */
export function wantsEvent(patterns: readonly string[], name: string): boolean {
  return patterns.some(
    (p) => p === '*' || p === name || (p.endsWith('.*') && name.startsWith(p.slice(0, -1))),
  )
}
