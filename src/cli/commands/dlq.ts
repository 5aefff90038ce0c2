import type { FlagValues } from '../../config/index.ts'
import type { ApiJob } from '../api-types.ts'
import { clientFor } from '../gateway-client.ts'
import { jobLine } from './jobs.ts'

/** `piper dlq`: the job tasks' dead-letter topics with their letters, one per line. */
export async function dlqListCommand(flags: FlagValues, out: (text: string) => void) {
  const { topics } = await clientFor(flags).json<{ topics: { topic: string; messages: number }[] }>(
    { method: 'GET', path: '/v1/dlq' },
  )
  for (const t of topics) out(`${t.topic}  ${t.messages}\n`)
}

/** `piper dlq redrive TOPIC`: retries the failed jobs dead-lettered there; a line per job. */
export async function dlqRedriveCommand(
  topic: string,
  flags: FlagValues,
  out: (text: string) => void,
) {
  const result = await clientFor(flags).json<{
    redriven: string[]
    skipped: { job: string; reason: string }[]
  }>({ method: 'POST', path: `/v1/dlq/${encodeURIComponent(topic)}/redrive` })
  for (const id of result.redriven) out(`${id}  redriven\n`)
  for (const s of result.skipped) out(`${s.job}  skipped: ${s.reason}\n`)
}

/** `piper retry JOB`: a failed job back on the queue, from its start. */
export async function retryCommand(id: string, flags: FlagValues, out: (text: string) => void) {
  const job = await clientFor(flags).json<ApiJob>({
    method: 'POST',
    path: `/v1/jobs/${encodeURIComponent(id)}/retry`,
  })
  out(`${jobLine(job)}\n`)
}
