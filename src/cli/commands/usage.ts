import type { FlagValues } from '../../config/index.ts'
import type { ApiUsage, ApiWebhook, WebhookRequestBody } from '../api-types.ts'
import { byteSize } from '../byte-size.ts'
import { clientFor } from '../gateway-client.ts'
import { json } from './pipelines.ts'

/**
 * `piper stats`: the client's usage (`GET /v1/stats`, or every client's with `--all`): a line
 * per bucket, then the totals with job latency percentiles and compression ratios by kind;
 * `--json` prints the answer as it is.
 */
export async function statsCommand(
  options: {
    bucket?: string
    from?: string
    to?: string
    kind?: string
    all?: boolean
    json?: boolean
  },
  flags: FlagValues,
  out: (text: string) => void,
) {
  const query = new URLSearchParams()
  for (const name of ['bucket', 'from', 'to', 'kind'] as const) {
    const value = options[name]
    if (value !== undefined) query.set(name, value)
  }
  const report = await clientFor(flags).json<ApiUsage>({
    method: 'GET',
    path: `${options.all ? '/v1/admin/stats' : '/v1/stats'}?${query}`,
  })
  if (options.json) {
    out(`${JSON.stringify(report, null, 2)}\n`)
    return
  }
  out('start                     uploads    bytes in  deletes  jobs ended\n')
  for (const b of report.buckets) {
    out(
      `${b.start}  ${pad(b.uploads, 7)}  ${byteSize(b.bytes_in).padStart(10)}  ${pad(b.deletes, 7)}  ${pad(b.jobs_ended, 10)}\n`,
    )
  }
  const t = report.totals
  out(
    `total                     ${pad(t.uploads, 7)}  ${byteSize(t.bytes_in).padStart(10)}  ${pad(t.deletes, 7)}  ${pad(t.jobs_ended, 10)}\n`,
  )
  for (const [kind, l] of Object.entries(t.latency_ms)) {
    const ratio = t.compression[kind]?.ratio
    out(
      `${kind}: ${l.count} jobs, p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms${ratio === undefined ? '' : `, output ÷ input ${ratio}`}\n`,
    )
  }
  out(
    `stored now: ${report.stored.files} files, ${byteSize(report.stored.bytes)}; deduplication saved ${byteSize(t.bytes_deduplicated)} in the span\n`,
  )
  const images = Object.entries(t.images)
  if (images.length > 0) {
    const sizes = Object.entries(t.image_sizes).map(([size, n]) => `${size} ${n}`)
    out(
      `images: ${images.map(([format, n]) => `${format} ${n}`).join(', ')} (${sizes.join(', ')})\n`,
    )
  }
  if (report.behind > 0) out(`(${report.behind} events not counted yet)\n`)
}

const pad = (n: number, width: number) => String(Math.round(n)).padStart(width)

/** `piper webhooks`: one line per webhook: id, state, events, URL. */
export async function webhooksListCommand(flags: FlagValues, out: (text: string) => void) {
  const { webhooks } = await clientFor(flags).json<{ webhooks: ApiWebhook[] }>({
    method: 'GET',
    path: '/v1/webhooks',
  })
  for (const w of webhooks) {
    out(
      `${w.id}  ${w.state}  ${w.events.join(',')}  ${w.url}${w.disabled_reason ? `  (${w.disabled_reason})` : ''}\n`,
    )
  }
}

/** `piper webhooks add URL --events …`: prints the webhook with its secret (shown once). */
export async function webhooksAddCommand(
  url: string,
  events: string,
  flags: FlagValues,
  out: (text: string) => void,
) {
  const made = await clientFor(flags).json<ApiWebhook>({
    method: 'POST',
    path: '/v1/webhooks',
    ...json({ url, events: events.split(',').map((e) => e.trim()) } satisfies WebhookRequestBody),
  })
  out(`${JSON.stringify(made, null, 2)}\n`)
}

/** `piper webhooks rm ID`, `rotate ID` (prints the new secret), `enable ID`. */
export async function webhooksActionCommand(
  action: 'rm' | 'rotate' | 'enable',
  id: string,
  flags: FlagValues,
  out: (text: string) => void,
) {
  const client = clientFor(flags)
  const path = `/v1/webhooks/${encodeURIComponent(id)}`
  if (action === 'rm') {
    ;(await client.send({ method: 'DELETE', path })).resume()
    return
  }
  out(
    `${JSON.stringify(await client.json({ method: 'POST', path: `${path}/${action}` }), null, 2)}\n`,
  )
}

/** `piper webhooks deliveries ID`: the latest attempts, newest first. */
export async function webhooksDeliveriesCommand(
  id: string,
  flags: FlagValues,
  out: (text: string) => void,
) {
  const { deliveries } = await clientFor(flags).json<{
    deliveries: {
      created: string
      event: string
      attempt: number
      status: number | null
      error: string | null
      duration_ms: number
    }[]
  }>({ method: 'GET', path: `/v1/webhooks/${encodeURIComponent(id)}/deliveries?limit=50` })
  for (const d of deliveries) {
    out(
      `${d.created}  ${d.event}  attempt ${d.attempt}  ${d.status ?? d.error}  ${d.duration_ms} ms\n`,
    )
  }
}
