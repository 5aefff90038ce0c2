import { setTimeout as sleep } from 'node:timers/promises'
import type { FlagValues } from '../../config/index.ts'
import type { ApiJob, ApiRun } from '../api-types.ts'
import { byteSize } from '../byte-size.ts'
import { CliError } from '../errors.ts'
import { clientFor } from '../gateway-client.ts'
import { readSse } from '../sse-reader.ts'
import { limitFlag, listQuery } from './list-flags.ts'
import { runLine } from './pipelines.ts'

interface Progress {
  chunks_done: number
  chunks_total: number
  bytes_in: number
  bytes_out: number
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled'])

function jobPath(id: string): string {
  return `/v1/jobs/${encodeURIComponent(id)}`
}

/**
 * `piper jobs [--state S] [--newest] [--limit N]`: one line per job, oldest first (or newest):
 * id, state, type, input → output.
 */
export async function jobsCommand(
  options: { state?: string; limit?: string; newest?: boolean; json?: boolean },
  flags: FlagValues,
  out: (text: string) => void,
): Promise<void> {
  const wanted = limitFlag(options.limit)
  const query = listQuery(options)
  for await (const job of clientFor(flags).items<ApiJob>('/v1/jobs', 'jobs', query, wanted)) {
    out(`${options.json ? JSON.stringify(job) : jobLine(job)}\n`)
  }
}

/** `piper cancel JOB|RUN`: cancels a queued or running job, or a run and its jobs. */
export async function cancelCommand(id: string, flags: FlagValues, out: (text: string) => void) {
  const client = clientFor(flags)
  if (id.startsWith('run_')) {
    const path = `/v1/runs/${encodeURIComponent(id)}`
    out(`${runLine(await client.json<ApiRun>({ method: 'DELETE', path }))}\n`)
    return
  }
  const job = await client.json<ApiJob>({ method: 'DELETE', path: jobPath(id) })
  out(`${jobLine(job)}\n`)
}

/**
 * `piper watch JOB|RUN`: follows the job's (or run's) events until it ends, with a progress bar
 * on a terminal and one line per state change otherwise (a run: a line per step change too);
 * reconnects (resuming after the last event) when the stream drops. Exits non-zero unless it
 * succeeded.
 */
export async function watchCommand(id: string, flags: FlagValues, out: (text: string) => void) {
  const client = clientFor(flags)
  const isRun = id.startsWith('run_')
  const path = isRun ? `/v1/runs/${encodeURIComponent(id)}` : jobPath(id)
  const tty = process.stderr.isTTY
  let lastId: string | undefined
  let final: ApiJob | ApiRun | undefined
  for (let attempt = 0; final === undefined; attempt++) {
    try {
      const res = await client.send({
        method: 'GET',
        path: `${path}/events`,
        headers: lastId === undefined ? {} : { 'last-event-id': lastId },
      })
      for await (const event of readSse(res)) {
        lastId = event.id ?? lastId
        attempt = 0
        const data = JSON.parse(event.data) as Record<string, unknown>
        if (event.event === 'progress') {
          if (tty) process.stderr.write(`\r${progressBar(data as unknown as Progress)}`)
          continue
        }
        if (tty) process.stderr.write('\r\x1b[K')
        if (event.event === 'step') {
          out(
            `${data.step}  ${data.state}  ${data.done}/${data.items}${Number(data.failed) > 0 ? ` (${data.failed} failed)` : ''}\n`,
          )
          continue
        }
        out(`${data.state}\n`)
        if (TERMINAL.has(String(data.state))) break
      }
      const now = await client.json<ApiJob | ApiRun>({ method: 'GET', path })
      if (TERMINAL.has(now.state)) final = now
    } catch (error) {
      // The API's own answer (no such job) is final; a dropped connection is retried.
      if (error instanceof CliError && error.code !== 'E_CLI') throw error
      if (attempt >= 5) throw error
    }
    if (final === undefined) await sleep(Math.min(5_000, 250 * 2 ** attempt))
  }
  out(`${isRun ? runLine(final as ApiRun) : jobLine(final as ApiJob)}\n`)
  if (final.state !== 'succeeded') {
    const reason = final.error ? ` (${final.error.code})` : ''
    throw new CliError(`${final.id} ${final.state}${reason}`, { code: 'E_NOT_SUCCEEDED' })
  }
}

/** `job_… succeeded compress big.log → big.log.gz  1.0 GiB → 612 MiB (0.598) in 3.1 s` */
export function jobLine(job: ApiJob): string {
  const head = `${job.id}  ${job.state.padEnd(9)}  ${job.type} ${job.input} → ${job.output ?? '(result)'}`
  const r = job.result
  // Kinds that write no file (hash, image.stats, …) report other figures (`--json` shows them).
  if (r?.input_size !== undefined && r.output_size !== undefined) {
    const took = r.duration_ms === undefined ? '' : ` in ${(r.duration_ms / 1000).toFixed(1)} s`
    return `${head}  ${byteSize(r.input_size)} → ${byteSize(r.output_size)} (${r.ratio})${took}`
  }
  if (job.error) return `${head}  ${job.error.code}: ${job.error.message}`
  return head
}

function progressBar(p: Progress): string {
  const width = 30
  const fraction = p.chunks_total === 0 ? 1 : p.chunks_done / p.chunks_total
  const filled = Math.round(fraction * width)
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(fraction * 100)}%  ${p.chunks_done}/${p.chunks_total} chunks  ${byteSize(p.bytes_in)} → ${byteSize(p.bytes_out)}`
}
